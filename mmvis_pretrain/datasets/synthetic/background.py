"""Noisy textured backgrounds (no object-like structure)."""
import cv2
import numpy as np


def _smooth_field(rng: np.random.Generator, height: int, width: int,
                  cells: tuple[int, int], channels: int) -> np.ndarray:
    """Random values on a coarse grid, bicubically upsampled.

    Returns:
        np.ndarray: (height, width, channels) float32, roughly in [0, 1].
    """
    grid = rng.random((cells[0], cells[1], channels)).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return field.reshape(height, width, channels)


def make_background(rng: np.random.Generator, height: int,
                    width: int) -> np.ndarray:
    """A muted colour wash with mid-frequency grain and a few clutter lines.

    Args:
        rng (np.random.Generator): Source of randomness.
        height (int): H.
        width (int): W.

    Returns:
        np.ndarray: (H, W, 3) float32 RGB in 0..255.
    """
    base = rng.uniform(70, 170, 3).astype(np.float32)
    wash = _smooth_field(rng, height, width,
                         (int(rng.integers(2, 5)), int(rng.integers(2, 5))), 3)
    grain = _smooth_field(rng, height, width,
                          (height // 4 + 2, width // 4 + 2), 1)
    image = base + 70.0 * (wash - 0.5) + 40.0 * (grain - 0.5)
    for _ in range(int(rng.integers(2, 6))):
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        color = tuple(float(c) for c in rng.uniform(40, 200, 3))
        cv2.line(image, p0, p1, color, int(rng.integers(1, 3)))
    return np.clip(image, 0, 255).astype(np.float32)
