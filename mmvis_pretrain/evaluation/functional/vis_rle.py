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
code silently gets wrong: the RLE ``size`` must be the video's
``[height, width]`` (pycocotools would return IoU -1 or read garbage) and an
uncompressed RLE must cover exactly ``H * W`` pixels. Problems raise
``ValueError`` naming the track and the frame (``where``).
"""
from numbers import Integral, Real
from typing import List, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils

#: A compressed RLE as pycocotools wants it: ``{'size': [H, W], 'counts':
#: bytes}``.
RLE = dict


def _is_int(value) -> bool:
    return type(value) is int or (isinstance(value, Integral)
                                  and not isinstance(value, bool))


def _check_size(seg: dict, height: int, width: int, where: str) -> None:
    size = seg.get('size')
    if type(size) is list and size == [height, width] and \
            type(size[0]) is int and type(size[1]) is int:
        return  # the common case, fast
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(_is_int(v) for v in size)):
        raise ValueError(f"{where}: RLE 'size' must be [height, width], got "
                         f'{size!r}')
    if [int(size[0]), int(size[1])] != [height, width]:
        raise ValueError(
            f"{where}: RLE 'size' {list(size)} is not the video's [height, "
            f'width] = {[height, width]} (masks must be at the original '
            'resolution)')


def segmentation_to_rle(seg, height: int, width: int,
                        where: str) -> Optional[RLE]:
    """One frame's segmentation as a compressed RLE (``None`` if absent).

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
    if isinstance(seg, list):
        if not all(
                isinstance(p, (list, tuple)) and len(p) >= 4
                and len(p) % 2 == 0 and all(
                    isinstance(v, Real) and not isinstance(v, bool)
                    for v in p) for p in seg):
            raise ValueError(
                f'{where}: a polygon segmentation must be a list of '
                'coordinate lists [x0, y0, x1, y1, ...] (an even number of '
                'numbers each)')
        # the official code calls frPyObjects on the list, then merges
        return mask_utils.merge(
            mask_utils.frPyObjects([list(p) for p in seg], height, width))
    if not isinstance(seg, dict) or 'counts' not in seg:
        raise ValueError(f'{where}: a segmentation must be null, polygons or '
                         f"an RLE dict with 'size' and 'counts', got "
                         f'{type(seg).__name__} {str(seg)[:80]}')
    _check_size(seg, height, width, where)
    counts = seg['counts']
    if isinstance(counts, list):
        if not all(_is_int(c) and c >= 0 for c in counts):
            raise ValueError(f"{where}: uncompressed RLE 'counts' must be "
                             'non-negative ints')
        if sum(counts) != height * width:
            raise ValueError(
                f"{where}: uncompressed RLE 'counts' cover {sum(counts)} "
                f'pixels, the frame has {height} x {width} = '
                f'{height * width}')
        return mask_utils.frPyObjects(
            dict(size=[height, width], counts=counts), height, width)
    if isinstance(counts, str):
        return dict(size=[height, width], counts=counts.encode('ascii'))
    if isinstance(counts, bytes):
        return dict(size=[height, width], counts=counts)
    raise ValueError(f"{where}: RLE 'counts' must be a str, bytes or a list "
                     f'of ints, got {type(counts).__name__}')


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
    rles = [
        segmentation_to_rle(seg, height, width, f'{where}, frame {t}')
        for t, seg in enumerate(segmentations)
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
