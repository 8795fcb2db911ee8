"""CVAT "for video 1.1" XML -> raw YouTube-VIS 2019 JSON.

The format (CVAT's ``docs/other/xml_format``, "Interpolation")::

    <annotations>
      <version>1.1</version>
      <meta>
        <task>  (<job> for a job export)
          <size>N</size> <start_frame>0</start_frame>
          <stop_frame>N-1</stop_frame>
          <frame_filter>step=K</frame_filter>       (optional, empty = step 1)
          <labels><label><name>person</name>...</label>...</labels>
          <original_size><width>W</width><height>H</height></original_size>
          <source>video.mp4</source>                (video tasks)
        </task>
        (a job export puts <original_size> directly under <meta>)
      </meta>
      <track id="0" label="person" source="manual">
        <polygon frame="0" keyframe="1" outside="0" occluded="0"
                 points="x0,y0;x1,y1;..." z_order="0"/>
        <mask frame="1" keyframe="0" outside="0" occluded="0"
              rle="3, 5, 7, ..." left="10" top="4" width="13" height="15"/>
        <polygon frame="2" keyframe="1" outside="1" .../>
        ...
      </track>
    </annotations>

* Every ``<track>`` is one instance, its category the track's ``label``.
* ``frame`` is CVAT's (absolute) frame number: ``start_frame + i * step``
  for the ``i``-th frame of the task; the file of frame ``n`` is
  ``frame_{n:06d}`` in CVAT's exports.
* ``outside="1"`` marks a frame where the object is absent: ``null``.
  Frames the track has no element for are ``null`` too. CVAT's exporter
  writes every frame of a track between its keyframes (the interpolated
  ones with ``keyframe="0"``; masks are repeated), so nothing is
  interpolated here: what the XML holds is what is converted
  (``keyframes_only`` keeps only ``keyframe="1"`` elements).
* ``<polygon>`` -> pycocotools ``frPyObjects``; ``<mask>`` -> CVAT's own
  run-length encoding: counts alternating background / foreground, the
  first one background (possibly 0), over the ``width x height`` box at
  ``left, top``, **row-major** (cvat-core ``rle2Mask``; the exporter writes
  ``width = right - left + 1``). Runs that stop short of the box leave the
  rest background (as ``rle2Mask``); runs past it are an error.
* ``<box>``, ``<polyline>``, ``<points>``, ``<ellipse>``, ``<cuboid>``,
  ``<skeleton>`` and ``<tag>`` have no mask: skipped (counted in a
  warning). A track without any mask is dropped.

Parser: :mod:`xml.etree.ElementTree` (``iterparse``: a track is converted
and freed as soon as it is read). Datumaro, the maintained parser of this
format, was checked (PyPI ``datumaro`` 1.13): it pins ``pandas~=2.3``,
``pillow~=12.0`` and ``opencv-python-headless<5``, which would downgrade the
project's pandas 3, Pillow 13 and OpenCV 5, and its CVAT importer reads a
``<mask>`` inside a ``<track>`` with the ``<image>`` size it does not have
in the video format. The stdlib parser on expat >= 2.4 (Python 3.11's is
2.5) limits entity expansion ("billion laughs").
"""
from __future__ import annotations

import os
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .raw_vis import (ConversionError, FrameMask, RawVISBuilder, Report,
                      mask_entry, merge_entries, polygons_entry)

#: Image files listed by ``frames_dir`` (lower-case extensions).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif',
                    '.tiff')
#: Track elements without a mask (skipped).
NO_MASK_SHAPES = ('box', 'polyline', 'points', 'ellipse', 'cuboid',
                  'skeleton', 'tag')
MASK_SHAPES = ('polygon', 'mask')


