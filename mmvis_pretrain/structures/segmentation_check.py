"""Check that a COCO segmentation is a mask of its frame's size.

One set of rules for the dataset loaders (:mod:`mmvis_pretrain.datasets.
vis_json`) and the evaluation (:mod:`mmvis_pretrain.evaluation.functional.
vis_rle`), so that nothing pycocotools would misread gets through either:

* **RLE** (``{'size': [H, W], 'counts': ...}``): ``size`` must be the frame's
  ``[height, width]``; uncompressed ``counts`` (a list) must be non-negative
  ints adding up to ``H * W``; compressed ``counts`` (a str / bytes) must
  decode to runs adding up to ``H * W`` (:mod:`.compressed_rle`; checked in
  batches by :class:`SegmentationChecker`, as one string at a time would
  cost a numpy round trip per mask).
* **Polygons** (``[[x0, y0, x1, y1, ...], ...]``): every polygon at least 3
  points of numbers, every point inside the frame up to
  :data:`POLYGON_TOLERANCE` pixels (``-tol <= x <= W + tol``, the same for
  ``y``). pycocotools clips polygons to the frame, so a polygon drawn for a
  frame of another size would pass silently otherwise; annotation tools
  put vertices on or slightly past the border, hence the tolerance.
"""
import math
from numbers import Integral, Real
from typing import Callable, List, Optional, Sequence, Tuple, Union

from .compressed_rle import compressed_rle_problems, describe_compressed_rle

#: Pixels a polygon vertex may lie outside its frame.
POLYGON_TOLERANCE = 2.0


def _is_int(value) -> bool:
    return type(value) is int or (isinstance(value, Integral)
                                  and not isinstance(value, bool))


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def rle_size_problem(seg: dict, height: int, width: int) -> Optional[str]:
    """What is wrong with an RLE's ``size``, ``None`` if it is the frame's.

    Args:
        seg (dict): An RLE dict.
        height (int): Frame height.
        width (int): Frame width.

    Returns:
        str | None: A sentence for an error message.
    """
    size = seg.get('size')
    if type(size) is list and len(size) == 2 and size[0] == height and \
            size[1] == width and type(size[0]) is int and \
            type(size[1]) is int:
        return None  # the common case, fast
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(_is_int(v) for v in size)):
        return f"RLE 'size' must be [height, width], got {size!r}"
    if [int(size[0]), int(size[1])] != [height, width]:
        return (f"RLE 'size' {list(size)} is not the frame's [height, width] "
                f'= {[height, width]} (masks must be at the resolution of '
                'their video)')
    return None


def uncompressed_counts_problem(counts: list, height: int,
                                width: int) -> Optional[str]:
    """What is wrong with uncompressed RLE ``counts``, ``None`` if nothing.

    Args:
        counts (list): Run lengths.
        height (int): Frame height.
        width (int): Frame width.

    Returns:
        str | None: A sentence for an error message.
    """
    try:
        total = sum(counts)
        low = min(counts) if counts else 0
    except TypeError:
        total = low = None
    # a sum of Python ints is an int (the fast common case); anything else
    # (a float, a numpy int from a caller) is looked at element by element
    if type(total) is not int:
        if total is None or not all(_is_int(c) for c in counts):
            return "uncompressed RLE 'counts' must be non-negative ints"
        total = int(total)
    if low < 0:
        return "uncompressed RLE 'counts' must be non-negative ints"
    if total != height * width:
        return (f"uncompressed RLE 'counts' cover {total} pixels, the frame "
                f'has {height} x {width} = {height * width}')
    return None


def polygon_problem(polygons: list,
                    height: int,
                    width: int,
                    tolerance: float = POLYGON_TOLERANCE,
                    min_points: int = 3) -> Optional[str]:
    """What is wrong with COCO polygons, ``None`` if nothing.

    Args:
        polygons (list): ``[[x0, y0, x1, y1, ...], ...]``.
        height (int): Frame height.
        width (int): Frame width.
        tolerance (float): Pixels a vertex may lie outside the frame.
        min_points (int): Fewest points of a polygon (the loaders want 3:
            ``frPyObjects`` reads a 4-number list as a box; the official
            evaluation accepts 2).

    Returns:
        str | None: A sentence for an error message.
    """
    if not polygons or not all(
            isinstance(p, (list, tuple)) and len(p) >= 2 * min_points
            and len(p) % 2 == 0 and all(_is_number(v) for v in p)
            for p in polygons):
        return (f'polygons must be lists of >= {2 * min_points} numbers (an '
                f'even count, at least {min_points} points)')
    xs = [v for p in polygons for v in p[0::2]]
    ys = [v for p in polygons for v in p[1::2]]
    if not all(math.isfinite(v) for v in xs) or \
            not all(math.isfinite(v) for v in ys):
        return 'polygon coordinates must be finite'
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if x_lo < -tolerance or y_lo < -tolerance or \
            x_hi > width + tolerance or y_hi > height + tolerance:
        return (f'polygon reaches x in [{x_lo:g}, {x_hi:g}], y in '
                f'[{y_lo:g}, {y_hi:g}], outside the {width} x {height} '
                f'(width x height) frame by more than {tolerance:g} px (is it '
                'drawn for a frame of another size?)')
    return None


