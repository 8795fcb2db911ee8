"""Per-frame instance-id PNGs -> raw YouTube-VIS JSON (the reverse:
:mod:`.ytvis_to_png`; the PNG files: :mod:`.id_png`).

Used by ``tools/dataset_converters/png_masks_to_ytvis.py`` (see
``docs/datasets.md``, "Converters: PNG instance masks").

An *instance-id PNG* holds one frame of a video: the pixel value is the
instance, ``0`` is background. Layouts read (:data:`LAYOUTS`):

* ``'davis'``: ``<masks>/<video>/<frame>.png``, palette (DAVIS 2017,
  YouTube-VOS), 8-bit or 16-bit grey PNGs; value = instance id within the
  video, ``void`` (255 by default, DAVIS' "void" border) is background. The
  class of an instance comes from a class map (:func:`read_class_map`, also
  a YouTube-VOS ``meta.json``) or a default class.
* ``'mots'``: the same folders (KITTI MOTS / MOTSChallenge ``instances/``),
  16-bit PNGs with value = ``class_id * 1000 + instance``; class ``0`` is
  background, class ``10`` the MOTS "ignore" region (background here) unless
  there are at least 10 class names; the class name is ``class_names[
  class_id - 1]``.
* ``'cvat-mots'``: an unzipped CVAT / Datumaro "MOTS PNG" export,
  ``<export>/<subset>/instances/<frame>.png`` (+ ``labels.txt``, one class
  name a line, class id = line number) and ``<export>/<subset>/images/
  <frame>.jpg``; one subset folder is one video; values as ``'mots'``.

Frames are the PNGs of a video folder in natural order (``2.png`` before
``10.png``). Every problem raises :class:`PngMaskError`, whose message starts
with the file or folder at fault.

Masks are encoded with :func:`mmvis_pretrain.structures.encode_rle`, boxes
taken with :func:`~mmvis_pretrain.structures.mask_boxes` (``xywh``) and RLEs
decoded with :func:`~mmvis_pretrain.structures.decode_rle`.
"""
import json
import os
import os.path as osp
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ...structures import encode_rle, mask_boxes
from .id_png import DAVIS_VOID, PngMaskError, natural_key, read_id_png

#: Folder layouts :func:`png_masks_to_ytvis` reads.
LAYOUTS = ('davis', 'mots', 'cvat-mots')
#: MOTS: pixel value = ``class_id * MOTS_MAX_INSTANCES + instance``.
MOTS_MAX_INSTANCES = 1000
#: MOTS class id of the "ignore" region (KITTI MOTS value 10000).
MOTS_IGNORE_CLASS = 10
#: Frame file extensions looked up under ``frames_root`` (any case).
FRAME_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
#: Name of the class map :func:`ytvis_to_png_masks` writes.
CLASS_MAP_NAME = 'classes.json'

Warn = Callable[[str], None]


def _no_warn(msg: str) -> None:
    pass


# --------------------------------------------------------------------------
# PNG files
# --------------------------------------------------------------------------
def _frame_size(path: Path) -> Tuple[int, int]:
    """``(width, height)`` of an image file (its header only)."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise PngMaskError(f'{path}: cannot read the frame ({err})') from err


# --------------------------------------------------------------------------
# class maps
# --------------------------------------------------------------------------
_CLASS_KEY = re.compile(r'(?:(?P<video>[^/]+)/)?(?P<id>\d+)')


def _youtube_vos_meta(data: dict, path) -> Dict[str, str]:
    """The class map of a YouTube-VOS ``meta.json``: ``{"videos": {"<video>":
    {"objects": {"<id>": {"category": "<name>", ...}}}}}``."""
    class_map = {}
    for video, entry in data['videos'].items():
        objects = entry.get('objects') if isinstance(entry, dict) else None
        if not isinstance(objects, dict):
            raise PngMaskError(f"{path}: video {video!r} has no 'objects' "
                               '(a YouTube-VOS meta.json)')
        for obj_id, obj in objects.items():
            name = obj.get('category') if isinstance(obj, dict) else None
            class_map[f'{video}/{obj_id}'] = name
    return class_map


def read_class_map(path) -> Dict[str, str]:
    """Read a class map: a JSON object from instance to category name.

    Keys are ``"<video>/<instance id>"`` (one instance of one video) or
    ``"<instance id>"`` (that id in every video, e.g. a data set where id 1
    is always the person); the first is looked up first. Values are
    category names. The order of first appearance of the names is the order
    of the categories (their ids). A YouTube-VOS ``meta.json`` (``{"videos":
    {"<video>": {"objects": {"<id>": {"category": ...}}}}}``) is read as the
    ``"<video>/<id>"`` keys it describes.

    Raises:
        PngMaskError: ``"<path>: ..."``: unreadable, malformed JSON, not an
        object, a key of neither form or a value that is no name.
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise PngMaskError(f'{path}: cannot read the class map ({err})') \
            from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PngMaskError(f'{path}: malformed JSON ({err})') from err
    if not isinstance(data, dict):
        raise PngMaskError(
            f'{path}: a class map is a JSON object {{"<video>/<instance '
            f'id>": "<category>", "<instance id>": ...}}, got '
            f'{type(data).__name__}')
    if isinstance(data.get('videos'), dict):
        data = _youtube_vos_meta(data, path)
    for key, name in data.items():
        if not _CLASS_KEY.fullmatch(key):
            raise PngMaskError(
                f'{path}: key {key!r} is not "<video>/<instance id>" or '
                '"<instance id>"')
        if not isinstance(name, str) or not name:
            raise PngMaskError(f'{path}: key {key!r}: the category must be a '
                               f'non-empty string, got {name!r}')
    return data


