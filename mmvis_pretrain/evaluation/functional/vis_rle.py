"""Per-frame masks of YouTube-VIS / OVIS tracks as compressed RLE.

A track (ground-truth annotation or result) has one ``segmentations`` entry
per frame of its video. The official evaluation (youtubevos/cocoapi
``ytvos.py`` ``annToRLE`` / ``loadRes``) treats every *falsy* entry
(``None``, ``[]``, ``{}``) as "absent in this frame" and converts the others
with pycocotools:

* polygons ``[[x0, y0, x1, y1, ...], ...]`` -> ``frPyObjects`` + ``merge``
  at the video's height / width;
* uncompressed RLE ``{'size': [H, W], 'counts': [int, ...]}`` ->
  ``frPyObjects``;
* compressed RLE ``{'size': [H, W], 'counts': str | bytes}`` as is.

:func:`track_rles` does the same and additionally checks what the official
code silently gets wrong (:mod:`mmvis_pretrain.structures.
segmentation_check`): the RLE ``size`` must be the video's ``[height,
width]`` (pycocotools would return IoU -1 or read garbage), an RLE's runs
(uncompressed or compressed) must cover exactly ``H * W`` pixels (more make
``mask.iou`` loop for ever, fewer are scored silently) and polygons must lie
inside the frame. Problems raise ``ValueError`` naming the track and the
frame (``where``).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from ...structures import SegmentationChecker, segmentation_problem

#: A compressed RLE as pycocotools wants it: ``{'size': [H, W], 'counts':
#: bytes}``.
RLE = dict


def _raise(where: str, problem: str) -> None:
    raise ValueError(f'{where}: {problem}')


def _to_rle(seg, height: int, width: int) -> RLE:
    """A checked, non-null segmentation as a compressed RLE."""
    if isinstance(seg, list):
        # the official code calls frPyObjects on the list, then merges
        return mask_utils.merge(
            mask_utils.frPyObjects([list(p) for p in seg], height, width))
    counts = seg['counts']
    if isinstance(counts, list):
        return mask_utils.frPyObjects(
            dict(size=[height, width], counts=counts), height, width)
    if isinstance(counts, str):
        counts = counts.encode('ascii')
    return dict(size=[height, width], counts=counts)


def segmentation_to_rle(seg, height: int, width: int,
                        where: str) -> Optional[RLE]:
    """One frame's segmentation as a compressed RLE (``None`` if absent).

    Checked with :func:`mmvis_pretrain.structures.segmentation_problem`
    before pycocotools sees it (polygons of >= 2 points, as the official
    code accepts).

    Args:
        seg: ``None`` / falsy, polygons, uncompressed or compressed RLE.
        height (int): Height of the video.
        width (int): Width of the video.
        where (str): Names the track and frame in error messages.

    Returns:
        dict | None: ``{'size': [H, W], 'counts': bytes}`` or ``None``.
    """
    if not seg:
        return None
    problem = segmentation_problem(seg, height, width, min_polygon_points=2)
    if problem:
        _raise(where, problem)
    return _to_rle(seg, height, width)


def track_rles(segmentations: Sequence, height: int, width: int,
               where: str) -> Tuple[List[Optional[RLE]], np.ndarray]:
    """All frames of a track as RLEs, with their pixel areas.

    Args:
        segmentations (Sequence): One entry per frame (see
            :func:`segmentation_to_rle`).
        height (int): Height of the video.
        width (int): Width of the video.
        where (str): Names the track in error messages.

    Returns:
        tuple: ``rles`` (list of length T, ``None`` where absent) and
        ``areas`` (T,) uint32, 0 where absent (pycocotools' ``area``).
    """
    # every mask checked (compressed ones decoded in one batch) before
    # pycocotools sees any: a wrong count loops mask.iou for ever
    SegmentationChecker(_raise, min_polygon_points=2).check_all(
        segmentations, height, width, lambda t: f'{where}, frame {t}')
    rles = [
        _to_rle(seg, height, width) if seg else None for seg in segmentations
    ]
    areas = np.zeros(len(rles), dtype=np.uint32)
    present = [t for t, r in enumerate(rles) if r is not None]
    if present:
        try:
            areas[present] = mask_utils.area([rles[t] for t in present])
        except Exception as err:  # pycocotools raises assorted errors
            raise ValueError(f'{where}: cannot decode its RLE masks '
                             f'({err})') from err
    return rles, areas
