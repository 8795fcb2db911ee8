"""Rasterise one textured object (silhouette + pattern) into an image frame.

Coordinates follow the COCO convention: pixel ``(row i, column j)`` covers
``[j, j + 1) x [i, i + 1)`` and its centre is ``(j + 0.5, i + 0.5)``.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .shapes import SHAPES, shape_radius
from .textures import Appearance, pattern

_SHIFT = 4  # fractional bits for cv2.fillPoly (1/16 pixel precision)


@dataclass(frozen=True)
class Pose:
    """Placement of an object in the image.

    Attributes:
        cx (float): Centre x in pixels.
        cy (float): Centre y in pixels.
        scale (float): Pixels per local unit (about half the object size).
        angle (float): Rotation in radians (clockwise on screen).
    """

    cx: float
    cy: float
    scale: float
    angle: float = 0.0


def local_to_image(points: np.ndarray, pose: Pose,
                   aspect: float) -> np.ndarray:
    """Map local silhouette points to image coordinates.

    Args:
        points (np.ndarray): (k, 2) local ``(u, v)``.
        pose (Pose): Placement.
        aspect (float): Horizontal stretch applied before rotation.

    Returns:
        np.ndarray: (k, 2) image ``(x, y)`` in pixels.
    """
    u = points[:, 0] * aspect * pose.scale
    v = points[:, 1] * pose.scale
    cos, sin = np.cos(pose.angle), np.sin(pose.angle)
    return np.stack([pose.cx + u * cos - v * sin, pose.cy + u * sin + v * cos],
                    axis=1)


def image_to_local(x: np.ndarray, y: np.ndarray, pose: Pose,
                   aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`local_to_image` for coordinate grids.

    Args:
        x (np.ndarray): Image x coordinates, any shape.
        y (np.ndarray): Image y coordinates, same shape.
        pose (Pose): Placement.
        aspect (float): Horizontal stretch of the object.

    Returns:
        tuple[np.ndarray, np.ndarray]: Local ``(u, v)``, same shape as ``x``.
    """
    dx, dy = x - pose.cx, y - pose.cy
    cos, sin = np.cos(pose.angle), np.sin(pose.angle)
    u = (dx * cos + dy * sin) / (pose.scale * aspect)
    v = (-dx * sin + dy * cos) / pose.scale
    return u, v


def extent(appearance: Appearance, scale: float) -> float:
    """Radius in pixels of a circle around the centre containing the object.

    Args:
        appearance (Appearance): The object's look (category and aspect).
        scale (float): Pixels per local unit.

    Returns:
        float: Radius in pixels, valid for any rotation.
    """
    return shape_radius(appearance.category_id) * scale * max(
        appearance.aspect, 1.0)


def object_mask(appearance: Appearance, pose: Pose, height: int,
                width: int) -> np.ndarray:
    """Full silhouette of an object, clipped to the image.

    Args:
        appearance (Appearance): The object's look.
        pose (Pose): Placement.
        height (int): Image height H.
        width (int): Image width W.

    Returns:
        np.ndarray: (H, W) bool mask.
    """
    canvas = np.zeros((height, width), np.uint8)
    for part in SHAPES[appearance.category_id]:
        pts = local_to_image(part, pose, appearance.aspect) - 0.5
        fixed = np.round(pts * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(canvas, [fixed], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return canvas.astype(bool)


def object_colors(appearance: Appearance, pose: Pose,
                  mask: np.ndarray) -> np.ndarray:
    """Textured, softly shaded colours of an object inside ``mask``.

    Args:
        appearance (Appearance): The object's look.
        pose (Pose): Placement.
        mask (np.ndarray): (H, W) bool silhouette from :func:`object_mask`.

    Returns:
        np.ndarray: (H, W, 3) float32 RGB in 0..255; zero outside ``mask``'s
        bounding box.
    """
    colors = np.zeros(mask.shape + (3, ), np.float32)
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(0))[0]
    if rows.size == 0:
        return colors
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    u, v = image_to_local(xs, ys, pose, appearance.aspect)
    p = pattern(appearance.category_id, u, v, appearance.frequency,
                appearance.phase)[..., None]
    a = np.asarray(appearance.color_a, np.float32)
    b = np.asarray(appearance.color_b, np.float32)
    shade = 1.0 - 0.2 * np.clip(u * u + v * v, 0.0, 1.5)[..., None]
    colors[y0:y1, x0:x1] = (a * (1.0 - p) + b * p) * shade
    return colors


def render_object(appearance: Appearance, pose: Pose, height: int,
                  width: int) -> tuple[np.ndarray, np.ndarray]:
    """Silhouette and colours of one object.

    Args:
        appearance (Appearance): The object's look.
        pose (Pose): Placement.
        height (int): Image height H.
        width (int): Image width W.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W) bool mask and (H, W, 3) float32
        RGB colours (valid where the mask is set).
    """
    mask = object_mask(appearance, pose, height, width)
    return mask, object_colors(appearance, pose, mask)
