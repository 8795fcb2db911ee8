"""Video input of the VIS demo and tools: frame sources.

Input: :func:`open_frame_source` turns a video file (any container OpenCV
reads: ``.mp4``, ``.avi``, ...), a folder of frames or a glob pattern into a
:class:`FrameSource`, which knows its length, frame size and frame rate and
yields BGR ``uint8`` frames ``(H, W, 3)`` one at a time (a video is never
loaded whole).

* **video file**: length, size and fps come from the container;
* **folder**: the image files directly in it (extensions of mmdet's
  ``IMG_EXTENSIONS``, any case; other files and hidden ``.*`` files are
  ignored) in *natural* order (``f2.jpg`` before ``f10.jpg``, see
  :func:`natural_sort_key`);
* **glob pattern** (``'frames/*.jpg'``, ``'**'`` recurses): the matching image
  files in natural order of their paths;
* a single image file is a 1-frame sequence.

Frame folders have no frame rate: it is the ``fps`` argument, by default
:data:`DEFAULT_FPS` (25).

**Undecodable frames.** Iterating a source stops at the first frame that
cannot be decoded with a :class:`FrameDecodeError` (an ``OSError``) naming
the frame index and the file. :meth:`FrameSource.iter_frames` with
``skip_bad_frames=True`` leaves such frames out instead and reports them;
it yields ``(index, frame)`` so the indices of the frames that remain are
known. What counts as undecodable:

* in a frame folder / pattern: a file whose header cannot be read (found
  when the source is opened; with ``skip_bad_frames`` the source opens
  anyway) or whose pixels cannot be decoded (``cv2.imdecode`` fails);
* in a video file: a frame ``cv2.VideoCapture.read()`` does not return
  although the container's frame count says that more frames exist. The
  index is the read position. OpenCV can swallow the damaged data of
  several frames in one ``read()`` and return a later frame; after a
  failure the source compares the decoded frame's timestamp with its read
  position and warns if they disagree (the skipped indices may then be
  off, their number is right).

A frame that is damaged but still decodes is returned without any signal:
OpenCV reports none (FFmpeg conceals the damage and only logs it on
stderr). See ``docs/video_demo.md``.
"""
from __future__ import annotations