def _class_of(class_map: Dict[str, str], video: str,
              value: int) -> Optional[str]:
    """The category of instance ``value`` of ``video`` in a class map."""
    name = class_map.get(f'{video}/{value}')
    return class_map.get(str(value)) if name is None else name


def _read_labels_txt(path: Path) -> List[str]:
    """Class names of a MOTS ``labels.txt`` (one a line, blank lines
    skipped)."""
    try:
        with open(path, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise PngMaskError(f'{path}: cannot read the labels ({err})') from err
    if not names:
        raise PngMaskError(f'{path}: no class names')
    return names


# --------------------------------------------------------------------------
# PNG masks -> raw YouTube-VIS
# --------------------------------------------------------------------------
class _Categories:
    """Category ids by name, in order of registration."""

    def __init__(self) -> None:
        self.ids: Dict[str, int] = {}

    def id_of(self, name: str) -> int:
        if name not in self.ids:
            self.ids[name] = len(self.ids) + 1
        return self.ids[name]

    def to_json(self) -> List[dict]:
        return [dict(id=i, name=n) for n, i in self.ids.items()]


def _png_files(folder: Path) -> List[Path]:
    """The PNGs of a folder (not hidden, any case), in natural order."""
    return sorted((p for p in folder.iterdir()
                   if p.suffix.lower() == '.png' and p.is_file()
                   and not p.name.startswith('.')),
                  key=lambda p: natural_key(p.name))


def _subfolders(folder: Path) -> List[Path]:
    """The non-hidden subfolders, in natural order."""
    return sorted((p for p in folder.iterdir()
                   if p.is_dir() and not p.name.startswith('.')),
                  key=lambda p: natural_key(p.name))


def find_png_videos(masks_root, layout: str = 'davis'
                    ) -> List[Tuple[str, Path, str]]:
    """The videos of a masks folder.

    Returns:
        list[tuple[str, Path, str]]: Per video its name, the folder of its
        PNGs and the folder of its frames relative to the frames root
        (``'<video>'``; ``'<subset>/images'`` for ``'cvat-mots'``).
    """
    root = Path(masks_root)
    if not root.is_dir():
        raise PngMaskError(f'{root}: is not a folder')
    videos = []
    for folder in _subfolders(root):
        if layout == 'cvat-mots':
            if (folder / 'instances').is_dir():
                videos.append((folder.name, folder / 'instances',
                               f'{folder.name}/images'))
        else:
            videos.append((folder.name, folder, folder.name))
    if not videos:
        expected = ('<subset>/instances/<frame>.png' if layout == 'cvat-mots'
                    else '<video>/<frame>.png')
        raise PngMaskError(f'{root}: no video folders (the {layout} layout '
                           f'is {root}/{expected})')
    return videos


def _frame_files(frames_dir: Path) -> Dict[str, List[str]]:
    """Image files of a frames folder by stem."""
    by_stem: Dict[str, List[str]] = {}
    if frames_dir.is_dir():
        for entry in os.scandir(frames_dir):
            stem, ext = osp.splitext(entry.name)
            if ext.lower() in FRAME_EXTENSIONS and entry.is_file():
                by_stem.setdefault(stem, []).append(entry.name)
    return by_stem


def _pick_frame(names: List[str], frame_ext: str) -> str:
    """The frame file among same-stem candidates (``frame_ext`` first)."""
    for name in names:
        if osp.splitext(name)[1] == frame_ext:
            return name
    order = {ext: i for i, ext in enumerate(FRAME_EXTENSIONS)}
    return min(names,
               key=lambda n: (order[osp.splitext(n)[1].lower()], n))


class _Decoder:
    """Pixel values -> instances and classes for one layout."""

    def __init__(self, layout: str, void: Optional[int],
                 class_names: Optional[Sequence[str]],
                 class_names_file: Optional[str]) -> None:
        self.layout = layout
        self.void = void
        self.class_names = list(class_names or [])
        self.class_names_file = class_names_file

    def instances(self, values: np.ndarray, png: Path) -> Tuple[
            np.ndarray, bool]:
        """The instance values of a frame and whether it had void pixels
        (``values`` is zeroed where void / ignore, in place)."""
        if self.layout == 'davis':
            had_void = False
            if self.void is not None:
                void = values == self.void
                had_void = bool(void.any())
                values[void] = 0
            keys = np.unique(values)
            return keys[keys != 0], had_void
        classes = values // MOTS_MAX_INSTANCES
        background = classes == 0
        if len(self.class_names) < MOTS_IGNORE_CLASS:
            background |= classes == MOTS_IGNORE_CLASS
        values[background] = 0
        keys = np.unique(values)
        keys = keys[keys != 0]
        bad = sorted({int(k) // MOTS_MAX_INSTANCES for k in keys
                      if k // MOTS_MAX_INSTANCES > len(self.class_names)})
        if bad:
            raise PngMaskError(
                f'{png}: class id(s) {bad} (pixel value // '
                f'{MOTS_MAX_INSTANCES}) but there are '
                f'{len(self.class_names)} class names ({self.names_from()})')
        return keys, False

    def names_from(self) -> str:
        return self.class_names_file or '--class-names'

    def class_name(self, value: int) -> str:
        return self.class_names[value // MOTS_MAX_INSTANCES - 1]


def png_masks_to_ytvis(masks_root,
                       layout: str = 'davis',
                       frames_root=None,
                       class_map_file=None,
                       class_names: Optional[Sequence[str]] = None,
                       default_class: Optional[str] = None,
                       void: Optional[int] = DAVIS_VOID,
                       frame_ext: str = '.jpg',
                       warn: Warn = _no_warn) -> dict:
    """Convert folders of instance-id PNGs to a raw YouTube-VIS 2019 dict.

    Args:
        masks_root (str | Path): The masks folder of ``layout``.
        layout (str): One of :data:`LAYOUTS`.
        frames_root (str | Path, optional): The folder the ``file_names``
            are relative to (``data_prefix=dict(img_path=...)``). When
            given, every PNG's frame ``<frames_root>/<video>/<png stem>.*``
            (``'cvat-mots'``: ``<subset>/images/<stem>.*``) must exist with
            the PNG's size, and ``file_names`` carry its extension; without
            it, ``file_names`` end in ``frame_ext`` and nothing is checked.
        class_map_file (str | Path, optional): ``'davis'``: a class map
            (:func:`read_class_map`).
        class_names (Sequence[str], optional): ``'mots'`` / ``'cvat-mots'``:
            the name of class id ``k`` is ``class_names[k - 1]``. Defaults
            to ``('car', 'pedestrian')`` (KITTI MOTS) for ``'mots'`` and to
            each subset's ``instances/labels.txt`` for ``'cvat-mots'``.
        default_class (str, optional): ``'davis'``: the category of
            instances the class map does not name. Without a class map it
            defaults to ``'object'``; with one, an instance it does not name
            is an error unless this is given.
        void (int, optional): ``'davis'``: the value read as background
            (255, DAVIS' void); ``None`` reads every nonzero value as an
            instance (binary 0 / 255 masks of DAVIS 2016).
        frame_ext (str): Extension of the ``file_names`` without
            ``frames_root``, preferred among same-stem frames with it.
        warn (Callable[[str], None]): Receives warnings (a video with void
            pixels only).

    Returns:
        dict: ``info``, ``licenses``, ``videos`` (``id``, ``name``,
        ``width``, ``height``, ``length``, ``file_names``), ``categories``
        and ``annotations``: one track per instance with per-frame
        ``segmentations`` (compressed RLE, ``str`` counts; ``None`` where
        absent), ``bboxes`` (``[x, y, w, h]``) and ``areas``.

    Raises:
        PngMaskError: The file or folder at fault first.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    categories = _Categories()
    class_map = None
    if layout == 'davis':
        if class_map_file is not None:
            class_map = read_class_map(class_map_file)
            for name in class_map.values():
                categories.id_of(name)
        elif default_class is None:
            default_class = 'object'
    elif layout == 'mots' and class_names is None:
        class_names = ('car', 'pedestrian')
    if class_names is not None:
        for name in class_names:
            categories.id_of(name)
    videos, annotations = [], []
    for name, mask_dir, frame_rel in find_png_videos(masks_root, layout):
        names_file = None
        names = class_names
        if layout == 'cvat-mots' and class_names is None:
            labels = mask_dir / 'labels.txt'
            if not labels.is_file():
                raise PngMaskError(
                    f'{labels}: missing (the class names of the MOTS PNG '
                    'export); give --class-names')
            names, names_file = _read_labels_txt(labels), str(labels)
            for label in names:
                categories.id_of(label)
        decoder = _Decoder(layout, void, names, names_file)
        video, tracks = _convert_video(
            name, mask_dir, frame_rel, decoder, frames_root, frame_ext)
        video = dict(id=len(videos) + 1, **video)
        had_void = video.pop('_void')
        if had_void and not tracks:
            warn(f'{mask_dir}: only void ({decoder.void}) pixels, no '
                 'instance: binary 0 / 255 masks (DAVIS 2016)? --void none '
                 f'reads {decoder.void} as an instance')
        videos.append(video)
        for value in sorted(tracks):
            track = tracks[value]
            first = track.pop('_first')
            if layout == 'davis':
                category = (None if class_map is None else _class_of(
                    class_map, name, value)) or default_class
                if category is None:
                    raise PngMaskError(
                        f'{class_map_file}: no class for instance {value} '
                        f"of video '{name}' (key \"{name}/{value}\" or "
                        f'"{value}"; first in {first}); give '
                        '--default-class for instances it does not name')
            else:
                category = decoder.class_name(value)
            annotations.append(dict(
                id=len(annotations) + 1, video_id=video['id'],
                category_id=categories.id_of(category), iscrowd=0,
                height=video['height'], width=video['width'], **track))
    return dict(
        info=dict(description=f'instance-id PNGs ({layout} layout) of '
                  f'{masks_root}'),
        licenses=[],
        videos=videos,
        categories=categories.to_json(),
        annotations=annotations)


def _convert_video(name: str, mask_dir: Path, frame_rel: str,
                   decoder: _Decoder, frames_root, frame_ext: str
                   ) -> Tuple[dict, Dict[int, dict]]:
    """One video: its ``videos`` entry and its tracks by pixel value."""
    pngs = _png_files(mask_dir)
    if not pngs:
        raise PngMaskError(f'{mask_dir}: no PNG masks in the video folder')
    frames = None
    if frames_root is not None:
        frames_dir = Path(frames_root) / frame_rel
        frames = _frame_files(frames_dir)
    num = len(pngs)
    size = first = None
    file_names = []
    tracks: Dict[int, dict] = {}
    had_void = False
    for t, png in enumerate(pngs):
        values = read_id_png(png)
        height, width = values.shape
        if size is None:
            size, first = (height, width), png
        elif (height, width) != size:
            raise PngMaskError(
                f'{png}: mask is {width} x {height} (width x height) but '
                f'{first.name} of the same video is {size[1]} x {size[0]}')
        stem = png.stem
        if frames is None:
            file_names.append(f'{frame_rel}/{stem}{frame_ext}')
        else:
            if stem not in frames:
                raise PngMaskError(
                    f'{png}: no frame {frames_dir / stem}.* (looked for '
                    f'{"/".join(FRAME_EXTENSIONS)}, any case)')
            frame_name = _pick_frame(frames[stem], frame_ext)
            frame_w, frame_h = _frame_size(frames_dir / frame_name)
            if (frame_w, frame_h) != (width, height):
                raise PngMaskError(
                    f'{png}: mask is {width} x {height} (width x height) '
                    f'but its frame {frames_dir / frame_name} is {frame_w} '
                    f'x {frame_h}')
            file_names.append(f'{frame_rel}/{frame_name}')
        keys, void_here = decoder.instances(values, png)
        had_void |= void_here
        if not len(keys):
            continue
        masks = values[None] == keys[:, None, None]
        rles = encode_rle(masks)
        boxes = mask_boxes(masks, 'xywh')
        areas = masks.reshape(len(keys), -1).sum(1)
        for k, value in enumerate(keys.tolist()):
            track = tracks.get(value)
            if track is None:
                track = tracks[value] = dict(
                    segmentations=[None] * num, bboxes=[None] * num,
                    areas=[None] * num, _first=str(png))
            track['segmentations'][t] = rles[k]
            track['bboxes'][t] = [float(v) for v in boxes[k]]
            track['areas'][t] = int(areas[k])
    video = dict(name=name, width=size[1], height=size[0], length=num,
                 file_names=file_names, _void=had_void)
    return video, tracks
