"""Sequence (spatio-temporal) mask IoU of YouTube-VIS / OVIS.

For a result track ``d`` and a ground-truth track ``g`` of one video::

    IoU(d, g) = sum_t |d_t & g_t| / sum_t |d_t | g_t|

where a frame in which only one of them has a mask adds that mask's area to
the union and a frame where neither has one adds nothing; ``IoU = 0`` when
the union is empty (youtubevos/cocoapi ``ytvoseval.py`` ``computeIoU``).

The union needs no pairwise work: ``sum_t |d_t | g_t| = A_d + A_g -
sum_t |d_t & g_t|`` with ``A`` the summed per-frame areas. The per-frame
intersections of all pairs come from one pycocotools call per frame: with
``iscrowd=1`` its ``iou`` returns ``|d_t & g_t| / |d_t|``, from which the
integer intersection is recovered exactly by rounding (both factors are
integers far below 2**52). All sums are exact integers, so the result is
bit-identical to the official float accumulation.
"""
from typing import List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils


def sequence_intersections(dt_rles: Sequence[List[Optional[dict]]],
                           dt_areas: np.ndarray,
                           gt_rles: Sequence[List[Optional[dict]]]
                           ) -> np.ndarray:
    """Summed per-frame mask intersections of every (result, GT) pair.

    Args:
        dt_rles (Sequence[list]): D tracks, each a list of T compressed RLEs
            or ``None``.
        dt_areas (np.ndarray): (D, T) per-frame areas of ``dt_rles``
            (0 where ``None``).
        gt_rles (Sequence[list]): G tracks, each a list of T RLEs / ``None``.

    Returns:
        np.ndarray: (D, G) int64, ``sum_t |d_t & g_t|``.
    """
    num_dt, num_gt = len(dt_rles), len(gt_rles)
    inter = np.zeros((num_dt, num_gt), dtype=np.int64)
    if num_dt == 0 or num_gt == 0:
        return inter
    num_frames = len(dt_rles[0])
    for t in range(num_frames):
        d_idx = [i for i in range(num_dt) if dt_rles[i][t] is not None]
        if not d_idx:
            continue
        g_idx = [j for j in range(num_gt) if gt_rles[j][t] is not None]
        if not g_idx:
            continue
        # iscrowd=1: |d & g| / |d| (0 where they do not overlap)
        ratio = np.asarray(
            mask_utils.iou([dt_rles[i][t] for i in d_idx],
                           [gt_rles[j][t] for j in g_idx], [1] * len(g_idx)),
            dtype=np.float64).reshape(len(d_idx), len(g_idx))
        area_d = dt_areas[d_idx, t].astype(np.float64)[:, None]
        inter[np.ix_(d_idx, g_idx)] += np.rint(ratio * area_d).astype(
            np.int64)
    return inter


def sequence_iou(dt_rles: Sequence[List[Optional[dict]]],
                 dt_areas: np.ndarray,
                 gt_rles: Sequence[List[Optional[dict]]],
                 gt_areas: np.ndarray) -> np.ndarray:
    """Sequence IoU of every (result, GT) pair of one video.

    Args:
        dt_rles (Sequence[list]): D result tracks, T RLEs / ``None`` each.
        dt_areas (np.ndarray): (D, T) their per-frame areas.
        gt_rles (Sequence[list]): G ground-truth tracks.
        gt_areas (np.ndarray): (G, T) their per-frame areas.

    Returns:
        np.ndarray: (D, G) float64 IoUs in [0, 1].
    """
    inter = sequence_intersections(dt_rles, dt_areas, gt_rles)
    if inter.size == 0:
        return inter.astype(np.float64)
    dt_total = np.asarray(dt_areas, dtype=np.int64).sum(1)
    gt_total = np.asarray(gt_areas, dtype=np.int64).sum(1)
    union = dt_total[:, None] + gt_total[None, :] - inter
    iou = np.zeros(inter.shape, dtype=np.float64)
    np.divide(inter, union, out=iou, where=union > 0)
    return iou