class CvatMeta:
    """What the converter needs of ``<meta>``: frames, size, labels."""

    def __init__(self, xml_path: str, meta: ET.Element) -> None:
        self.xml_path = xml_path
        if meta.find('project') is not None:
            raise ConversionError(
                f'{xml_path}: a project export (<meta><project>) holds '
                'several tasks; export each task (or job) in "CVAT for '
                'video 1.1" and convert those files')
        task = meta.find('task')
        if task is None:
            task = meta.find('job')
        if task is None:
            raise ConversionError(
                f'{xml_path}: <meta> has no <task> or <job>; not a CVAT '
                '"for video 1.1" export')
        self.start = self._int(task, 'start_frame', 0)
        self.step = self._step(task)
        size = self._int(task, 'size', None)
        if size is None:
            stop = self._int(task, 'stop_frame', None)
            if stop is None:
                raise ConversionError(
                    f'{xml_path}: <meta> gives neither <size> nor '
                    '<stop_frame>: the number of frames is unknown')
            size = len(range(self.start, stop + 1, self.step))
        if size < 1:
            raise ConversionError(f'{xml_path}: the task has {size} frames')
        self.size = size
        size_el = task.find('original_size')
        if size_el is None:
            size_el = meta.find('original_size')
        self.width = self.height = None
        if size_el is not None:
            self.width = self._int(size_el, 'width', None)
            self.height = self._int(size_el, 'height', None)
        source = task.findtext('source') or meta.findtext('source')
        self.source = source.strip() if source and source.strip() else None
        self.labels = []
        for label in task.iter('label'):
            name = label.findtext('name')
            # skeleton points (sub-labels with a <parent>) are no objects
            if name and label.find('parent') is None and \
                    name not in self.labels:
                self.labels.append(name)

    def _int(self, parent: ET.Element, tag: str, default):
        text = parent.findtext(tag)
        if text is None or not text.strip():
            return default
        try:
            return int(text.strip())
        except ValueError:
            raise ConversionError(
                f'{self.xml_path}: <{tag}> must be an integer, got '
                f'{text.strip()!r}') from None

    def _step(self, task: ET.Element) -> int:
        text = (task.findtext('frame_filter') or '').strip()
        if not text:
            return 1
        match = re.fullmatch(r'step\s*=\s*(\d+)', text)
        if not match or int(match.group(1)) < 1:
            raise ConversionError(
                f'{self.xml_path}: <frame_filter> {text!r} is not '
                '"step=N"')
        return int(match.group(1))

    @property
    def frame_numbers(self) -> List[int]:
        """CVAT's frame number of every frame of the video, in order."""
        return [self.start + i * self.step for i in range(self.size)]

    def index(self, frame: int, where: str) -> int:
        """The position in the video of CVAT frame number ``frame``."""
        offset = frame - self.start
        if offset % self.step or not 0 <= offset // self.step < self.size:
            raise ConversionError(
                f'{where}: frame {frame} is not a frame of the task '
                f'({self.size} frames from {self.start} in steps of '
                f'{self.step})')
        return offset // self.step


def list_frames(frames_dir: str) -> List[str]:
    """The image files of ``frames_dir``, sorted by name."""
    try:
        names = os.listdir(frames_dir)
    except OSError as err:
        raise ConversionError(
            f'{frames_dir}: cannot list the frames ({err.strerror})') from None
    return sorted(n for n in names
                  if osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
                  and osp.isfile(osp.join(frames_dir, n)))


