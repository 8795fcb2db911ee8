"""Depth-ordered compositing of object layers over a background."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Layer:
    """One depth layer: an object (or a crowd of them) at a single depth.

    Attributes:
        mask (np.ndarray): (H, W) bool full (amodal) silhouette.
        colors (np.ndarray): (H, W, 3) float32 RGB, used where ``mask`` is set.
    """

    mask: np.ndarray
    colors: np.ndarray


def visible_masks(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Visible part of every mask given back-to-front order.

    Args:
        masks (list[np.ndarray]): (H, W) bool masks, index 0 is farthest.

    Returns:
        list[np.ndarray]: (H, W) bool masks, each minus everything in front.
    """
    visible = [np.zeros_like(m) for m in masks]
    occluded = np.zeros(masks[0].shape, bool) if masks else None
    for i in range(len(masks) - 1, -1, -1):
        visible[i] = masks[i] & ~occluded
        occluded |= masks[i]
    return visible


def composite(background: np.ndarray, layers: list[Layer],
              rng: np.random.Generator,
              noise_sigma: float = 5.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Paint layers back-to-front, add sensor noise, quantise.

    Args:
        background (np.ndarray): (H, W, 3) float32 RGB in 0..255.
        layers (list[Layer]): Back-to-front (index 0 is farthest).
        rng (np.random.Generator): Source of the pixel noise.
        noise_sigma (float): Std of the Gaussian pixel noise.

    Returns:
        tuple[np.ndarray, list[np.ndarray]]: (H, W, 3) uint8 RGB image and
        the (H, W) bool visible mask of every layer (same order).
    """
    image = background.copy()
    for layer in layers:
        image[layer.mask] = layer.colors[layer.mask]
    image += rng.normal(0.0, noise_sigma, image.shape).astype(np.float32)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return image, visible_masks([layer.mask for layer in layers])
