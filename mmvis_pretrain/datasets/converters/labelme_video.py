"""Folders of labelme JSON (one folder = one video) -> raw YouTube-VIS 2019.

A labelme file (one per frame)::

    {"imagePath": "00000.jpg", "imageHeight": 48, "imageWidth": 64,
     "shapes": [{"label": "person", "group_id": 1, "shape_type": "polygon",
                 "points": [[x0, y0], [x1, y1], ...]}, ...], ...}

* **Frames**: the ``*.json`` files of the folder sorted by file name; a
  frame without a JSON is not part of the video. A frame's file name is its
  ``imagePath`` (relative to the JSON, labelme's convention; ``\\`` read as
  ``/``) relative to ``img_root``, by default the folder's parent, so that
  ``<folder>/00000.jpg`` is found under ``data_prefix=dict(img_path=<the
  parent>)``. All frames of a video must have the same ``imageHeight`` /
  ``imageWidth``.
* **Instances**: a track is one ``(label, group_id)`` pair of the video
  (labelme's own instance key, ``labelme.utils.shapes_to_label``). Shapes
  of one pair in one frame are one mask (their union).
* **Shapes without group_id**: ``missing_group_id='error'`` (default)
  fails naming the file and the shape, since a guess can join the wrong
  objects; ``'order'`` matches them by label and order instead: the k-th
  ungrouped shape of a label in each frame is the k-th track of that label
  (one warning per video).
* **Shape types**: ``polygon`` (also a missing / null ``shape_type``),
  ``rectangle`` (two corners), ``circle`` (center, a point on it: a
  64-gon), ``mask`` (labelme 5's base64 PNG in ``mask``, its top-left
  pixel at the smallest x, y of ``points``) become masks; ``line``, ``linestrip``, ``point`` and
  ``points`` have no area and are skipped (one warning per video); any
  other type is an error.
* **Categories**: ``classes`` in that order, or else every label sorted by
  name (the same ids for every split converted on its own).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .raw_vis import (ConversionError, FrameMask, RawVISBuilder, Report,
                      mask_entry, merge_entries, polygons_entry)

AREA_SHAPES = ('polygon', 'rectangle', 'circle', 'mask')
NO_AREA_SHAPES = ('line', 'linestrip', 'point', 'points')
MISSING_GROUP_ID = ('error', 'order')
CIRCLE_VERTICES = 64


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ConversionError(f'{path}: malformed JSON ({err})') from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    if not isinstance(data, dict):
        raise ConversionError(f'{path}: top level must be a JSON object '
                              '(a labelme file)')
    return data


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _frame_info(path: str, data: dict) -> Tuple[str, int, int, list]:
    """``imagePath``, height, width and shapes of a labelme file."""
    image_path = data.get('imagePath')
    if not isinstance(image_path, str) or not image_path:
        raise ConversionError(f"{path}: 'imagePath' must be a non-empty "
                              f'string, got {image_path!r}')
    height, width = data.get('imageHeight'), data.get('imageWidth')
    for key, value in (('imageHeight', height), ('imageWidth', width)):
        if not _is_int(value) or value < 1:
            raise ConversionError(f"{path}: '{key}' must be a positive "
                                  f'int, got {value!r}')
    shapes = data.get('shapes')
    if not isinstance(shapes, list):
        raise ConversionError(f"{path}: 'shapes' must be a list")
    return image_path, height, width, shapes


def _xy(points, where: str, count: Optional[int] = None) -> np.ndarray:
    """``points`` as an ``(N, 2)`` float array."""
    try:
        xy = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        xy = None
    if xy is None or xy.ndim != 2 or xy.shape[1] != 2 or \
            not np.isfinite(xy).all():
        raise ConversionError(f"{where}: 'points' must be [[x, y], ...] "
                              f'numbers, got {str(points)[:80]}')
    if count is not None and len(xy) != count:
        raise ConversionError(f'{where}: needs {count} points, got '
                              f'{len(xy)}')
    return xy


def _decode_mask(shape: dict, origin: np.ndarray, height: int, width: int,
                 where: str) -> np.ndarray:
    """A labelme 5 ``mask`` shape (base64 PNG of its box) in the frame."""
    from PIL import Image
    text = shape.get('mask')
    if not isinstance(text, str) or not text:
        raise ConversionError(f"{where}: shape_type 'mask' without a "
                              "base64 PNG in 'mask'")
    try:
        with Image.open(io.BytesIO(base64.b64decode(text))) as img:
            small = np.asarray(img.convert('L')) > 0
    except (binascii.Error, OSError, ValueError) as err:
        raise ConversionError(f"{where}: 'mask' is not a base64 PNG "
                              f'({err})') from None
    left, top = (int(math.floor(v)) for v in origin)
    h, w = small.shape
    if left < 0 or top < 0 or left + w > width or top + h > height:
        raise ConversionError(
            f'{where}: the {w} x {h} mask at x={left}, y={top} leaves the '
            f'{width} x {height} (width x height) frame')
    mask = np.zeros((height, width), dtype=bool)
    mask[top:top + h, left:left + w] = small
    return mask


def shape_mask(shape: dict, height: int, width: int,
               where: str) -> Optional[FrameMask]:
    """The full-frame mask of one labelme shape of an area type."""
    kind = shape.get('shape_type') or 'polygon'
    points = shape.get('points')
    if kind == 'polygon':
        xy = _xy(points, where)
        if len(xy) < 3:
            raise ConversionError(f'{where}: a polygon needs at least 3 '
                                  f'points, got {len(xy)}')
        return polygons_entry([xy.ravel().tolist()], height, width)
    if kind == 'rectangle':
        (x1, y1), (x2, y2) = _xy(points, where, 2)
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
        return polygons_entry([[x1, y1, x2, y1, x2, y2, x1, y2]], height,
                              width)
    if kind == 'circle':
        (cx, cy), (px, py) = _xy(points, where, 2)
        radius = math.hypot(px - cx, py - cy)
        angles = np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
        poly = np.stack([cx + radius * np.cos(angles),
                         cy + radius * np.sin(angles)], 1)
        return polygons_entry([poly.ravel().tolist()], height, width)
    # 'mask'
    xy = _xy(points, where)
    if len(xy) < 1:
        raise ConversionError(f"{where}: shape_type 'mask' needs its box "
                              'corner in points')
    return mask_entry(_decode_mask(shape, xy.min(0), height, width, where))


def list_labelme_files(folder: str) -> List[str]:
    """The ``*.json`` files of ``folder``, sorted by name."""
    try:
        names = os.listdir(folder)
    except OSError as err:
        raise ConversionError(f'{folder}: cannot list the folder '
                              f'({err.strerror})') from None
    files = sorted(n for n in names if n.lower().endswith('.json')
                   and osp.isfile(osp.join(folder, n)))
    if not files:
        raise ConversionError(f'{folder}: no labelme *.json files')
    return [osp.join(folder, n) for n in files]


def _file_name(json_path: str, image_path: str, img_root: str) -> str:
    """The frame's file name relative to ``img_root``."""
    image = osp.normpath(
        osp.join(osp.dirname(osp.abspath(json_path)),
                 image_path.replace('\\', '/')))
    rel = osp.relpath(image, osp.abspath(img_root))
    if rel == '..' or rel.startswith('..' + os.sep) or osp.isabs(rel):
        raise ConversionError(
            f"{json_path}: 'imagePath' {image_path!r} lies outside the "
            f'image root {img_root} (give --img-root)')
    return rel.replace(os.sep, '/')


