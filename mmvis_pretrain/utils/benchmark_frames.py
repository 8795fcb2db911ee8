"""Synthetic video frames for the speed / memory benchmarks.

``tools/analysis_tools/benchmark_fps.py`` (written as JPEG
files) and ``benchmark_vis_inference.py`` (streamed in memory) time models on
the same kind of video: a colour gradient with four filled ellipses moving at
constant speeds (wrapping around the borders) plus Gaussian noise, which
keeps JPEGs from compressing like flat colour.
"""
from typing import Iterator

import cv2
import numpy as np


def moving_shapes_frames(num: int, height: int, width: int,
                         seed: int = 0) -> Iterator[np.ndarray]:
    """Yield ``num`` BGR ``uint8`` frames ``(height, width, 3)``, one at a
    time (O(1) memory), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([40 + 160 * xx / width, 40 + 160 * yy / height,
                     60 + 120 * (xx + yy) / (height + width)], axis=-1)
    shapes = []
    for _ in range(4):
        shapes.append(dict(
            centre=rng.uniform((0, 0), (width, height)),
            velocity=rng.uniform(-0.03, 0.03, 2) * (width, height),
            axes=(int(rng.integers(max(2, width // 12), max(3, width // 5))),
                  int(rng.integers(max(2, height // 12),
                                   max(3, height // 5)))),
            colour=tuple(float(c) for c in rng.integers(0, 256, 3))))
    for t in range(num):
        img = base.copy()
        for shape in shapes:
            cx, cy = (shape['centre'] + t * shape['velocity']) % (width,
                                                                  height)
            cv2.ellipse(img, (int(cx), int(cy)), shape['axes'], 0, 0, 360,
                        shape['colour'], -1)
        img += rng.normal(0, 6, img.shape).astype(np.float32)
        yield np.clip(img, 0, 255).astype(np.uint8)


__all__ = ['moving_shapes_frames']
