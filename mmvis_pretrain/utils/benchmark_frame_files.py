"""The JPEG files of the video the online frames/s benchmark decodes.

Either real frames (the first ``L`` image files of a folder, in natural
order) or the synthetic video of
:func:`mmvis_pretrain.utils.benchmark_frames.moving_shapes_frames` written as
JPEG files.
"""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2

from mmvis_pretrain.apis.video_sources import list_image_files
from .benchmark_frames import moving_shapes_frames


def write_synthetic_frames(out_dir: str, num: int, height: int, width: int,
                           seed: int = 0, quality: int = 90) -> List[str]:
    """Write ``num`` JPEG frames ``000000.jpg ...`` of a synthetic video.

    The frames of :func:`mmvis_pretrain.utils.benchmark_frames.
    moving_shapes_frames` (moving ellipses on a gradient, with noise so the
    files don't compress like flat colour; the report gives their mean size;
    at quality 90 they take about 2.5 bits per pixel).

    Args:
        out_dir (str): Existing folder.
        num (int): Number of frames.
        height, width (int): Frame size.
        seed (int): Seed of the shapes and the noise.
        quality (int): JPEG quality.

    Returns:
        list[str]: The files, in frame order.
    """
    paths = []
    for t, img in enumerate(moving_shapes_frames(num, height, width, seed)):
        path = str(Path(out_dir) / f'{t:06d}.jpg')
        if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
            raise OSError(f'cannot write {path}')
        paths.append(path)
    return paths


def video_frame_files(out_dir: str, video_length: int,
                      frames: Optional[str] = None,
                      src_size: Optional[Sequence[int]] = None,
                      size: Optional[Sequence[int]] = None,
                      seed: int = 0) -> Tuple[List[str], str]:
    """The ``L`` frame files of the benchmark video.

    Args:
        out_dir (str): Existing folder for the synthetic frames (unused with
            ``frames``).
        video_length (int): Frames ``L``.
        frames (str, optional): Folder of real frames: its first ``L`` image
            files.
        src_size (Sequence[int], optional): ``(H, W)`` of the synthetic
            frames; default twice ``size``, else 720 x 1280.
        size (Sequence[int], optional): ``(H, W)`` of the network input.
        seed (int): Seed of the synthetic video.

    Returns:
        tuple[list[str], str]: The files, in frame order, and their source
        (``frames`` or ``'synthetic'``).
    """
    if frames:
        paths = list_image_files(frames)[:video_length]
        if not paths:
            raise FileNotFoundError(f'--frames {frames}: no image files')
        return paths, frames
    if src_size is not None:
        src_h, src_w = src_size
    elif size is not None:
        src_h, src_w = 2 * size[0], 2 * size[1]
    else:
        src_h, src_w = 720, 1280
    return write_synthetic_frames(out_dir, video_length, src_h, src_w,
                                  seed=seed), 'synthetic'


__all__ = ['write_synthetic_frames', 'video_frame_files']
