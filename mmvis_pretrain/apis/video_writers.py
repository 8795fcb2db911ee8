"""Video output of the VIS demo, written while the frames stream.

* :class:`Mp4Writer`: an ``.mp4`` (``mp4v`` codec, ``cv2.VideoWriter``);
* :class:`IdPngWriter`: one PNG per frame (``000000.png``, ...) whose pixel
  value is the output track id (``1, 2, ...``), ``0`` is background;
* :class:`TracksJsonWriter`: the tracks with their per-frame RLE masks;
* :class:`TrackIdMap`: the output track ids, ``1, 2, ...`` in order of first
  appearance of the model's track ids (mmdet's trackers count from 0, which
  would be background in an id PNG);
* :func:`check_output_file` / :func:`check_output_folder`: output paths
  checked before any work (:class:`OutputPathError` naming the option);
* :class:`StagedOutputs`: outputs written to temporaries next to their
  destinations and moved into place only on success, so a failed run leaves
  neither a partial output nor a damaged earlier one.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_util

from ..visualization.clip_writers import pad_to
from .video_sources import PathLike, _check_fps

# --------------------------------------------------------------------------
# output track ids
# --------------------------------------------------------------------------
class TrackIdMap:
    """Maps a model's track ids to output ids ``1, 2, ...``.

    Ids are given in order of first appearance, so the outputs of a video
    are compact whatever the tracker's numbering (mmdet's trackers start at
    0, which is the background of an id PNG, and also number the tracks that
    never pass the score threshold).
    """

    def __init__(self) -> None:
        self._ids: Dict[int, int] = {}

    def __call__(self, track_ids: Sequence[int]) -> np.ndarray:
        """Output ids ``(M,)`` int64 of the model's ids ``(M,)``."""
        out = []
        for track_id in np.asarray(track_ids).reshape(-1).tolist():
            track_id = int(track_id)
            if track_id not in self._ids:
                self._ids[track_id] = len(self._ids) + 1
            out.append(self._ids[track_id])
        return np.asarray(out, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def mapping(self) -> Dict[int, int]:
        """``{model track id: output id}``."""
        return dict(self._ids)


# --------------------------------------------------------------------------
# output paths and staged outputs
# --------------------------------------------------------------------------
class OutputPathError(ValueError):
    """An output path that cannot be used; the message starts with the
    option (``--out``, ...) and the path."""


#: Names of the files :class:`IdPngWriter` writes (``000000.png``, ...).
ID_PNG_NAME = re.compile(r'\d{6,}\.png')


def _check_parent(path: Path, where: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder
    (missing folders below it are created when the output is staged)."""
    ancestor = Path(osp.abspath(path)).parent
    while not osp.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f'{where}: cannot be written: {ancestor} is a '
                              'file, not a folder')
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f'{where}: cannot be written: the folder '
                              f'{ancestor} is not writable')


def check_output_file(path: PathLike, option: str,
                      extensions: Optional[Sequence[str]] = None) -> Path:
    """Check an output file path before any work is done.

    The path must not be a folder (an existing file is fine: it is replaced
    on success), its extension one of ``extensions`` (any case), and its
    nearest existing ancestor a writable folder (missing folders are made
    when the output is staged).

    Args:
        path (str | Path): The output file.
        option (str): The option it came from, for messages (``--json``).
        extensions (Sequence[str], optional): Allowed extensions with the
            dot (``('.mp4', )``). Defaults to any.

    Returns:
        Path: ``path``.

    Raises:
        OutputPathError: ``"<option> <path>: <reason>"``.
    """
    path = Path(path)
    where = f'{option} {path}'
    if extensions is not None and \
            path.suffix.lower() not in [e.lower() for e in extensions]:
        raise OutputPathError(
            f'{where}: unsupported extension {path.suffix or "(none)"} '
            f'(use {" or ".join(extensions)})')
    if path.is_dir():
        raise OutputPathError(f'{where}: is a folder')
    if osp.lexists(path) and not path.is_file():
        raise OutputPathError(f'{where}: is not a regular file')
    _check_parent(path, where)
    return path


def check_output_folder(
        path: PathLike, option: str,
        is_own_file: Callable[[str], bool] = lambda name: bool(
            ID_PNG_NAME.fullmatch(name))) -> Path:
    """Check an output folder path before any work is done.

    The path must not be a file. An existing folder must be empty or hold
    only files of an earlier run (``is_own_file(name)``, by default id PNGs
    ``000000.png``, ...): it is replaced as a whole on success; anything
    else in it (other files, subfolders) is refused rather than deleted.
    Its nearest existing ancestor must be a writable folder.

    Args:
        path (str | Path): The output folder.
        option (str): The option it came from, for messages (``--png-dir``).
        is_own_file (Callable[[str], bool]): Whether a file name is one an
            earlier run wrote.

    Returns:
        Path: ``path``.

    Raises:
        OutputPathError: ``"<option> <path>: <reason>"``.
    """
    path = Path(path)
    where = f'{option} {path}'
    if osp.lexists(path) and not path.is_dir():
        raise OutputPathError(f'{where}: is a file')
    if path.is_dir():
        foreign = sorted(
            entry.name for entry in os.scandir(path)
            if not (entry.is_file(follow_symlinks=False)
                    and is_own_file(entry.name)))
        if foreign:
            shown = ', '.join(foreign[:5]) + (', ...' if len(foreign) > 5
                                              else '')
            raise OutputPathError(
                f'{where}: holds files that are not id PNGs of an earlier '
                f'run ({shown}); give an empty or a new folder')
    _check_parent(path, where)
    return path


def _umask() -> int:
    """The process umask (read without changing it where Linux allows)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class StagedOutputs:
    """Outputs written to temporaries and moved into place only on success.

    :meth:`file` / :meth:`folder` give a hidden temporary next to the
    destination (``.<name>.<random>.tmp<ext>``, in the same folder so that
    the final move is a rename on the same file system); missing parent
    folders are made. :meth:`commit` moves every temporary onto its
    destination (``os.replace`` for files: atomic, an existing file is
    replaced; an existing folder is renamed aside, the new one renamed in,
    then the old one deleted) and gives them the permissions of a normally
    created file / folder. :meth:`discard` deletes the temporaries and the
    folders made for them, leaving existing outputs untouched. As a context
    manager, whatever is not committed is discarded on exit (also on an
    exception or ``KeyboardInterrupt``).
    """

    def __init__(self) -> None:
        self._files: List[Tuple[Path, Path]] = []
        self._folders: List[Tuple[Path, Path]] = []
        self._made: List[Path] = []  # in the order they were made

    def _make_parents(self, dest: Path) -> None:
        missing = []
        parent = Path(osp.abspath(dest)).parent
        while not osp.lexists(parent):
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            self._made.append(folder)

    def file(self, dest: PathLike) -> Path:
        """A new empty temporary file for ``dest`` (same extension)."""
        dest = Path(dest)
        self._make_parents(dest)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{dest.stem}.', suffix=f'.tmp{dest.suffix}',
            dir=Path(osp.abspath(dest)).parent)
        os.close(fd)
        self._files.append((Path(tmp), dest))
        return Path(tmp)

    def folder(self, dest: PathLike) -> Path:
        """A new empty temporary folder for ``dest``."""
        dest = Path(dest)
        self._make_parents(dest)
        tmp = Path(
            tempfile.mkdtemp(prefix=f'.{dest.name}.', suffix='.tmp',
                             dir=Path(osp.abspath(dest)).parent))
        self._folders.append((tmp, dest))
        return tmp

    def commit(self) -> None:
        """Move every temporary onto its destination."""
        umask = _umask()
        for tmp, dest in self._folders:
            os.chmod(tmp, 0o777 & ~umask)
            if osp.lexists(dest):
                old = dest.parent / f'.{dest.name}.{uuid.uuid4().hex}.old'
                os.rename(dest, old)
                try:
                    os.rename(tmp, dest)
                except BaseException:
                    os.rename(old, dest)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, dest)
        self._folders = []
        for tmp, dest in self._files:
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, dest)
        self._files = []
        self._made = []

    def discard(self) -> None:
        """Delete the temporaries and the folders made for them."""
        for tmp, _ in self._files:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        for tmp, _ in self._folders:
            shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(self._made):
            try:
                folder.rmdir()  # only if empty: never anything else's
            except OSError:
                pass
        self._files, self._folders, self._made = [], [], []

    def __enter__(self) -> 'StagedOutputs':
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def _check_masks(masks: np.ndarray, num: int, height: int, width: int,
                 where: str) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[0] != num or masks.shape[1:] != (
            height, width):
        raise ValueError(f'{where}: masks must have shape ({num}, {height}, '
                         f'{width}), got {masks.shape}')
    return masks.astype(bool, copy=False)


