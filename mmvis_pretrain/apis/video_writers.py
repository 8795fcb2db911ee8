"""Video output of the VIS demo, written while the frames stream.

* :class:`Mp4Writer`: an ``.mp4`` (``mp4v`` codec, ``cv2.VideoWriter``),
  defined in :mod:`mmvis_pretrain.visualization.clip_writers` (also behind
  its ``write_mp4``) and re-exported here;
* :class:`IdPngWriter`: one PNG per frame (``000000.png``, ...) whose pixel
  value is the output track id (``1, 2, ...``), ``0`` is background;
* :class:`TracksJsonWriter`: the tracks with their per-frame RLE masks;
* :class:`TrackIdMap`: the output track ids, ``1, 2, ...`` in order of first
  appearance of the model's track ids (mmdet's trackers count from 0, which
  would be background in an id PNG);
* the demo writes them through :class:`~.staged_outputs.StagedOutputs`
  (outputs appear only on success).

:func:`encode_rle` (the tracks' RLEs) is
:func:`mmvis_pretrain.structures.mask_ops.encode_rle`, re-exported here and
in :mod:`mmvis_pretrain.apis`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..datasets.converters.id_png import MAX_PALETTE_INDEX, write_id_png
from ..evaluation.functional.video_track_results import VideoTrackResults
from ..structures.mask_ops import encode_rle
from ..visualization.clip_writers import Mp4Writer  # noqa: F401 (re-export)
from .video_sources import PathLike

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


class IdPngWriter:
    """One id PNG per frame: ``<out_dir>/<frame index:06d>.png``.

    Pixel value = output track id (``>= 1``), ``0`` = background. Written by
    :func:`~mmvis_pretrain.datasets.converters.id_png.write_id_png`, the
    converters' writer, in one of three formats:

    * ``'palette'``: 8-bit palette PNG, the ids as palette indices with the
      VOC / DAVIS colours (an image viewer shows each track in a colour;
      DAVIS / CVAT read them as instance masks); ids ``1..254`` (255 is
      DAVIS' void, which the PNG mask converter reads as background);
    * ``'16bit'``: 16-bit grey, ids ``1..65535`` (dark in a viewer);
    * ``'auto'`` (default): a palette PNG for every frame whose ids are all
      ``<= 254``, a 16-bit one for a frame with a larger id (a long video
      with many tracks), so each file holds its ids exactly.

    Read back with :func:`~mmvis_pretrain.datasets.converters.id_png.
    read_id_png` or ``np.array(PIL.Image.open(path))`` (both formats);
    ``cv2.imread`` turns palette PNGs into colour images. Where masks
    overlap, the higher scoring instance wins (masks are painted in
    ascending score order; without scores, later instances win).

    Args:
        out_dir (str | Path): Output folder (created).
        height (int): Frame height.
        width (int): Frame width.
        png_format (str): ``'auto'``, ``'palette'`` or ``'16bit'``.
    """

    FORMATS = ('auto', 'palette', '16bit')

    def __init__(self, out_dir: PathLike, height: int, width: int,
                 png_format: str = 'auto') -> None:
        if png_format not in self.FORMATS:
            raise ValueError(f'png_format must be one of {self.FORMATS}, '
                             f'got {png_format!r}')
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.height, self.width = int(height), int(width)
        self.png_format = png_format
        self.max_id = MAX_PALETTE_INDEX if png_format == 'palette' else 65535

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
            np.ndarray: ``(H, W)`` uint16 id image.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        masks = _check_masks(masks, len(ids), self.height, self.width,
                             str(self.out_dir))
        bad = ids[(ids < 1) | (ids > self.max_id)]
        if len(bad):
            raise ValueError(
                f'{self.out_dir}: ids {sorted(set(bad.tolist()))} do not fit '
                f'a {self.png_format} id PNG (1..{self.max_id}; 0 is '
                'background)' + ("; use png_format='auto' or '16bit'"
                                 if self.png_format == 'palette' else ''))
        order = np.arange(len(ids)) if scores is None else np.argsort(
            np.asarray(scores, dtype=np.float64).reshape(-1), kind='stable')
        out = np.zeros((self.height, self.width), dtype=np.uint16)
        for i in order:
            out[masks[i]] = ids[i]
        return out

    def write(self, frame_index: int, masks: np.ndarray, ids: Sequence[int],
              scores: Optional[Sequence[float]] = None) -> Path:
        """Write the id PNG of one frame; returns its path."""
        path = self.path(frame_index)
        id_map = self.id_map(masks, ids, scores)
        sixteen_bit = self.png_format == '16bit' or (
            self.png_format == 'auto' and id_map.size
            and int(id_map.max()) > MAX_PALETTE_INDEX)
        write_id_png(path, id_map, sixteen_bit=bool(sixteen_bit))
        return path


class TracksJsonWriter:
    """The demo's tracks as the official YouTube-VIS / OVIS results of the
    video, with a header, in one JSON file that ``eval_vis.py`` scores::

        {"video": {"id": 1, "name": <input>, "file_names": [...] | null,
                   "length": N, "height": H, "width": W, "fps": fps,
                   "skipped_frames": [...]},
         "categories": [{"id": 1, "name": "person"}, ...] | null,
         "results": [
           {"video_id": 1, "category_id": 2, "category": "dog",
            "score": 0.87, "track_id": 3,
            "segmentations": [{"size": [H, W], "counts": "..."} | null,
                              ...]},  # N entries, null where absent
           ...]}

    ``results`` is exactly what ``tools/test.py`` submits for the video
    (``VISMetric``), made by the same
    :class:`~mmvis_pretrain.evaluation.functional.VideoTrackResults`: a
    track's label and score are those of its last appearance (online models
    report their video-level values there), and a track with
    ``class_scores`` (CTVIS's rule) gives its best (track, class) pairs.
    ``category_id`` is ``label + 1`` (the ``categories`` list maps it to
    the class names; ``eval_vis.py`` maps names to the ground truth's ids);
    ``track_id`` is the output id (``1, 2, ...``, as in the id PNGs).
    ``skipped_frames`` lists the frames marked with :meth:`skip_frame`
    (frames that could not be decoded; null in every result). If a frame
    reports one id twice (mmdet's ``MaskTrackRCNNTracker`` can), its masks
    are merged (union) and the higher scoring label / score kept.

    Masks are RLE-encoded as frames arrive; the RLEs are kept in memory (a
    few hundred bytes per mask), the JSON is written by :meth:`close`.

    Args:
        path (str | Path): Output file (its folder is created).
        num_frames (int): Frames of the video ``N``.
        height (int): Frame height.
        width (int): Frame width.
        classes (Sequence[str], optional): Class names (``label`` indexes
            them).
        fps (float, optional): Frame rate, stored.
        video (str, optional): The input, stored as the video's name.
        frame_names (Sequence[str], optional): Source file per frame.
        video_id (int): ``video_id`` of the results (the ground truth's id
            of the video, to score it). Defaults to 1.
        topk (int, optional): Keep the best ``topk`` results. Default all.
        pairs_per_video (int, optional): Best (track, class) pairs kept for
            tracks with ``class_scores`` (default: as many as classes).
    """

    def __init__(self,
                 path: PathLike,
                 num_frames: int,
                 height: int,
                 width: int,
                 classes: Optional[Sequence[str]] = None,
                 fps: Optional[float] = None,
                 video: Optional[str] = None,
                 frame_names: Optional[Sequence[str]] = None,
                 video_id: int = 1,
                 topk: Optional[int] = None,
                 pairs_per_video: Optional[int] = None) -> None:
        if num_frames <= 0:
            raise ValueError(f'num_frames must be positive, got {num_frames}')
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.num_frames = int(num_frames)
        self.height, self.width = int(height), int(width)
        self.classes = None if classes is None else [str(c) for c in classes]
        self.video = dict(
            id=video_id,
            name=video,
            file_names=None if frame_names is None else
            [str(n) for n in frame_names],
            length=self.num_frames,
            height=self.height,
            width=self.width,
            fps=fps,
            skipped_frames=[])
        self.topk = topk
        self.pairs_per_video = pairs_per_video
        self._tracks: Optional[VideoTrackResults] = VideoTrackResults(
            video_id, self.num_frames, self.height, self.width)
        self._last_frame = -1

    def add_frame(self,
                  frame_index: int,
                  ids: Sequence[int],
                  labels: Sequence[int],
                  scores: Sequence[float],
                  masks: np.ndarray,
                  track_ids: Optional[Sequence[int]] = None,
                  class_scores: Optional[np.ndarray] = None) -> None:
        """Add the instances of one frame (frames in increasing order).

        Args:
            frame_index (int): ``0 <= frame_index < num_frames``.
            ids (Sequence[int]): Output ids ``(M,)``.
            labels (Sequence[int]): Labels ``(M,)``.
            scores (Sequence[float]): Scores ``(M,)``.
            masks (np.ndarray): Boolean masks ``(M, H, W)``.
            track_ids (Sequence[int], optional): The model's ids ``(M,)``.
                Unused (kept for the id map's callers). Defaults to ``ids``.
            class_scores (np.ndarray, optional): ``(M, K)`` video-level
                class scores (CTVIS's rule).
        """
        if self._tracks is None:
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
        if class_scores is not None:
            class_scores = np.asarray(class_scores, dtype=np.float64)
            if class_scores.ndim != 2 or len(class_scores) != len(ids):
                raise ValueError(
                    f'{self.path}: frame {frame_index}: class_scores of '
                    f'shape {class_scores.shape} for {len(ids)} instances')
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
            self._tracks.add_track(
                int(out_id), frame_index, rle, int(labels[row]),
                float(scores[row]),
                None if class_scores is None else class_scores[row])

    def skip_frame(self, frame_index: int) -> None:
        """Mark a frame as skipped (not decoded): listed in
        ``skipped_frames``, null in every result (frames in increasing
        order, as :meth:`add_frame`)."""
        if self._tracks is None:
            raise RuntimeError(f'{self.path} is closed')
        frame_index = int(frame_index)
        self._check_order(frame_index)
        self.video['skipped_frames'].append(frame_index)

    def _check_order(self, frame_index: int) -> None:
        if not self._last_frame < frame_index < self.num_frames:
            raise ValueError(
                f'{self.path}: frame {frame_index} after frame '
                f'{self._last_frame} (frames must increase, < '
                f'{self.num_frames})')
        self._last_frame = frame_index

    def results(self) -> List[dict]:
        """The official result entries of the video so far."""
        entries = self._tracks.to_results(self.topk,
                                          self.pairs_per_video)['entries']
        names = self.classes or []
        return [
            dict(
                video_id=self.video['id'],
                category_id=e['label'] + 1,
                category=names[e['label']]
                if 0 <= e['label'] < len(names) else None,
                score=e['score'],
                track_id=e['track_id'],
                segmentations=e['segmentations']) for e in entries
        ]

    def close(self) -> Path:
        """Write the JSON file."""
        if self._tracks is None:
            return self.path
        categories = None if self.classes is None else [
            dict(id=i + 1, name=name) for i, name in enumerate(self.classes)
        ]
        data = dict(video=self.video, categories=categories,
                    results=self.results())
        with open(self.path, 'w') as out:
            json.dump(data, out)
        self._tracks = None
        return self.path

    @property
    def num_tracks(self) -> int:
        """Tracks seen so far."""
        return 0 if self._tracks is None else len(self._tracks.tracks)

    def abort(self) -> None:
        """Forget the tracks without writing the JSON."""
        self._tracks = None

    def __enter__(self) -> 'TracksJsonWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

