"""Raster drawing primitives of :class:`~.clip_renderer.ClipLocalVisualizer`:
numpy alpha blending and OpenCV anti-aliased lines and text, drawn straight
into an RGB ``uint8`` frame.

Why not mmengine's ``Visualizer`` primitives (``draw_binary_masks``,
``draw_polygons``, ``draw_bboxes``, ``draw_texts``): each of them goes
through a matplotlib canvas, and every ``get_image`` re-draws the whole
frame through ``imshow`` resampling. Measured on the project machine
(2 cores, one thread) with 10 instances, that round trip cost 148 ms per
frame at 640x360 and 510 ms at 1280x800, slower than a GPU model runs
(the online VIS paper: 9.7 frames/s), so a rendered video ran at a fraction
of the model's speed. These functions draw the same elements (blended
filled masks, contours, boxes, labels on a coloured box) in a few
milliseconds (``docs/benchmarks.md``, ``benchmark_render.py``).

Every function works in place on ``image`` (``(H, W, 3)`` RGB ``uint8``)
and touches only the pixels it draws on: pixels outside every mask, line
and label come back unchanged.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

Color = Tuple[int, int, int]

#: OpenCV font of the labels (sans-serif stroke font).
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Cap height in pixels of ``FONT`` at scale 1, thickness 1.
_FONT_PX = cv2.getTextSize('H', FONT, 1.0, 1)[0][1]


def _box_of(mask: np.ndarray) -> Tuple[slice, slice]:
    """Row and column slices of the bounding box of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _blend_where(region: np.ndarray, where: np.ndarray, color, alpha: float):
    """``region[where] = (1 - alpha) * region + alpha * color``, rounded."""
    pixels = region[where].astype(np.float32)
    region[where] = np.rint((1.0 - alpha) * pixels + alpha * np.asarray(
        color, np.float32)).clip(0, 255).astype(np.uint8)


def blend_masks(image: np.ndarray, masks: np.ndarray, colors: Sequence[Color],
                alpha: float = 0.5, contour_alpha: float = 0.0) -> None:
    """Alpha-blend filled masks into ``image`` in order (later on top), then
    optionally their white 1-px contours.

    Args:
        image (np.ndarray): ``(H, W, 3)`` RGB ``uint8``, drawn in place.
        masks (np.ndarray): ``(M, H, W)`` bool.
        colors (Sequence[Color]): ``M`` RGB colours.
        alpha (float): Fill opacity.
        contour_alpha (float): Opacity of the white contours (outer borders
            and holes, OpenCV's ``findContours``); 0 draws none.
    """
    for mask, color in zip(masks, colors):
        if not mask.any():
            continue
        rows, cols = _box_of(mask)
        _blend_where(image[rows, cols], mask[rows, cols], color, alpha)
    if contour_alpha <= 0:
        return
    for mask in masks:
        if not mask.any():
            continue
        rows, cols = _box_of(mask)
        crop = np.ascontiguousarray(mask[rows, cols], dtype=np.uint8)
        contours, _ = cv2.findContours(crop, cv2.RETR_CCOMP,
                                       cv2.CHAIN_APPROX_NONE)
        lines = np.zeros(crop.shape, np.uint8)
        cv2.drawContours(lines, contours, -1, 255, 1, cv2.LINE_8)
        _blend_where(image[rows, cols], lines > 0, (255, 255, 255),
                     contour_alpha)


def draw_boxes(image: np.ndarray, boxes: np.ndarray, colors: Sequence[Color],
               line_width: int = 2, alpha: float = 0.8) -> None:
    """Box edges (``x1, y1, x2, y2`` pixel coordinates, inclusive, inside
    the image: :func:`~.drawing_utils.clip_boxes`) blended at ``alpha``."""
    height, width = image.shape[:2]
    for box, color in zip(np.asarray(boxes).reshape(-1, 4), colors):
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        x1, x2 = sorted((min(max(x1, 0), width - 1),
                         min(max(x2, 0), width - 1)))
        y1, y2 = sorted((min(max(y1, 0), height - 1),
                         min(max(y2, 0), height - 1)))
        pad = max(int(line_width), 1)
        r0, r1 = max(y1 - pad, 0), min(y2 + pad + 1, height)
        c0, c1 = max(x1 - pad, 0), min(x2 + pad + 1, width)
        lines = np.zeros((r1 - r0, c1 - c0), np.uint8)
        cv2.rectangle(lines, (x1 - c0, y1 - r0), (x2 - c0, y2 - r0), 255,
                      pad, cv2.LINE_8)
        _blend_where(image[r0:r1, c0:c1], lines > 0, color, alpha)


def text_scale(font_size: float) -> Tuple[float, int]:
    """OpenCV ``(fontScale, thickness)`` of a label of ``font_size``: the
    cap height in pixels equals ``font_size``."""
    scale = float(font_size) / _FONT_PX
    return scale, max(1, int(round(font_size / 14)))


def text_box(text: str, font_size: float) -> Tuple[int, int, int]:
    """``(width, height, baseline)`` in pixels of ``text`` drawn with
    :func:`draw_label` at ``font_size``, without the padding."""
    scale, thickness = text_scale(font_size)
    (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
    return w, h, base


def label_pad(font_size: float) -> int:
    """Padding in pixels around a label's text."""
    return max(1, int(round(font_size / 6)))


def draw_label(image: np.ndarray, text: str, x: float, y: float,
               font_size: float, color: Color, alpha: float = 0.8,
               text_color: Color = (0, 0, 0)) -> None:
    """A one-line label: a box of ``color`` (blended at ``alpha``) with its
    top-left corner at ``(x, y)`` and anti-aliased ``text`` in it; the box
    is :func:`~.drawing_utils.label_size` large, clipped to the image."""
    height, width = image.shape[:2]
    w, h, base = text_box(text, font_size)
    pad = label_pad(font_size)
    x0, y0 = int(round(x)), int(round(y))
    x1, y1 = min(x0 + w + 2 * pad, width), min(y0 + h + base + 2 * pad,
                                                height)
    x0, y0 = max(x0, 0), max(y0, 0)
    if x1 <= x0 or y1 <= y0:
        return
    region = image[y0:y1, x0:x1]
    _blend_where(region, np.ones(region.shape[:2], bool), color, alpha)
    scale, thickness = text_scale(font_size)
    cv2.putText(image, text, (int(round(x)) + pad, int(round(y)) + pad + h),
                FONT, scale, text_color, thickness, cv2.LINE_AA)