class Mp4Writer:
    """Stream RGB frames into an ``.mp4`` (``mp4v``) with ``cv2.VideoWriter``.

    The file is opened at construction (its folder is created); a writer
    that OpenCV cannot open raises ``OSError`` at once. The codec needs even
    sizes, so an odd height / width is zero-padded by one row / column at
    the bottom / right. Use as a context manager or call :meth:`close`.

    Args:
        path (str | Path): Output file.
        fps (float): Frame rate.
        height (int): Frame height.
        width (int): Frame width.
    """

    def __init__(self, path: PathLike, fps: float, height: int,
                 width: int) -> None:
        self.path = Path(path)
        self.fps = _check_fps(fps, str(path))
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
        frame = pad_to(np.asarray(frame, dtype=np.uint8), self.out_height,
                       self.out_width)
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


class IdPngWriter:
    """One id PNG per frame: ``<out_dir>/<frame index:06d>.png``.

    Pixel value = output track id (``>= 1``), ``0`` = background; 16-bit
    grey PNGs hold ids up to 65535, 8-bit ones up to 255. Where masks
    overlap, the higher scoring instance wins (masks are painted in
    ascending score order; without scores, later instances win). Read back
    with ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` or ``PIL.Image.open``.

    Args:
        out_dir (str | Path): Output folder (created).
        height (int): Frame height.
        width (int): Frame width.
        bit_depth (int): 16 or 8. Defaults to 16.
    """

    def __init__(self, out_dir: PathLike, height: int, width: int,
                 bit_depth: int = 16) -> None:
        if bit_depth not in (8, 16):
            raise ValueError(f'bit_depth must be 8 or 16, got {bit_depth}')
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.height, self.width = int(height), int(width)
        self.dtype = np.uint16 if bit_depth == 16 else np.uint8
        self.max_id = int(np.iinfo(self.dtype).max)

    def path(self, frame_index: int) -> Path:
        """The PNG of frame ``frame_index``."""
        return self.out_dir / f'{int(frame_index):06d}.png'

    def id_map(self, masks: np.ndarray, ids: Sequence[int],
               scores: Optional[Sequence[float]] = None) -> np.ndarray:
        """Paint the masks into an id image.

        Args:
            masks (np.ndarray): Boolean masks ``(M, H, W)``.
            ids (Sequence[int]): Output ids ``(M,)``, ``1 <= id <= max_id``.
            scores (Sequence[float], optional): Scores ``(M,)``.

        Returns:
            np.ndarray: ``(H, W)`` id image of the writer's dtype.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        masks = _check_masks(masks, len(ids), self.height, self.width,
                             str(self.out_dir))
        bad = ids[(ids < 1) | (ids > self.max_id)]
        if len(bad):
            raise ValueError(
                f'{self.out_dir}: ids {sorted(set(bad.tolist()))} do not fit '
                f'a {8 * self.dtype().itemsize}-bit id PNG (1..{self.max_id}'
                '; 0 is background)')
        order = np.arange(len(ids)) if scores is None else np.argsort(
            np.asarray(scores, dtype=np.float64).reshape(-1), kind='stable')
        out = np.zeros((self.height, self.width), dtype=self.dtype)
        for i in order:
            out[masks[i]] = ids[i]
        return out

    def write(self, frame_index: int, masks: np.ndarray, ids: Sequence[int],
              scores: Optional[Sequence[float]] = None) -> Path:
        """Write the id PNG of one frame; returns its path."""
        path = self.path(frame_index)
        if not cv2.imwrite(str(path), self.id_map(masks, ids, scores)):
            raise OSError(f'could not write {path}')
        return path


def encode_rle(masks: np.ndarray) -> List[dict]:
    """COCO RLEs of boolean masks ``(M, H, W)`` with ``str`` counts.

    Returns:
        list[dict]: ``{'size': [H, W], 'counts': str}`` per mask.
    """
    masks = np.asarray(masks, dtype=bool)
    if len(masks) == 0:
        return []
    rles = mask_util.encode(
        np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [
        dict(size=[int(s) for s in rle['size']],
             counts=rle['counts'].decode('ascii')) for rle in rles
    ]


class TracksJsonWriter:
    """Stream tracks with per-frame RLE masks into a JSON file.

    :meth:`add_frame` RLE-encodes the frame's masks at once and appends them
    to an anonymous spool file (in the output's folder); in memory stay only, per track, its label,
    score and the (frame, offset) of its RLEs, not the masks. :meth:`close`
    writes the JSON::

        {"video": <input>, "height": H, "width": W, "fps": fps,
         "num_frames": N, "classes": [...] | null,
         "frame_names": [...] | null, "skipped_frames": [...],
         "tracks": [
           {"id": 1, "track_id": <model's id>, "label": 2,
            "category": "dog", "score": 0.87,
            "first_frame": 0, "last_frame": 5, "num_frames": 4,
            "segmentations": [{"size": [H, W], "counts": "..."} | null,
                              ...]},  # N entries, null where absent
           ...]}

    ``label`` / ``score`` are those of the track's last appearance (online
    VIS models report the track's video-level values there).
    ``skipped_frames`` lists the frames marked with :meth:`skip_frame`
    (frames that could not be decoded; their segmentations are null). If a
    frame reports one id twice (mmdet's ``MaskTrackRCNNTracker`` can), its
    masks are merged (union) and the higher scoring label / score kept.

    Args:
        path (str | Path): Output file (its folder is created).
        num_frames (int): Frames of the video ``N``.
        height (int): Frame height.
        width (int): Frame width.
        classes (Sequence[str], optional): Class names (``label`` indexes
            them).
        fps (float, optional): Frame rate, stored.
        video (str, optional): The input, stored.
        frame_names (Sequence[str], optional): Source file per frame.
    """

    def __init__(self,
                 path: PathLike,
                 num_frames: int,
                 height: int,
                 width: int,
                 classes: Optional[Sequence[str]] = None,
                 fps: Optional[float] = None,
                 video: Optional[str] = None,
                 frame_names: Optional[Sequence[str]] = None) -> None:
        if num_frames <= 0:
            raise ValueError(f'num_frames must be positive, got {num_frames}')
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.num_frames = int(num_frames)
        self.height, self.width = int(height), int(width)
        self.classes = None if classes is None else [str(c) for c in classes]
        self.header = dict(
            video=video,
            height=self.height,
            width=self.width,
            fps=fps,
            num_frames=self.num_frames,
            classes=self.classes,
            frame_names=None if frame_names is None else
            [str(n) for n in frame_names],
            skipped_frames=[])
        # next to the output: the user chose that file system for the data
        self._spool = tempfile.TemporaryFile(
            mode='w+b', dir=self.path.parent)
        # out id -> dict(track_id, label, score, frames=[(t, offset, size)])
        self._tracks: Dict[int, dict] = {}
        self._last_frame = -1

    def add_frame(self,
                  frame_index: int,
                  ids: Sequence[int],
                  labels: Sequence[int],
                  scores: Sequence[float],
                  masks: np.ndarray,
                  track_ids: Optional[Sequence[int]] = None) -> None:
        """Add the instances of one frame (frames in increasing order).

        Args:
            frame_index (int): ``0 <= frame_index < num_frames``.
            ids (Sequence[int]): Output ids ``(M,)``.
            labels (Sequence[int]): Labels ``(M,)``.
            scores (Sequence[float]): Scores ``(M,)``.
            masks (np.ndarray): Boolean masks ``(M, H, W)``.
            track_ids (Sequence[int], optional): The model's ids ``(M,)``
                (stored as ``track_id``). Defaults to ``ids``.
        """
        if self._spool is None:
            raise RuntimeError(f'{self.path} is closed')
        frame_index = int(frame_index)
        self._check_order(frame_index)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        track_ids = ids if track_ids is None else np.asarray(
            track_ids, dtype=np.int64).reshape(-1)
        if not len(ids) == len(labels) == len(scores) == len(track_ids):
            raise ValueError(f'{self.path}: frame {frame_index}: ids, labels,'
                             ' scores and track_ids differ in length')
        masks = _check_masks(masks, len(ids), self.height, self.width,
                             f'{self.path}: frame {frame_index}')
        uniq = np.unique(ids)
        merged = np.zeros((len(uniq), self.height, self.width), dtype=bool)
        best = []
        for k, out_id in enumerate(uniq):
            rows = np.nonzero(ids == out_id)[0]
            merged[k] = masks[rows].any(axis=0)
            best.append(rows[np.argmax(scores[rows])])
        for out_id, row, rle in zip(uniq, best, encode_rle(merged)):
            data = json.dumps(rle, separators=(',', ':')).encode('ascii')
            offset = self._spool.seek(0, os.SEEK_END)
            self._spool.write(data)
            track = self._tracks.setdefault(
                int(out_id), dict(track_id=int(track_ids[row]), frames=[]))
            track['label'] = int(labels[row])
            track['score'] = float(scores[row])
            track['frames'].append((frame_index, offset, len(data)))

    def skip_frame(self, frame_index: int) -> None:
        """Mark a frame as skipped (not decoded): listed in
        ``skipped_frames``, null in every track (frames in increasing order,
        as :meth:`add_frame`)."""
        if self._spool is None:
            raise RuntimeError(f'{self.path} is closed')
        frame_index = int(frame_index)
        self._check_order(frame_index)
        self.header['skipped_frames'].append(frame_index)

    def _check_order(self, frame_index: int) -> None:
        if not self._last_frame < frame_index < self.num_frames:
            raise ValueError(
                f'{self.path}: frame {frame_index} after frame '
                f'{self._last_frame} (frames must increase, < '
                f'{self.num_frames})')
        self._last_frame = frame_index

    def _category(self, label: int) -> Optional[str]:
        if self.classes is not None and 0 <= label < len(self.classes):
            return self.classes[label]
        return None

    def _write_track(self, out, out_id: int, track: dict) -> None:
        frames = track['frames']
        head = dict(
            id=out_id,
            track_id=track['track_id'],
            label=track['label'],
            category=self._category(track['label']),
            score=track['score'],
            first_frame=frames[0][0],
            last_frame=frames[-1][0],
            num_frames=len(frames))
        out.write(json.dumps(head)[:-1] + ', "segmentations": [')
        by_frame = {t: (offset, size) for t, offset, size in frames}
        for t in range(self.num_frames):
            if t:
                out.write(', ')
            if t in by_frame:
                offset, size = by_frame[t]
                self._spool.seek(offset)
                out.write(self._spool.read(size).decode('ascii'))
            else:
                out.write('null')
        out.write(']}')

    def close(self) -> Path:
        """Write the JSON file (tracks by id) and drop the spool file."""
        if self._spool is None:
            return self.path
        try:
            with open(self.path, 'w') as out:
                out.write(json.dumps(self.header)[:-1] + ', "tracks": [')
                for k, out_id in enumerate(sorted(self._tracks)):
                    out.write(',\n' if k else '\n')
                    self._write_track(out, out_id, self._tracks[out_id])
                out.write('\n]}\n')
        finally:
            self._spool.close()
            self._spool = None
        return self.path

    @property
    def num_tracks(self) -> int:
        """Tracks seen so far."""
        return len(self._tracks)

    def abort(self) -> None:
        """Drop the spool file without writing the JSON."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def __enter__(self) -> 'TracksJsonWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Write the JSON, unless the block failed (then write nothing)."""
        if exc_type is None:
            self.close()
        else:
            self.abort()