import glob
import math
import os
import os.path as osp
import re
import warnings
from abc import ABCMeta, abstractmethod
from pathlib import Path
from typing import (Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import cv2
import numpy as np
from mmdet.utils.misc import IMG_EXTENSIONS
from PIL import Image

# the fps check of the sources and of the MP4 writer
from ..visualization.clip_writers import check_fps as _check_fps


#: Frame rate of frame folders and glob patterns when none is given.
DEFAULT_FPS = 25.0

#: EXIF orientations that swap width and height (OpenCV applies them).
_EXIF_TRANSPOSED = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112
_GLOB_CHARS = ('*', '?', '[')

PathLike = Union[str, Path]


# --------------------------------------------------------------------------
# natural sort
# --------------------------------------------------------------------------
def natural_sort_key(text: str) -> Tuple:
    """Sort key that orders digit runs by value: ``f2`` < ``f10``.

    The text is split into alternating non-digit / digit runs; non-digit runs
    compare case-insensitively, digit runs as integers. Ties (``f01`` vs
    ``f1``, ``A`` vs ``a``) are broken by the plain string, so the order is
    total and deterministic.

    Args:
        text (str): A file name or path.

    Returns:
        tuple: The key.
    """
    parts = re.split(r'(\d+)', str(text))
    key = tuple(
        int(part) if i % 2 else part.casefold()
        for i, part in enumerate(parts))
    return key, str(text)


def natural_sorted(names: Sequence[str]) -> List[str]:
    """``names`` in natural order (see :func:`natural_sort_key`)."""
    return sorted(names, key=natural_sort_key)


def is_image_file(name: str) -> bool:
    """Whether ``name`` has an image extension (mmdet's, any case)."""
    return osp.splitext(name)[1].lower() in IMG_EXTENSIONS


# --------------------------------------------------------------------------
# frame sources
# --------------------------------------------------------------------------
class FrameDecodeError(OSError):
    """A frame that cannot be read or decoded.

    Attributes:
        index (int): The frame index (0-based) in its source.
        name (str): The frame's file (frame folders) or the video file.
    """

    def __init__(self, message: str, index: int, name: str) -> None:
        super().__init__(message)
        self.index = int(index)
        self.name = str(name)

    def __str__(self) -> str:
        return self.args[0]


#: What :meth:`FrameSource._decode` yields per frame: the frame or the
#: reason it cannot be decoded.
Decoded = Tuple[int, Union[np.ndarray, FrameDecodeError]]


class FrameSource(metaclass=ABCMeta):
    """A video as a sequence of BGR ``uint8`` frames ``(H, W, 3)``.

    Iterating yields the frames one at a time (every iteration starts again
    at the first frame) and raises :class:`FrameDecodeError` at the first
    frame that cannot be decoded; :meth:`iter_frames` can skip such frames.
    ``len()`` is the number of frames.

    Attributes:
        path (str): The input (file, folder or pattern).
        length (int): Number of frames.
        height (int): Frame height.
        width (int): Frame width.
        fps (float): Frame rate.
        frame_names (list[str] | None): The file of every frame for image
            sequences, None for video files.
    """

    def __init__(self, path: str, length: int, height: int, width: int,
                 fps: float, frame_names: Optional[List[str]]) -> None:
        self.path = path
        self.length = length
        self.height = height
        self.width = width
        self.fps = fps
        self.frame_names = frame_names

    def __len__(self) -> int:
        return self.length

    @property
    def size(self) -> Tuple[int, int]:
        """``(height, width)`` of the frames."""
        return self.height, self.width

    @abstractmethod
    def _decode(self) -> Iterator[Decoded]:
        """Yield ``(index, frame)`` for every frame, in order, with a
        :class:`FrameDecodeError` in place of a frame that cannot be
        decoded."""

    def iter_frames(self,
                    skip_bad_frames: bool = False,
                    skipped: Optional[List[FrameDecodeError]] = None
                    ) -> Iterator[Tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for the frames, in order.

        Args:
            skip_bad_frames (bool): Leave out the frames that cannot be
                decoded (their index is missing from the output) instead of
                raising. Defaults to False.
            skipped (list, optional): With ``skip_bad_frames``, the
                :class:`FrameDecodeError` of every skipped frame is appended
                here as it is met.

        Raises:
            FrameDecodeError: Without ``skip_bad_frames``, at the first frame
                that cannot be decoded.
            ValueError: A decoded frame of another size than the source's.
        """
        for index, item in self._decode():
            if isinstance(item, FrameDecodeError):
                if not skip_bad_frames:
                    raise item
                if skipped is not None:
                    skipped.append(item)
                continue
            yield index, item

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield the BGR frames in order (an error at an undecodable one)."""
        for _, frame in self.iter_frames():
            yield frame

    def _check_frame(self, frame: np.ndarray, index: int, name: str) -> None:
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(
                f'{name}: frame {index} has shape {frame.shape}, but the '
                f'frames of {self.path} are {self.height}x{self.width} '
                '(height x width, 3 channels)')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.path!r}, {self.length} frames, '
                f'{self.width}x{self.height}, {self.fps:g} fps)')


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded by ``cv2.VideoCapture``.

    Length, size and fps are the container's. A container without a frame
    count is counted once by grabbing every frame. Iteration stops after
    ``length`` frames; a frame that cannot be decoded before that (a
    ``read()`` that fails) raises :class:`FrameDecodeError` naming the file
    and the frame index, or is skipped (:meth:`FrameSource.iter_frames`).
    ``read()`` is called ``length`` times whatever fails; after a failure
    the timestamp of the next decoded frame is compared with its read
    position and a warning is given if OpenCV returned a later frame
    (then the indices of skipped frames are read positions, not the
    damaged frames' own).

    Args:
        path (str): Video file.
        fps (float, optional): Override of the container's frame rate (also
            used when the container has none; then :data:`DEFAULT_FPS`).
    """

    def __init__(self, path: PathLike, fps: Optional[float] = None) -> None:
        path = str(path)
        cap = self._open(path)
        try:
            length = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            container_fps = cap.get(cv2.CAP_PROP_FPS)
            if length <= 0:
                length = 0
                while cap.grab():
                    length += 1
        finally:
            cap.release()
        self.container_fps = float(container_fps) if math.isfinite(
            container_fps) and container_fps > 0 else None
        if length <= 0 or width <= 0 or height <= 0:
            raise OSError(f'{path}: OpenCV reads no frames from this video '
                          f'({length} frames of {width}x{height})')
        if fps is None:
            if not (math.isfinite(container_fps) and container_fps > 0):
                warnings.warn(f'{path}: the container has no frame rate, '
                              f'using {DEFAULT_FPS:g} fps')
                container_fps = DEFAULT_FPS
            fps = container_fps
        super().__init__(path, length, height, width, _check_fps(fps, path),
                         None)

    @staticmethod
    def _open(path: str) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            cap.release()
            raise OSError(f'OpenCV cannot open the video {path}')
        return cap

    def _decode(self) -> Iterator[Decoded]:
        cap = self._open(self.path)
        try:
            check_position = False  # after a failed read
            for index in range(self.length):
                ok, frame = cap.read()
                if not ok or frame is None:
                    check_position = True
                    yield index, FrameDecodeError(
                        f'{self.path}: cannot decode frame {index} (the '
                        f'container reports {self.length} frames)', index,
                        self.path)
                    continue
                if check_position:
                    check_position = False
                    self._warn_if_moved(cap, index)
                self._check_frame(frame, index, self.path)
                yield index, frame
        finally:
            cap.release()

    def _warn_if_moved(self, cap: cv2.VideoCapture, index: int) -> None:
        """Warn if the frame just read at ``index`` has the timestamp of a
        later frame (OpenCV swallowed the data of undecodable frames)."""
        if self.container_fps is None:
            return
        seconds = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
        actual = int(round(seconds * self.container_fps))
        if actual > index:
            warnings.warn(
                f'{self.path}: the frame read at position {index} has the '
                f'timestamp of frame {actual} ({seconds:g} s at '
                f'{self.container_fps:g} fps): OpenCV seems to have dropped '
                'the data of undecodable frames in that read, so the '
                'indices of the frames skipped before it are read positions '
                'and may be off (their number is right)')


def _image_size(path: str) -> Tuple[int, int]:
    """``(height, width)`` of an image from its header, as OpenCV decodes it
    (the EXIF orientations 5-8 of a JPEG swap the two; they are in its
    header, whereas reading the EXIF of other formats may decode the whole
    file)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = 1
            if img.format == 'JPEG':
                orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError) as e:
        raise OSError(f'cannot read the image {path}: {e}') from e
    if orientation in _EXIF_TRANSPOSED:
        width, height = height, width
    return height, width


