"""Write rendered frames (:class:`.clip_renderer.RenderedSample`) to files:
PNG per frame plus a side-by-side strip, an animated GIF (Pillow) and an MP4
(``cv2.VideoWriter`` with the ``mp4v`` codec).

:class:`Mp4Writer` is the package's one MP4 writer: :func:`write_mp4` (whole
clips) and the video demo (frames as they stream, re-exported by
:mod:`mmvis_pretrain.apis`) both use it. It lives here, not in ``apis``,
because ``apis`` imports ``visualization`` (never the other way round).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image

from .clip_renderer import RenderedSample

#: Output formats understood by :func:`write_rendered`.
FORMATS = ('png', 'gif', 'mp4')


def pad_to(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Zero-pad an ``(h, w, 3)`` frame at the bottom / right to a size."""
    out = np.zeros((height, width, 3), dtype=np.uint8)
    out[:frame.shape[0], :frame.shape[1]] = frame
    return out


def common_size(frames: Sequence[np.ndarray],
                multiple: int = 1) -> Tuple[int, int]:
    """Largest ``(height, width)`` of ``frames``, rounded up to
    ``multiple``."""
    height = max(f.shape[0] for f in frames)
    width = max(f.shape[1] for f in frames)
    return (-(-height // multiple) * multiple,
            -(-width // multiple) * multiple)


def make_strip(frames: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """Place frames side by side (left to right) with white gaps.

    Frames of different heights are aligned at the top and padded black.
    """
    height = max(f.shape[0] for f in frames)
    width = sum(f.shape[1] for f in frames) + gap * (len(frames) - 1)
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for frame in frames:
        strip[:, x:x + frame.shape[1]] = pad_to(frame, height, frame.shape[1])
        x += frame.shape[1] + gap
    return strip


def write_png(image: np.ndarray, path: Union[str, Path]) -> Path:
    """Write an RGB image as PNG (creating the folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image[..., ::-1]):
        raise OSError(f'could not write {path}')
    return path


def write_frame_pngs(frames: Sequence[np.ndarray],
                     prefix: Union[str, Path]) -> List[Path]:
    """Write ``{prefix}_frame{t:02d}.png`` for every frame."""
    return [
        write_png(frame, f'{prefix}_frame{t:02d}.png')
        for t, frame in enumerate(frames)
    ]


def write_strip_png(frames: Sequence[np.ndarray], path: Union[str, Path],
                    gap: int = 4) -> Path:
    """Write all frames side by side into one PNG (see :func:`make_strip`)."""
    return write_png(make_strip(frames, gap=gap), path)


def with_timeline(frame: np.ndarray, t: int, num_frames: int,
                  bar_height: int = 3) -> np.ndarray:
    """Append a progress bar (white on black) showing ``t`` of ``num_frames``.

    The bar is appended *below* the frame, so no content is hidden.
    """
    bar = np.zeros((bar_height, frame.shape[1], 3), dtype=np.uint8)
    filled = max(1, round(frame.shape[1] * (t + 1) / num_frames))
    bar[:, :filled] = 255
    return np.concatenate([frame, bar], axis=0)


def write_gif(frames: Sequence[np.ndarray], path: Union[str, Path],
              fps: float = 4.0, timeline: bool = True) -> Path:
    """Write an endlessly looping animated GIF, every frame ``1/fps`` s.

    Pillow collapses *identical* consecutive frames into one (adding up their
    durations); frame samplers repeat frames for short videos, and
    pseudo-videos may hold still, so by default a 3-pixel timeline bar is
    appended below each frame: it shows the position in the clip and keeps
    the GIF at exactly ``len(frames)`` frames (as long as the frame is at
    least ``len(frames)`` pixels wide).

    Args:
        frames (list[np.ndarray]): RGB frames (padded to a common size).
        path (str | Path): Output file.
        fps (float): Frames per second. Defaults to 4.
        timeline (bool): Append the timeline bar. Defaults to True.

    Returns:
        Path: ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = common_size(frames)
    images = []
    for t, frame in enumerate(frames):
        frame = pad_to(frame, height, width)
        if timeline:
            frame = with_timeline(frame, t, len(frames))
        images.append(Image.fromarray(frame))
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=max(int(round(1000 / fps)), 10),
        loop=0)
    return path


def check_fps(fps: float, what: str) -> float:
    """``fps`` as a positive finite float; ``ValueError`` naming ``what``
    otherwise."""
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f'{what}: fps must be a positive number, got {fps}')
    return fps


class Mp4Writer:
    """Stream RGB frames into an ``.mp4`` (``mp4v``) with ``cv2.VideoWriter``.

    The file is opened at construction (its folder is created); a writer
    that OpenCV cannot open raises ``OSError`` at once, an fps that is not
    a positive number ``ValueError``. The codec needs even sizes, so an odd
    height / width is zero-padded by one row / column at the bottom / right
    (:func:`pad_to`). Use as a context manager or call :meth:`close`.

    Args:
        path (str | Path): Output file.
        fps (float): Frame rate.
        height (int): Frame height.
        width (int): Frame width.
    """

    def __init__(self, path: Union[str, Path], fps: float, height: int,
                 width: int) -> None:
        self.path = Path(path)
        self.fps = check_fps(fps, str(path))
        self.height, self.width = int(height), int(width)
        self.out_height = self.height + self.height % 2
        self.out_width = self.width + self.width % 2
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(
            str(self.path), cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
            (self.out_width, self.out_height))
        if not self._writer.isOpened():
            self._writer.release()
            raise OSError(f'cv2.VideoWriter cannot open {self.path} for '
                          'writing (mp4v codec); use an .mp4 file in a '
                          'writable folder')
        self.num_frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append an RGB ``uint8`` frame ``(height, width, 3)``."""
        if self._writer is None:
            raise RuntimeError(f'{self.path} is closed')
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f'{self.path}: frame {self.num_frames} has shape '
                             f'{frame.shape}, expected ({self.height}, '
                             f'{self.width}, 3)')
        frame = np.asarray(frame, dtype=np.uint8)
        if (self.out_height, self.out_width) != (self.height, self.width):
            frame = pad_to(frame, self.out_height, self.out_width)
        self._writer.write(np.ascontiguousarray(frame[..., ::-1]))
        self.num_frames += 1

    def close(self) -> None:
        """Finish the file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> 'Mp4Writer':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_mp4(frames: Sequence[np.ndarray], path: Union[str, Path],
              fps: float = 4.0) -> Path:
    """Write an MP4 (``mp4v`` codec) with :class:`Mp4Writer`.

    Frames are zero-padded to a common even size (the codec drops an odd last
    row / column otherwise).

    Args:
        frames (list[np.ndarray]): RGB frames.
        path (str | Path): Output file.
        fps (float): Frames per second (positive). Defaults to 4.

    Returns:
        Path: ``path``.
    """
    height, width = common_size(frames, multiple=2)
    with Mp4Writer(path, fps, height, width) as writer:
        for frame in frames:
            writer.write(pad_to(frame, height, width))
    return writer.path


def write_rendered(rendered: RenderedSample,
                   prefix: Union[str, Path],
                   formats: Sequence[str] = ('png', ),
                   fps: float = 4.0) -> List[Path]:
    """Write a rendered sample in the requested formats.

    * image sample: always ``{prefix}.png`` only (an animation of one frame
      makes no sense, ``gif`` / ``mp4`` are ignored);
    * clip, ``png``: ``{prefix}_frame{t:02d}.png`` per frame and
      ``{prefix}_strip.png`` with all frames side by side;
    * clip, ``gif``: ``{prefix}.gif``; clip, ``mp4``: ``{prefix}.mp4``.

    Args:
        rendered (RenderedSample): Output of :func:`render_sample`.
        prefix (str | Path): Output path without suffix.
        formats (list[str]): Subset of :data:`FORMATS`. Defaults to png.
        fps (float): Frame rate of GIF / MP4. Defaults to 4.

    Returns:
        list[Path]: The written files.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f'unknown formats {sorted(unknown)}; use {FORMATS}')
    if not rendered.is_clip:
        return [write_png(rendered.frames[0], f'{prefix}.png')]
    written: List[Path] = []
    if 'png' in formats:
        written += write_frame_pngs(rendered.frames, prefix)
        written.append(write_strip_png(rendered.frames, f'{prefix}_strip.png'))
    if 'gif' in formats:
        written.append(write_gif(rendered.frames, f'{prefix}.gif', fps=fps))
    if 'mp4' in formats:
        written.append(write_mp4(rendered.frames, f'{prefix}.mp4', fps=fps))
    return written
