"""Binary mask <-> COCO segmentation (polygons, compressed / raw RLE).

All masks are (H, W) bool or uint8 arrays; all boxes are COCO
``[x, y, w, h]`` floats with ``x, y`` the top-left pixel and ``w, h`` the
size in pixels of the tight box around the set pixels.
"""
import cv2
import numpy as np
from pycocotools import mask as mask_utils

from ...structures.mask_ops import encode_rle as encode_rles
from ...structures.mask_ops import mask_boxes


def mask_bbox(mask: np.ndarray) -> list[float]:
    """Tight COCO box of a non-empty mask (pycocotools' ``toBbox``).

    One mask of :func:`mmvis_pretrain.structures.mask_ops.mask_boxes`
    (``fmt='xywh'``).

    Args:
        mask (np.ndarray): (H, W) bool mask with at least one pixel set.

    Returns:
        list[float]: ``[x, y, w, h]`` (``[0, 0, 0, 0]`` for an empty mask).
    """
    return [float(v) for v in mask_boxes(mask[None], fmt='xywh')[0]]


def encode_rle(mask: np.ndarray) -> dict:
    """Compressed RLE, as in COCO ``iscrowd`` / RLE annotations.

    One mask of :func:`mmvis_pretrain.structures.mask_ops.encode_rle`.

    Args:
        mask (np.ndarray): (H, W) bool mask.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}``.
    """
    return encode_rles(mask[None])[0]


def encode_uncompressed_rle(mask: np.ndarray) -> dict:
    """Uncompressed RLE, as in the official YouTube-VIS JSON files.

    Runs are taken over the column-major (Fortran) flattening and start with
    a run of zeros (possibly of length 0).

    Args:
        mask (np.ndarray): (H, W) bool mask.

    Returns:
        dict: ``{'counts': list[int], 'size': [H, W]}``.
    """
    flat = np.asarray(mask, bool).ravel(order='F')
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {'counts': [int(c) for c in counts],
            'size': [int(mask.shape[0]), int(mask.shape[1])]}


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer boundary polygons of a mask, traced along pixel edges.

    The contour is traced on the grid of pixel *corners* (a corner is set
    when any of its four pixels is), so the polygons run along the outside of
    the boundary pixels as COCO polygons should. Holes are not represented;
    polygons with fewer than three vertices are dropped.

    Not mmdet's ``bitmap_to_polygon``: that one traces pixel *centres*
    (polygons one pixel too small), keeps every contour point
    (``CHAIN_APPROX_NONE``) and returns hole contours as extra polygons
    (``RETR_CCOMP``, which COCO would fill), so reusing it would change the
    generated annotations, which must stay byte-identical for a seed.

    Args:
        mask (np.ndarray): (H, W) bool mask.

    Returns:
        list[list[float]]: ``[[x0, y0, x1, y1, ...], ...]`` in pixels.
    """
    p = np.pad(np.asarray(mask, bool), 1)
    corners = (p[:-1, :-1] | p[1:, :-1] | p[:-1, 1:] | p[1:, 1:])
    contours = cv2.findContours(corners.astype(np.uint8), cv2.RETR_EXTERNAL,
                                cv2.CHAIN_APPROX_SIMPLE)[0]
    return [c.reshape(-1).astype(float).tolist() for c in contours
            if len(c) >= 3]


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """Decode any COCO segmentation with pycocotools.

    Args:
        segmentation (list | dict): Polygons, compressed or raw RLE.
        height (int): H.
        width (int): W.

    Returns:
        np.ndarray: (H, W) bool mask.
    """
    if isinstance(segmentation, list):
        rle = mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation['counts'], list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (H, W) bool masks (1.0 if both empty)."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def polygon_segmentation(mask: np.ndarray, min_iou: float = 0.85
                         ) -> tuple[list[list[float]], np.ndarray] | None:
    """Polygons for ``mask`` if they decode back faithfully.

    Args:
        mask (np.ndarray): (H, W) bool mask.
        min_iou (float): Required IoU between the decoded polygons and
            ``mask`` (masks with holes or thin slivers usually fail).

    Returns:
        tuple | None: ``(polygons, decoded (H, W) bool mask)``, or ``None``
        when no faithful polygon exists (use RLE then).
    """
    polygons = mask_to_polygons(mask)
    if not polygons:
        return None
    decoded = decode_segmentation(polygons, *mask.shape)
    if mask_iou(decoded, mask) < min_iou:
        return None
    return polygons, decoded