def segmentation_problem(seg,
                         height: int,
                         width: int,
                         check_compressed: bool = True,
                         polygon_tolerance: float = POLYGON_TOLERANCE,
                         min_polygon_points: int = 3) -> Optional[str]:
    """What is wrong with one frame's segmentation, ``None`` if nothing.

    Args:
        seg: Polygons or an RLE dict (not ``None``).
        height (int): Frame height.
        width (int): Frame width.
        check_compressed (bool): Decode compressed ``counts`` here; ``False``
            leaves them to a batched :meth:`SegmentationChecker.finish`.
        polygon_tolerance (float): See :func:`polygon_problem`.
        min_polygon_points (int): See :func:`polygon_problem`.

    Returns:
        str | None: A sentence for an error message.
    """
    if isinstance(seg, list):
        return polygon_problem(seg, height, width, polygon_tolerance,
                               min_polygon_points)
    if not isinstance(seg, dict) or 'counts' not in seg or 'size' not in seg:
        return ("a segmentation must be polygons or an RLE dict with 'size' "
                f"and 'counts', got {type(seg).__name__} {str(seg)[:80]}")
    problem = rle_size_problem(seg, height, width)
    if problem:
        return problem
    counts = seg['counts']
    if isinstance(counts, list):
        return uncompressed_counts_problem(counts, height, width)
    if not isinstance(counts, (str, bytes)):
        return ("RLE 'counts' must be a str, bytes or a list of ints, got "
                f'{type(counts).__name__}')
    if check_compressed:
        return describe_compressed_rle(counts, height, width) or None
    return None


class SegmentationChecker:
    """Check many segmentations, compressed RLEs decoded in one batch.

    :meth:`add` checks everything but the compressed counts at once and
    queues those; :meth:`finish` decodes the queue together and reports the
    first failure. Errors are raised by ``fail(where, problem)``, so each
    caller keeps its own error type and wording of ``where``.

    Args:
        fail (Callable[[str, str], None]): Raises for ``where`` (names the
            annotation / result and frame) and ``problem`` (a sentence).
        decode_compressed (bool): Queue and decode compressed counts;
            ``False`` leaves them to the caller (a loader that checks them
            lazily, when a video is first used). Defaults to True.
        polygon_tolerance (float): See :func:`polygon_problem`.
        min_polygon_points (int): See :func:`polygon_problem`.
    """

    def __init__(self,
                 fail: Callable[[str, str], None],
                 decode_compressed: bool = True,
                 polygon_tolerance: float = POLYGON_TOLERANCE,
                 min_polygon_points: int = 3) -> None:
        self.fail = fail
        self.decode_compressed = decode_compressed
        self.polygon_tolerance = polygon_tolerance
        self.min_polygon_points = min_polygon_points
        self._counts: List[Union[str, bytes]] = []
        self._pixels: List[int] = []
        self._where: List[Tuple[str, int, int]] = []

    def add(self, seg, height: int, width: int, where) -> None:
        """Check ``seg`` (not ``None``) of a ``height x width`` frame.

        Args:
            seg: Polygons or an RLE dict.
            height (int): Frame height.
            width (int): Frame width.
            where: Names the segmentation (anything ``fail`` accepts; built
                lazily by the caller if it is costly).
        """
        problem = segmentation_problem(
            seg, height, width, check_compressed=False,
            polygon_tolerance=self.polygon_tolerance,
            min_polygon_points=self.min_polygon_points)
        if problem:
            self.fail(where, problem)
        if self.decode_compressed and isinstance(seg, dict) and \
                isinstance(seg['counts'], (str, bytes)):
            self._counts.append(seg['counts'])
            self._pixels.append(height * width)
            self._where.append((where, height, width))

    def finish(self) -> None:
        """Decode the queued compressed RLEs; fail on the first bad one."""
        bad = compressed_rle_problems(self._counts, self._pixels)
        if bad.size:
            i = int(bad[0])
            where, height, width = self._where[i]
            more = f' ({bad.size} such masks in all)' if bad.size > 1 else ''
            self.fail(
                where,
                describe_compressed_rle(self._counts[i], height, width) + more)
        self._counts, self._pixels, self._where = [], [], []

    def check_all(self, segs: Sequence, height: int, width: int,
                  where: Callable[[int], object]) -> None:
        """:meth:`add` every non-null entry of ``segs`` and :meth:`finish`.

        Args:
            segs (Sequence): Per-frame segmentations (falsy = absent).
            height (int): Frame height.
            width (int): Frame width.
            where (Callable[[int], object]): Frame index -> ``where``.
        """
        for t, seg in enumerate(segs):
            if seg:
                self.add(seg, height, width, where(t))
        self.finish()