class ImageSequenceSource(FrameSource):
    """Frames stored as image files, decoded by OpenCV one at a time.

    Every header is read when the source is opened, so an unreadable file or
    one of another size fails at once, naming the file (and the frame). A
    file whose pixels cannot be decoded fails when its frame is reached
    (:class:`FrameDecodeError` with the frame index and the file).

    Args:
        files (list[str]): The frame files, in frame order.
        fps (float, optional): Frame rate. Defaults to :data:`DEFAULT_FPS`.
        path (str, optional): The input they came from (for messages).
        skip_bad_frames (bool): Open even if some headers cannot be read:
            those frames count (``len``, ``frame_names``) but are reported
            as undecodable when reached (skipped by
            ``iter_frames(skip_bad_frames=True)``). Defaults to False.
    """

    def __init__(self, files: Sequence[str], fps: Optional[float] = None,
                 path: Optional[str] = None,
                 skip_bad_frames: bool = False) -> None:
        files = [str(f) for f in files]
        path = path or (files[0] if files else '')
        if not files:
            raise ValueError(f'{path}: no image files')
        #: frame index -> error of the files whose header cannot be read
        self._bad_headers: Dict[int, FrameDecodeError] = {}
        first, size0 = None, None
        for index, name in enumerate(files):
            try:
                size = _image_size(name)
            except OSError as e:
                error = FrameDecodeError(
                    f'cannot read the image {name} (frame {index} of '
                    f'{path}): {e.__cause__ or e}', index, name)
                if not skip_bad_frames:
                    raise error from e
                self._bad_headers[index] = error
                continue
            if first is None:
                first, size0 = name, size
            elif size != size0:
                raise ValueError(
                    f'{path}: frames of different sizes: {first} is '
                    f'{size0[0]}x{size0[1]} but {name} is {size[0]}x'
                    f'{size[1]} (height x width)')
        if first is None:
            raise ValueError(f'{path}: none of its {len(files)} image files '
                             'can be read')
        fps = DEFAULT_FPS if fps is None else fps
        super().__init__(path, len(files), size0[0], size0[1],
                         _check_fps(fps, path), files)

    def _decode(self) -> Iterator[Decoded]:
        for index, name in enumerate(self.frame_names):
            if index in self._bad_headers:
                yield index, self._bad_headers[index]
                continue
            try:
                data = np.fromfile(name, dtype=np.uint8)
            except OSError as e:
                yield index, FrameDecodeError(
                    f'cannot read frame {index}: {name}: {e}', index, name)
                continue
            frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
            if frame is None:
                yield index, FrameDecodeError(
                    f'cannot decode frame {index}: {name}', index, name)
                continue
            self._check_frame(frame, index, name)
            yield index, frame


