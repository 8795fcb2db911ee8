"""Byte-deterministic writers for JPEG frames and JSON files."""
import json
import os
import os.path as osp

import cv2
import numpy as np


def write_jpeg(path: str, rgb: np.ndarray, quality: int = 90) -> None:
    """Encode an RGB image as baseline JPEG with a fixed quality.

    Args:
        path (str): Output file; parent directories are created.
        rgb (np.ndarray): (H, W, 3) uint8 RGB.
        quality (int): JPEG quality 1..100.
    """
    ok, buf = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError(f'JPEG encoding failed for {path}')
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'wb') as f:
        f.write(buf.tobytes())


def write_json(path: str, data: dict) -> None:
    """Write compact JSON in insertion order (same data, same bytes).

    Args:
        path (str): Output file; parent directories are created.
        data (dict): JSON-serialisable object (no NaN).
    """
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
