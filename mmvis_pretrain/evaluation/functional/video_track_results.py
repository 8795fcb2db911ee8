"""The tracks of one video, gathered frame by frame, as result entries."""
from typing import Dict, Optional

import numpy as np


class VideoTrackResults:
    """The tracks of one video gathered frame by frame, and the video's
    results (the package's online protocol).

    Per track: its RLE per frame and the label, score and optional
    ``class_scores`` (K,) of its **last** appearance (online models report
    their temporally consistent, whole-history values on every frame).
    :meth:`to_results` turns the tracks into the video's result entries:
    one per track, or, for tracks with ``class_scores`` (CTVIS's rule), the
    best (track, class) pairs of the video. Used by ``VISMetric`` and the
    video demo's JSON, so both score a video the same way. Picklable;
    :meth:`merge` joins the parts of a video split across ranks.

    Args:
        video_id: The video's id.
        length (int): Its number of frames.
        height (int): Frame height.
        width (int): Frame width.
    """

    def __init__(self, video_id, length: int, height: int, width: int):
        self.video_id = video_id
        self.length = length
        self.height = height
        self.width = width
        self.frames = set()
        # track id -> [segmentations {frame: RLE}, last frame, label, score,
        #              class scores (K,) or None]
        self.tracks: Dict[int, list] = {}

    def where(self, frame_id=None) -> str:
        where = f'video {self.video_id!r}'
        return where if frame_id is None else f'{where}, frame {frame_id}'

    def check_meta(self, length: int, height: int, width: int,
                   frame_id: int) -> None:
        if (length, height, width) != (self.length, self.height, self.width):
            raise ValueError(
                f'{self.where(frame_id)}: video length / ori_shape '
                f'({length}, {height}, {width}) differ from its earlier '
                f'frames ({self.length}, {self.height}, {self.width})')

    def add_track(self,
                  track_id: int,
                  frame_id: int,
                  rle: dict,
                  label: int,
                  score: float,
                  class_scores: Optional[np.ndarray] = None) -> None:
        track = self.tracks.setdefault(track_id,
                                       [{}, -1, label, score, class_scores])
        if frame_id in track[0]:
            raise ValueError(f'{self.where(frame_id)}: instances_id '
                             f'{track_id} appears twice')
        track[0][frame_id] = rle
        if frame_id > track[1]:
            # the label / score of the latest appearance are the track's
            track[1:] = [frame_id, label, score, class_scores]

    def merge(self, other: 'VideoTrackResults') -> None:
        self.check_meta(other.length, other.height, other.width, None)
        twice = self.frames & other.frames
        if twice:
            raise ValueError(f'{self.where()}: frames {sorted(twice)} were '
                             'predicted twice')
        self.frames |= other.frames
        for track_id, (segs, last, *rest) in other.tracks.items():
            mine = self.tracks.setdefault(track_id, [{}, -1, *rest])
            mine[0].update(segs)
            if last > mine[1]:
                mine[1:] = [last, *rest]

    @property
    def complete(self) -> bool:
        return len(self.frames) == self.length

    def to_results(self,
                   topk: Optional[int],
                   pairs_per_video: Optional[int] = None) -> dict:
        """``dict(video_id, entries)``; entries have ``label`` (mapped to a
        category at evaluation), ``score``, ``segmentations`` and the
        ``track_id`` they come from.

        A track with ``class_scores`` (CTVIS's rule) gives a (track, class)
        pair per class; the best ``pairs_per_video`` pairs of the video
        (default: as many as classes, CTVIS's ``num_topk``) are kept, so a
        track may give several results. Other tracks give one result each.
        Then the best ``topk`` entries of the video are kept."""
        entries, pairs = [], []
        for track_id, (segs, _, label, score, cls_scores) in sorted(
                self.tracks.items()):
            seq = [segs.get(t) for t in range(self.length)]
            if cls_scores is None:
                entries.append(
                    dict(label=int(label), score=float(score),
                         segmentations=seq, track_id=track_id))
            else:
                pairs += [(float(s), k, seq, track_id)
                          for k, s in enumerate(cls_scores.tolist())]
        if pairs:
            num_classes = max(p[1] for p in pairs) + 1
            keep = num_classes if pairs_per_video is None \
                else pairs_per_video
            # descending score; ties keep track then class order (stable)
            order = sorted(range(len(pairs)), key=lambda i: -pairs[i][0])
            entries += [
                dict(label=pairs[i][1], score=pairs[i][0],
                     segmentations=pairs[i][2], track_id=pairs[i][3])
                for i in order[:keep]
            ]
        if topk is not None:
            order = np.argsort([-e['score'] for e in entries],
                               kind='stable')[:topk]
            entries = [entries[i] for i in order]
        return dict(video_id=self.video_id, entries=entries)


__all__ = ['VideoTrackResults']