def list_image_files(folder: PathLike) -> List[str]:
    """Image files directly in ``folder`` in natural order of their names
    (hidden ``.*`` files and non-image files ignored)."""
    names = [
        entry.name for entry in os.scandir(folder)
        if entry.is_file() and not entry.name.startswith('.')
        and is_image_file(entry.name)
    ]
    return [osp.join(str(folder), name) for name in natural_sorted(names)]


def open_frame_source(path: PathLike,
                      fps: Optional[float] = None,
                      skip_bad_frames: bool = False) -> FrameSource:
    """Open a video file, a frame folder, a glob pattern or an image.

    Args:
        path (str | Path): The input.
        fps (float, optional): Frame rate: for folders / patterns / images
            it defaults to :data:`DEFAULT_FPS`; for video files it overrides
            the container's rate.
        skip_bad_frames (bool): For folders / patterns: open even if some
            image headers cannot be read (see :class:`ImageSequenceSource`).
            Defaults to False.

    Returns:
        FrameSource: The frames.

    Raises:
        FileNotFoundError: ``path`` does not exist (and is no pattern).
        ValueError: no image in the folder / matching the pattern, or frames
            of different sizes.
        OSError: an unreadable video or image (:class:`FrameDecodeError`
            for a frame of a folder / pattern, naming the frame index).
    """
    path = str(path)
    if osp.isdir(path):
        files = list_image_files(path)
        if not files:
            raise ValueError(f'the folder {path} holds no image files '
                             f'(extensions {", ".join(IMG_EXTENSIONS)})')
        return ImageSequenceSource(files, fps=fps, path=path,
                                   skip_bad_frames=skip_bad_frames)
    if osp.isfile(path):
        if is_image_file(path):
            return ImageSequenceSource([path], fps=fps, path=path)
        return VideoFileSource(path, fps=fps)
    if any(c in path for c in _GLOB_CHARS):
        files = [
            f for f in glob.glob(path, recursive=True)
            if osp.isfile(f) and is_image_file(f)
            and not osp.basename(f).startswith('.')
        ]
        if not files:
            raise ValueError(f'no image files match the pattern {path}')
        return ImageSequenceSource(natural_sorted(files), fps=fps, path=path,
                                   skip_bad_frames=skip_bad_frames)
    raise FileNotFoundError(f'no such video file, frame folder or pattern: '
                            f'{path}')