class _Video:
    """The frames and instance masks of one labelme folder."""

    def __init__(self, folder: str, img_root: Optional[str],
                 missing_group_id: str) -> None:
        self.folder = folder
        self.files = list_labelme_files(folder)
        root = img_root if img_root is not None else \
            osp.dirname(osp.abspath(osp.normpath(folder)))
        self.file_names: List[str] = []
        self.size: Optional[Tuple[int, int]] = None
        # (label, group_id, k) -> {frame index: [masks]}, first-use order
        self.tracks: Dict[tuple, Dict[int, List[Optional[FrameMask]]]] = {}
        self.skipped: Dict[str, int] = {}
        self.ungrouped = 0
        self.empty = 0
        first_file: Dict[str, str] = {}
        for index, path in enumerate(self.files):
            image_path, height, width, shapes = _frame_info(
                path, _read_json(path))
            if self.size is None:
                self.size = (height, width)
            elif self.size != (height, width):
                raise ConversionError(
                    f'{path}: imageHeight x imageWidth {height} x {width} '
                    f'differs from the {self.size[0]} x {self.size[1]} of '
                    f'{self.files[0]} (one frame size per video)')
            name = _file_name(path, image_path, root)
            if name in first_file:
                raise ConversionError(
                    f"{path}: 'imagePath' names the same frame '{name}' as "
                    f'{first_file[name]}')
            first_file[name] = path
            self.file_names.append(name)
            self._add_shapes(path, index, shapes, height, width,
                             missing_group_id)

    def _add_shapes(self, path: str, index: int, shapes: list, height: int,
                    width: int, missing_group_id: str) -> None:
        order: Dict[str, int] = {}
        for i, shape in enumerate(shapes):
            where = f'{path}, shape {i}'
            if not isinstance(shape, dict):
                raise ConversionError(f'{where}: must be an object')
            label = shape.get('label')
            if not isinstance(label, str) or not label:
                raise ConversionError(f"{where}: 'label' must be a "
                                      f'non-empty string, got {label!r}')
            where = f'{where} ({label!r})'
            kind = shape.get('shape_type') or 'polygon'
            if kind in NO_AREA_SHAPES:
                self.skipped[kind] = self.skipped.get(kind, 0) + 1
                continue
            if kind not in AREA_SHAPES:
                raise ConversionError(
                    f"{where}: unknown shape_type {kind!r} (polygon, "
                    'rectangle, circle, mask; line, linestrip, point and '
                    'points are skipped)')
            group_id = shape.get('group_id')
            if group_id is None:
                if missing_group_id == 'error':
                    raise ConversionError(
                        f'{where}: has no group_id, which identifies an '
                        'instance across frames (set it in labelme, or '
                        'pass --missing-group-id order to match ungrouped '
                        'shapes by label and order)')
                key = (label, None, order.get(label, 0))
                order[label] = key[2] + 1
                self.ungrouped += 1
            elif not _is_int(group_id):
                raise ConversionError(f"{where}: 'group_id' must be an "
                                      f'int or null, got {group_id!r}')
            else:
                key = (label, group_id, 0)
            try:
                entry = shape_mask(shape, height, width, where)
            except ConversionError:
                raise
            except ValueError as err:
                raise ConversionError(f'{where}: {err}') from None
            self.empty += entry is None
            self.tracks.setdefault(key, {}).setdefault(index,
                                                       []).append(entry)