def _image_size(path: str) -> Tuple[int, int]:
    """``(height, width)`` of an image file (header only)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except OSError as err:
        raise ConversionError(f'{path}: cannot read the image size '
                              f'({err})') from None


def _points(text: Optional[str], where: str) -> List[float]:
    """``"x0,y0;x1,y1;..."`` -> ``[x0, y0, x1, y1, ...]``."""
    try:
        coords = [float(v) for pair in (text or '').split(';') if pair
                  for v in pair.split(',')]
    except ValueError:
        raise ConversionError(f'{where}: points {text!r} are not '
                              '"x0,y0;x1,y1;..." numbers') from None
    if len(coords) % 2 or len(coords) < 6:
        raise ConversionError(f'{where}: a polygon needs at least 3 '
                              f'points, got points={text!r}')
    return coords


def cvat_rle_to_mask(rle: str, left: int, top: int, width: int, height: int,
                     frame_height: int, frame_width: int,
                     where: str) -> np.ndarray:
    """Decode a CVAT ``<mask>`` into a full ``(H, W)`` bool mask.

    ``rle`` counts alternate background / foreground (background first)
    over the ``width x height`` box in row-major order.
    """
    try:
        counts = [int(v) for v in rle.split(',') if v.strip()]
    except ValueError:
        raise ConversionError(f'{where}: rle is not comma-separated '
                              f'integers: {rle[:60]!r}') from None
    if any(c < 0 for c in counts):
        raise ConversionError(f'{where}: rle has a negative count')
    if width < 1 or height < 1:
        raise ConversionError(f'{where}: mask box width={width} '
                              f'height={height} is empty')
    if left < 0 or top < 0 or left + width > frame_width or \
            top + height > frame_height:
        raise ConversionError(
            f'{where}: mask box left={left} top={top} width={width} '
            f'height={height} leaves the {frame_width} x {frame_height} '
            '(width x height) frame')
    total = sum(counts)
    if total > width * height:
        raise ConversionError(
            f'{where}: rle counts cover {total} pixels, the mask box has '
            f'{width} x {height} = {width * height}')
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.zeros(width * height, dtype=bool)
    flat[:total] = np.repeat(values, counts)
    mask = np.zeros((frame_height, frame_width), dtype=bool)
    mask[top:top + height, left:left + width] = flat.reshape(height, width)
    return mask


def _attr_int(el: ET.Element, key: str, where: str) -> int:
    value = el.get(key)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConversionError(f'{where}: attribute {key}={value!r} must be '
                              'an integer') from None


def _shape_mask(el: ET.Element, height: int, width: int,
                where: str) -> Optional[FrameMask]:
    """The mask of a ``<polygon>`` / ``<mask>`` element."""
    if el.tag == 'polygon':
        return polygons_entry([_points(el.get('points'), where)], height,
                              width)
    box = [_attr_int(el, k, where) for k in ('left', 'top', 'width',
                                              'height')]
    if el.get('rle') is None:
        raise ConversionError(f'{where}: <mask> has no rle attribute')
    return mask_entry(
        cvat_rle_to_mask(el.get('rle'), *box, height, width, where))


def convert_cvat_video(xml_path: str,
                       builder: RawVISBuilder,
                       report: Report,
                       frames_dir: Optional[str] = None,
                       frame_ext: str = '.png',
                       keyframes_only: bool = False) -> int:
    """Add the video and tracks of one CVAT "for video 1.1" XML.

    Args:
        xml_path (str): The XML.
        builder (RawVISBuilder): Receives the video and its tracks.
        report (Report): Receives warnings.
        frames_dir (str, optional): Folder of the video's frames: its
            image files sorted by name are the frames (their number must be
            the task's), named ``<folder name>/<file>``. Without it:
            ``<video>/frame_{n:06d}<frame_ext>`` (CVAT's export names), the
            video named after ``<source>`` (without extension) or else the
            XML file.
        frame_ext (str): Extension of the default frame names.
        keyframes_only (bool): Keep only ``keyframe="1"`` elements.

    Returns:
        int: The video id.
    """
    try:
        context = ET.iterparse(xml_path, events=('start', 'end'))
        _, root = next(context)
    except ET.ParseError as err:
        raise ConversionError(f'{xml_path}: malformed XML ({err})') from None
    except OSError as err:
        raise ConversionError(
            f'{xml_path}: cannot read ({err.strerror})') from None
    if root.tag != 'annotations':
        raise ConversionError(f'{xml_path}: the root element is <{root.tag}>'
                              ', not <annotations> (a CVAT XML export)')
    meta = video_id = None
    length = height = width = 0
    skipped: Dict[str, int] = {}
    num_tracks = 0
    try:
        for event, el in context:
            if event != 'end':
                continue
            if el.tag == 'meta' and meta is None:
                meta = CvatMeta(xml_path, el)
                file_names, height, width = _frames(xml_path, meta,
                                                    frames_dir, frame_ext)
                for name in meta.labels:
                    if not builder.fixed:
                        builder.declare(name)
                length = len(file_names)
                video_id = builder.add_video(file_names, height, width)
                root.remove(el)
            elif el.tag == 'image':
                raise ConversionError(
                    f'{xml_path}: has <image> elements: a "CVAT for images"'
                    ' export; export the task as "CVAT for video 1.1"')
            elif el.tag == 'track':
                if meta is None:
                    raise ConversionError(f'{xml_path}: <track> before '
                                          '<meta>')
                num_tracks += 1
                _add_track(xml_path, el, meta, builder, video_id, length,
                           height, width, keyframes_only, skipped)
                root.remove(el)  # free the track's elements
    except ET.ParseError as err:
        raise ConversionError(f'{xml_path}: malformed XML ({err})') from None
    if meta is None:
        raise ConversionError(f'{xml_path}: no <meta> element: not a CVAT '
                              'XML export')
    empty = skipped.pop('empty', 0)
    if empty:
        report.warnings.append(
            f'{xml_path}: {empty} <polygon> / <mask> shapes cover no pixel '
            'of the frame; those frames are null')
    if skipped:
        kinds = ', '.join(f'{n} <{k}>' for k, n in sorted(skipped.items()))
        report.warnings.append(
            f'{xml_path}: skipped {kinds} (no mask: only <polygon> and '
            '<mask> become segmentations)')
    if num_tracks == 0:
        report.warnings.append(f'{xml_path}: no <track> elements')
    return video_id


def _frames(xml_path: str, meta: CvatMeta, frames_dir: Optional[str],
            frame_ext: str) -> Tuple[List[str], int, int]:
    """File names and ``(height, width)`` of the video's frames."""
    if frames_dir is not None:
        names = list_frames(frames_dir)
        if len(names) != meta.size:
            raise ConversionError(
                f'{xml_path}: the task has {meta.size} frames but '
                f'--frames-dir {frames_dir} has {len(names)} image files')
        video = osp.basename(osp.normpath(frames_dir))
        file_names = [f'{video}/{n}' for n in names]
    else:
        video = osp.splitext(meta.source)[0] if meta.source else \
            osp.splitext(osp.basename(xml_path))[0]
        file_names = [f'{video}/frame_{n:06d}{frame_ext}'
                      for n in meta.frame_numbers]
    height, width = meta.height, meta.width
    if height is None or width is None:
        if frames_dir is None:
            raise ConversionError(
                f'{xml_path}: <meta> has no <original_size> (width and '
                'height); give --frames-dir to read it from the first frame')
        height, width = _image_size(osp.join(frames_dir, names[0]))
    if height < 1 or width < 1:
        raise ConversionError(f'{xml_path}: <original_size> {width} x '
                              f'{height} is empty')
    return file_names, height, width


def _add_track(xml_path: str, track: ET.Element, meta: CvatMeta,
               builder: RawVISBuilder, video_id: int, length: int,
               height: int, width: int, keyframes_only: bool,
               skipped: Dict[str, int]) -> None:
    track_where = f"{xml_path}, track id={track.get('id')!r}"
    label = track.get('label')
    if not label:
        raise ConversionError(f'{track_where}: has no label')
    category_id = builder.category_id(label, track_where)
    frames: Dict[int, List[Optional[FrameMask]]] = {}
    seen: Dict[int, str] = {}
    for el in track:
        if el.tag in NO_MASK_SHAPES:
            skipped[el.tag] = skipped.get(el.tag, 0) + 1
            continue
        if el.tag not in MASK_SHAPES:
            continue  # e.g. an <attribute> of the track
        frame = _attr_int(el, 'frame', f'{track_where}, <{el.tag}>')
        where = f'{track_where}, frame {frame}, <{el.tag}>'
        index = meta.index(frame, where)
        if index in seen:
            raise ConversionError(
                f'{where}: the track already has a <{seen[index]}> on this '
                'frame (one shape per track and frame)')
        seen[index] = el.tag
        if el.get('outside', '0') == '1':
            continue
        if keyframes_only and el.get('keyframe', '1') != '1':
            continue
        try:
            entry = _shape_mask(el, height, width, where)
        except ValueError as err:
            if isinstance(err, ConversionError):
                raise
            raise ConversionError(f'{where}: {err}') from None
        if entry is None:
            skipped['empty'] = skipped.get('empty', 0) + 1
        frames.setdefault(index, []).append(entry)
    builder.add_track(video_id, category_id,
                      {i: merge_entries(e) for i, e in frames.items()},
                      length)


def convert_cvat_videos(xml_paths: Sequence[str],
                        frames_dirs: Optional[Sequence[str]] = None,
                        frame_ext: str = '.png',
                        keyframes_only: bool = False,
                        classes: Optional[Sequence[str]] = None
                        ) -> Tuple[dict, Report]:
    """Convert CVAT "for video 1.1" XMLs, one video each, into one raw dict.

    Categories are the labels of the XMLs' ``<labels>`` in declared order
    (first XML first; skeleton sub-labels left out), then any undeclared
    track label, or exactly ``classes`` when given.

    Args:
        xml_paths (Sequence[str]): The XMLs.
        frames_dirs (Sequence[str], optional): One frames folder per XML
            (see :func:`convert_cvat_video`).
        frame_ext (str): Extension of the default frame names.
        keyframes_only (bool): Keep only ``keyframe="1"`` elements.
        classes (Sequence[str], optional): Fixed category names.

    Returns:
        tuple(dict, Report): The raw dict and the warnings.
    """
    if frames_dirs and len(frames_dirs) != len(xml_paths):
        raise ConversionError(
            f'--frames-dir: {len(frames_dirs)} given for {len(xml_paths)} '
            'XML files (give one per XML, in the same order)')
    builder, report = RawVISBuilder(classes), Report()
    first_of: Dict[str, str] = {}
    for i, xml_path in enumerate(xml_paths):
        convert_cvat_video(xml_path, builder, report,
                           frames_dirs[i] if frames_dirs else None,
                           frame_ext, keyframes_only)
        first = builder.videos[-1]['file_names'][0]
        if first in first_of:
            raise ConversionError(
                f'{xml_path}: its frames have the same names as those of '
                f"{first_of[first]} ('{first}'); give --frames-dir for each "
                'XML')
        first_of[first] = xml_path
    return builder.to_json(), report
