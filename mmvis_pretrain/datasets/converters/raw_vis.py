"""Building and writing raw YouTube-VIS 2019 JSON: the part shared by the
video annotation converters (``cvat_video``, ``labelme_video``,
``cocovid``) and their command line tools.

* :func:`polygons_entry` / :func:`mask_entry` / :func:`rle_entry`: one
  frame's mask as a full-frame COCO compressed RLE (``counts`` a ``str``)
  with its area and ``[x, y, w, h]`` box, ``None`` for an empty mask;
* :class:`RawVISBuilder`: categories (by name), videos and tracks into the
  raw schema (``videos`` / ``categories`` / ``annotations`` with per-frame
  ``segmentations`` / ``areas`` / ``bboxes``, ``null`` where absent);
* :func:`write_raw_json`: validate with the loader's own checks
  (:func:`~mmvis_pretrain.datasets.vis_json.validate_vis_json`), then write
  through :class:`~mmvis_pretrain.apis.staged_outputs.StagedOutputs`;
* :func:`run_tool`: the tools' ``main``: ``error: ...`` on stderr and exit
  status 1 for bad input, ``warning: ...`` lines, a summary on stdout.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_util

from ...apis.staged_outputs import (OutputPathError, StagedOutputs,
                                    check_output_file)
from ...structures import encode_rle, mask_boxes
from ..vis_json import VISAnnotationError, validate_vis_json


class ConversionError(ValueError):
    """Bad converter input; the message starts with the file at fault."""


# --------------------------------------------------------------------------
# one frame's mask
# --------------------------------------------------------------------------
@dataclass
class FrameMask:
    """One frame of a track: full-frame compressed RLE, area, xywh box."""
    segmentation: dict
    area: float
    bbox: List[float]


def _str_counts(rle: dict) -> dict:
    counts = rle['counts']
    if isinstance(counts, bytes):
        counts = counts.decode('ascii')
    return dict(size=[int(s) for s in rle['size']], counts=counts)


def rle_entry(rle: dict) -> Optional[FrameMask]:
    """A frame entry of a compressed RLE (pycocotools' area and box);
    ``None`` when the mask is empty."""
    area = float(mask_util.area(rle))
    if area == 0:
        return None
    bbox = [float(v) for v in mask_util.toBbox(rle)]
    return FrameMask(_str_counts(rle), area, bbox)


def polygons_entry(polygons: Sequence[Sequence[float]], height: int,
                   width: int) -> Optional[FrameMask]:
    """Polygons ``[[x0, y0, x1, y1, ...], ...]`` (each at least 3 points)
    rasterized by pycocotools (``frPyObjects``) and merged into one mask;
    ``None`` when nothing of them falls inside the frame."""
    polys = [[float(v) for v in p] for p in polygons]
    for poly in polys:
        # frPyObjects reads a list of exactly 4 numbers as a box
        if len(poly) < 6 or len(poly) % 2:
            raise ValueError('a polygon needs at least 3 points, got '
                             f'{len(poly) // 2}')
    rles = mask_util.frPyObjects(polys, int(height), int(width))
    return rle_entry(mask_util.merge(rles))


def mask_entry(mask: np.ndarray) -> Optional[FrameMask]:
    """A frame entry of an ``(H, W)`` binary mask (nonzero = foreground):
    :func:`~mmvis_pretrain.structures.encode_rle` and
    :func:`~mmvis_pretrain.structures.mask_boxes` (``xywh``, pycocotools'
    ``toBbox`` convention); ``None`` for an empty mask."""
    area = int(np.count_nonzero(mask))
    if area == 0:
        return None
    rle = encode_rle(mask[None])[0]
    bbox = [float(v) for v in mask_boxes(mask[None], fmt='xywh')[0]]
    return FrameMask(rle, float(area), bbox)


def merge_entries(entries: Iterable[FrameMask]) -> Optional[FrameMask]:
    """The union of several masks of one frame (one instance drawn as
    several shapes)."""
    entries = [e for e in entries if e is not None]
    if len(entries) == 1:
        return entries[0]
    if not entries:
        return None
    return rle_entry(
        mask_util.merge([e.segmentation for e in entries], intersect=False))


# --------------------------------------------------------------------------
# the raw JSON
# --------------------------------------------------------------------------
class RawVISBuilder:
    """Collects categories, videos and tracks into a raw YouTube-VIS dict.

    Args:
        classes (Sequence[str], optional): Fixed category names, ids 1, 2,
            ... in this order; a label outside them is an error. Without
            them, categories are made on first use (:meth:`declare` them
            first to fix their order).
    """

    def __init__(self, classes: Optional[Sequence[str]] = None) -> None:
        self.fixed = classes is not None
        self.categories: Dict[str, int] = {}
        for name in classes or ():
            self.declare(name)
        self.videos: List[dict] = []
        self.annotations: List[dict] = []

    def declare(self, name: str) -> int:
        """The id of category ``name``, made if new."""
        if name not in self.categories:
            self.categories[name] = len(self.categories) + 1
        return self.categories[name]

    def category_id(self, name: str, where: str) -> int:
        """The id of ``name``; with fixed classes, an unknown name is a
        :class:`ConversionError` starting with ``where``."""
        if self.fixed and name not in self.categories:
            raise ConversionError(
                f'{where}: label {name!r} is not one of --classes '
                f'({", ".join(self.categories)})')
        return self.declare(name)

    def add_video(self, file_names: Sequence[str], height: int, width: int,
                  video_id: Optional[int] = None) -> int:
        """Add a video; returns its id (1, 2, ... unless given)."""
        if video_id is None:
            video_id = len(self.videos) + 1
        self.videos.append(
            dict(id=video_id, width=int(width), height=int(height),
                 length=len(file_names), file_names=list(file_names)))
        return video_id

    def add_track(self,
                  video_id: int,
                  category_id: int,
                  frames: Dict[int, Optional[FrameMask]],
                  length: int,
                  iscrowd: int = 0,
                  ann_id: Optional[int] = None) -> Optional[int]:
        """Add one track (a raw annotation) with its masks per frame index.

        Frames not in ``frames`` (or ``None``) are ``null``. A track with no
        mask at all is not added (returns ``None``); else its annotation id
        (1, 2, ... over the file unless given).
        """
        segs, areas, boxes = [None] * length, [None] * length, \
            [None] * length
        for index, entry in frames.items():
            if entry is not None:
                segs[index] = entry.segmentation
                areas[index] = entry.area
                boxes[index] = entry.bbox
        if all(s is None for s in segs):
            return None
        if ann_id is None:
            ann_id = len(self.annotations) + 1
        self.annotations.append(
            dict(id=ann_id, video_id=video_id, category_id=category_id,
                 iscrowd=int(iscrowd), segmentations=segs, areas=areas,
                 bboxes=boxes))
        return ann_id

    def to_json(self, **extra) -> dict:
        """The raw dict (``extra`` top-level keys first, e.g. ``info``)."""
        data = dict(extra)
        data.update(
            videos=self.videos,
            categories=[dict(id=i, name=n)
                        for n, i in self.categories.items()],
            annotations=self.annotations)
        return data


def summary(data: dict) -> str:
    """``V videos, F frames, T tracks, M frame masks, C categories``."""
    anns = data.get('annotations') or []
    frames = sum(len(v['file_names']) for v in data['videos'])
    masks = sum(1 for a in anns for s in a['segmentations'] if s is not None)
    return (f"{len(data['videos'])} videos, {frames} frames, {len(anns)} "
            f"tracks, {masks} frame masks, {len(data['categories'])} "
            'categories')


def write_raw_json(data: dict, out: str) -> None:
    """Validate ``data`` as the datasets do, then write it to ``out``
    (a temporary next to it, moved into place on success).

    Raises:
        VISAnnotationError: The converted data would not load (the message
            names ``out``; nothing is written).
    """
    validate_vis_json(data, str(out))
    with StagedOutputs() as staged:
        tmp = staged.file(out)
        with open(tmp, 'w') as f:
            json.dump(data, f)
        staged.commit()


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
@dataclass
class Report:
    """Messages of a conversion for the tool to print."""
    warnings: List[str] = field(default_factory=list)


def run_tool(out: str, convert: Callable[[], Tuple[dict, Report]],
             inputs: Sequence[str] = ()) -> int:
    """Convert, validate and write ``out``; print warnings and a summary.

    Args:
        out (str): The ``--out`` JSON.
        convert (Callable): Returns ``(raw dict, Report)``; raises
            :class:`ConversionError` / :class:`VISAnnotationError` for bad
            input.
        inputs (Sequence[str]): Input files, which ``--out`` must not be.

    Returns:
        int: 0, or 1 after ``error: <message>`` on stderr (nothing written).
    """
    import os.path as osp
    try:
        check_output_file(out, '--out', ('.json', ))
        for path in inputs:
            if osp.realpath(path) == osp.realpath(out):
                raise OutputPathError(f'--out {out}: is the input file '
                                      f'{path}; it would be overwritten')
        data, report = convert()
        write_raw_json(data, out)
    except (ConversionError, VISAnnotationError, OutputPathError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for message in report.warnings:
        print(f'warning: {message}', file=sys.stderr)
    print(f'wrote {out}: {summary(data)}')
    return 0