def convert_labelme_videos(folders: Sequence[str],
                           img_root: Optional[str] = None,
                           missing_group_id: str = 'error',
                           classes: Optional[Sequence[str]] = None
                           ) -> Tuple[dict, Report]:
    """Convert labelme folders, one video each, into one raw dict.

    Args:
        folders (Sequence[str]): One folder of labelme JSON per video.
        img_root (str, optional): Frame file names are relative to it;
            defaults to each folder's parent.
        missing_group_id (str): ``'error'`` or ``'order'`` (see the
            module doc).
        classes (Sequence[str], optional): Fixed category names.

    Returns:
        tuple(dict, Report): The raw dict and the warnings.
    """
    if missing_group_id not in MISSING_GROUP_ID:
        raise ValueError(f'missing_group_id must be one of '
                         f'{MISSING_GROUP_ID}, got {missing_group_id!r}')
    report = Report()
    videos = [_Video(f, img_root, missing_group_id) for f in folders]
    labels = sorted({key[0] for v in videos for key in v.tracks})
    builder = RawVISBuilder(classes)
    first_of: Dict[str, str] = {}
    for video in videos:
        for label in labels:
            if not builder.fixed:
                builder.declare(label)
        for name in video.file_names:
            if name in first_of:
                raise ConversionError(
                    f"{video.folder}: its frame '{name}' is also a frame of "
                    f'{first_of[name]}')
            first_of[name] = video.folder
        height, width = video.size
        video_id = builder.add_video(video.file_names, height, width)
        for key, frames in video.tracks.items():
            where = video.files[min(frames)]
            category_id = builder.category_id(key[0], where)
            builder.add_track(
                video_id, category_id,
                {i: merge_entries(e) for i, e in frames.items()},
                len(video.file_names))
        if video.ungrouped:
            report.warnings.append(
                f'{video.folder}: {video.ungrouped} shapes without group_id '
                'matched across frames by label and order '
                '(--missing-group-id order)')
        if video.empty:
            report.warnings.append(
                f'{video.folder}: {video.empty} shapes cover no pixel of '
                'their frame (null there)')
        if video.skipped:
            kinds = ', '.join(f'{n} {k}'
                              for k, n in sorted(video.skipped.items()))
            report.warnings.append(f'{video.folder}: skipped shapes without '
                                   f'area ({kinds})')
    return builder.to_json(), report
