"""Online memory-bank tracker of query embeddings (CTVIS style).

The VIS models call :meth:`MemoryBankTracker.update` once per frame with the
per-query embeddings, class probabilities and masks of that frame; the
tracker returns which queries to output and their track ids, labels and
scores. Per frame ``f``:

1. ``f == 0`` resets the tracker (a new video).
2. Tracks missing for more than ``max_missing`` frames are dropped: a track
   last detected at frame ``l`` is still matchable at frame ``f`` iff
   ``f - l - 1 <= max_missing`` (CTVIS ``NUM_DEAD_FRAMES``; same timing as
   its clean-up after each frame).
3. Candidates: queries whose score ``s = max_k cls_probs[k]`` is
   ``> det_score_thr``.
4. Mask NMS over the candidates (masks binarised, IoU ``> mask_nms_thr``
   suppresses the lower-scored one).
5. Association with the memory bank. ``S = E_det @ E_track^T`` (raw dots)
   and, for ``match_metric='bisoftmax'``,
   ``A = (softmax_rows(S) + softmax_cols(S)) / 2`` (CTVIS; ``'cosine'``: the
   cosine similarity). A candidate joins a track when ``A > match_thr`` and
   the track is not already taken this frame:

   * ``match_type='greedy'`` (CTVIS default): candidates in descending score
     order each take their best free track, so conflicts go to the
     higher-scored detection. With ``frame_weight=True`` (CTVIS default),
     when several free tracks pass ``match_thr`` the candidate takes the one
     with the largest ``A * count`` (``count`` = frames the track was
     detected), favouring long-lived tracks.
   * ``match_type='hungarian'``: a maximum-``A`` one-to-one assignment
     (scipy), pairs with ``A <= match_thr`` rejected.

6. Unmatched candidates with ``s > new_track_thr`` start new tracks with new
   ids (``0, 1, 2, ...`` per video, never reused); the others are dropped.
7. Matched and new tracks update their state: the memory embedding (below),
   the class-probability sum, the score sum, the count and the last frame.

Memory embedding update for a track with memory ``m`` and new embedding
``e`` (``embed_update``):

* ``'similarity_guided'`` (CTVIS's default, after "similarity-guided feature
  fusion"): ``beta = max(0, mean_j cos(c_j, e))`` over the track's last
  ``cache_size`` detected embeddings ``c_j`` (before ``e``), then
  ``m <- (1 - beta) m + beta e``: an embedding that agrees with the track's
  recent appearance moves the memory a lot, an outlier (occlusion, a wrong
  association) barely moves it.
* ``'momentum'``: ``m <- (1 - momentum) m + momentum e`` (CTVIS: 0.75).
* ``'last'``: ``m <- e``.

The first detection sets ``m = e``.

Temporally consistent outputs (the package's online protocol; the values
returned at a frame include that frame, so the values at a track's last
appearance are its video-level result), over the ``n`` frames a track was
detected, by ``video_scoring``:

* ``'ctvis'`` (the reference rule of CTVIS / DVIS: ``TEMPORAL_SCORE_TYPE=
  'mean'`` averages the raw class **logits**, then ``inference_video``
  takes a softmax): ``class_scores = softmax((1/n) sum_i z_i)[:K]`` from
  the ``(K + 1)`` logits ``z_i`` (no-object last), returned as
  ``class_scores (M, K)``; ``label = argmax``, ``score = max``. The model
  multiplies ``class_scores`` by the track's mask score
  (:meth:`add_mask_scores`), and the metric turns each track into its
  (track, class) pairs and keeps the best per video (one track may give
  several results; :class:`~mmvis_pretrain.evaluation.VISMetric`).
* ``'mean_prob'`` (default; the package's rule before, for models without
  a no-object logit such as STC): over probability vectors ``p_i`` and
  scores ``s_i = max_k p_i[k]``, ``label = argmax_k (1/n) sum_i p_i[k]``
  and ``score = (1/n) sum_i s_i``; one result per track.

State: per live track only (memory embedding, a ring of at most
``cache_size`` embeddings, class-probability sum, score sum, count, last
frame, id), so memory does not grow with the video length.
"""
from collections import deque
from dataclasses import dataclass
from typing import Any, Deque, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from ..layers.mask_nms import mask_nms
from .base_vis_tracker import BaseVISTracker

#: Video-level class / score rules (module doc).
VIDEO_SCORING = ('mean_prob', 'ctvis')


def bisoftmax(similarity: Tensor) -> Tensor:
    """CTVIS's bi-directional softmax score.

    Args:
        similarity (Tensor): ``(D, K)`` similarity of ``D`` detections to
            ``K`` tracks (raw embedding dot products).

    Returns:
        Tensor: ``(D, K)`` ``(softmax over each row + softmax over each
        column) / 2``; empty input gives an empty output.
    """
    if similarity.numel() == 0:
        return similarity.clone()
    return (similarity.softmax(dim=1) + similarity.softmax(dim=0)) / 2


@dataclass
class _Track:
    """State of one live track (all tensors on the inputs' device)."""
    track_id: int
    embed: Tensor  # (C,) memory embedding
    cache: Deque[Tensor]  # <= cache_size past embeddings (C,)
    cls_sum: Tensor  # (K,) sum of the class-probability vectors
    score_sum: Tensor  # () sum of the per-frame scores
    logit_sum: Optional[Tensor] = None  # (K + 1,) sum of the raw logits
    mask_num: float = 0.  # sum of mask probabilities inside the masks
    mask_den: float = 0.  # sum of the mask areas (pixels)
    count: int = 0  # frames detected
    last_frame: int = -1


@MODELS.register_module()
class MemoryBankTracker(BaseVISTracker):
    """Online tracker with an embedding memory bank (CTVIS style).

    Args:
        det_score_thr (float): Candidate threshold on the score (CTVIS
            ``INFERENCE_SELECT_THR``). Defaults to 0.01.
        new_track_thr (float): An unmatched candidate starts a track only if
            its score is above this (CTVIS ``INIT_SCORE_THR``). Defaults to
            0.01.
        mask_nms_thr (float): Mask-IoU threshold of the NMS. Defaults to 0.6.
        mask_thr (float): Binarisation threshold of float masks for the NMS.
            Defaults to 0.5.
        match_thr (float): A candidate joins a track only if the match score
            is above this (CTVIS ``MATCH_SCORE_THR`` of its configs).
            Defaults to 0.3.
        match_metric (str): ``'bisoftmax'`` or ``'cosine'``. Defaults to
            ``'bisoftmax'``.
        match_type (str): ``'greedy'`` or ``'hungarian'``. Defaults to
            ``'greedy'``.
        frame_weight (bool): Greedy tie-break by ``score * count`` among the
            tracks above ``match_thr``. Defaults to True.
        max_missing (int): Frames a track may be missing and still be
            matched (CTVIS ``NUM_DEAD_FRAMES``). Defaults to 20.
        embed_update (str): ``'similarity_guided'``, ``'momentum'`` or
            ``'last'``. Defaults to ``'similarity_guided'``.
        momentum (float): Weight of the new embedding for
            ``embed_update='momentum'``. Defaults to 0.75.
        cache_size (int): Past embeddings kept per track for the similarity
            guidance (CTVIS ``maximum_cache``). Defaults to 10.
        video_scoring (str): ``'mean_prob'`` or ``'ctvis'`` (needs the raw
            logits in :meth:`update`), see the module doc. Defaults to
            ``'mean_prob'``; ``OnlineMask2FormerVIS`` uses ``'ctvis'``.
    """

    def __init__(self,
                 det_score_thr: float = 0.01,
                 new_track_thr: float = 0.01,
                 mask_nms_thr: float = 0.6,
                 mask_thr: float = 0.5,
                 match_thr: float = 0.3,
                 match_metric: str = 'bisoftmax',
                 match_type: str = 'greedy',
                 frame_weight: bool = True,
                 max_missing: int = 20,
                 embed_update: str = 'similarity_guided',
                 momentum: float = 0.75,
                 cache_size: int = 10,
                 video_scoring: str = 'mean_prob') -> None:
        if match_metric not in ('bisoftmax', 'cosine'):
            raise ValueError("match_metric must be 'bisoftmax' or 'cosine', "
                             f'got {match_metric!r}')
        if match_type not in ('greedy', 'hungarian'):
            raise ValueError("match_type must be 'greedy' or 'hungarian', "
                             f'got {match_type!r}')
        if embed_update not in ('similarity_guided', 'momentum', 'last'):
            raise ValueError("embed_update must be 'similarity_guided', "
                             f"'momentum' or 'last', got {embed_update!r}")
        if video_scoring not in VIDEO_SCORING:
            raise ValueError(f'video_scoring must be one of {VIDEO_SCORING},'
                             f' got {video_scoring!r}')
        if cache_size < 1:
            raise ValueError(f'cache_size must be >= 1, got {cache_size}')
        if max_missing < 0:
            raise ValueError(f'max_missing must be >= 0, got {max_missing}')
        self.det_score_thr = det_score_thr
        self.new_track_thr = new_track_thr
        self.mask_nms_thr = mask_nms_thr
        self.mask_thr = mask_thr
        self.match_thr = match_thr
        self.match_metric = match_metric
        self.match_type = match_type
        self.frame_weight = frame_weight
        self.max_missing = max_missing
        self.embed_update = embed_update
        self.momentum = momentum
        self.cache_size = cache_size
        self.video_scoring = video_scoring
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart the ids at 0."""
        super().reset()
        self.tracks: List[_Track] = []
        self.next_id = 0
        self.frame_id: Optional[int] = None

    @property
    def num_tracks(self) -> int:
        """Number of live tracks in the memory bank."""
        return len(self.tracks)

    @property
    def track_ids(self) -> List[int]:
        """Ids of the live tracks, in creation order."""
        return [t.track_id for t in self.tracks]

    # ------------------------------------------------------------------
    def update(self,
               frame_id: int,
               embeds: Tensor,
               cls_probs: Tensor,
               masks: Tensor,
               cls_logits: Optional[Tensor] = None,
               payloads: Optional[Sequence[Any]] = None) -> InstanceData:
        """Track the detections of one frame.

        Args:
            frame_id (int): 0-based index of the frame in its video; 0
                resets the tracker. Must increase within a video.
            embeds (Tensor): ``(M, C)`` embeddings of the ``M`` queries.
            cls_probs (Tensor): ``(M, K)`` class probabilities (without the
                no-object column).
            masks (Tensor): ``(M, h, w)`` mask probabilities (float) or
                binary masks (bool), any resolution.
            cls_logits (Tensor, optional): ``(M, K + 1)`` raw class logits
                (no-object last); required by ``video_scoring='ctvis'``.
            payloads (Sequence, optional): ``M`` objects; the kept ones
                become their tracks' payloads (:meth:`payload`).

        Returns:
            InstanceData: the ``M'`` kept detections in descending order of
            their frame score, with ``keep_inds (M',)`` long indices into the
            inputs, ``instances_id (M',)`` long, ``labels (M',)`` long and
            ``scores (M',)`` float (the tracks' temporally consistent class
            and score, see the module doc), and with ``'ctvis'`` scoring
            ``class_scores (M', K)``.
        """
        self._check_inputs(frame_id, embeds, cls_probs, masks)
        if self.video_scoring == 'ctvis':
            if cls_logits is None or tuple(cls_logits.shape) != (
                    cls_probs.shape[0], cls_probs.shape[1] + 1):
                raise ValueError(
                    "MemoryBankTracker(video_scoring='ctvis') needs "
                    'cls_logits (M, K + 1), the raw logits with the '
                    f'no-object column, got '
                    f'{None if cls_logits is None else tuple(cls_logits.shape)}'
                    f' for cls_probs {tuple(cls_probs.shape)}; use '
                    "video_scoring='mean_prob' for models without them")
            cls_logits = cls_logits.detach().float()
        self.begin_frame(frame_id)
        if self.frame_id is not None and frame_id <= self.frame_id:
            raise ValueError(
                f'MemoryBankTracker: frame_id {frame_id} after frame '
                f'{self.frame_id} in the same video; frame ids must increase '
                'and a new video must start at frame 0')
        self.frame_id = frame_id
        self.tracks = [
            t for t in self.tracks
            if frame_id - t.last_frame - 1 <= self.max_missing
        ]

        embeds = embeds.detach().float()
        cls_probs = cls_probs.detach().float()
        scores = cls_probs.max(dim=1)[0]
        cand = torch.nonzero(scores > self.det_score_thr).flatten()
        if cand.numel():
            cand = cand[mask_nms(masks[cand], scores[cand], self.mask_nms_thr,
                                 self.mask_thr)]  # descending score

        assigned = self._associate(embeds[cand], scores[cand])
        keep, ids = [], []
        for row, det in enumerate(cand.tolist()):
            track = assigned[row]
            if track is None:
                if scores[det] <= self.new_track_thr:
                    continue
                track = self._new_track(embeds[det], cls_probs.shape[1])
            self._update_track(
                track, frame_id, embeds[det], cls_probs[det], scores[det],
                None if cls_logits is None else cls_logits[det])
            keep.append(det)
            ids.append(track)
        if payloads is not None:
            self.set_payloads([t.track_id for t in ids],
                              [payloads[det] for det in keep])
        self.prune_payloads()
        return self._result(keep, ids, embeds.device, cls_probs.shape[1])

    # ------------------------------------------------------------------
    @staticmethod
    def _check_inputs(frame_id: int, embeds: Tensor, cls_probs: Tensor,
                      masks: Tensor) -> None:
        if frame_id < 0:
            raise ValueError(f'MemoryBankTracker: frame_id must be >= 0, got '
                             f'{frame_id}')
        if embeds.dim() != 2 or cls_probs.dim() != 2 or masks.dim() != 3:
            raise ValueError(
                'MemoryBankTracker: expected embeds (M, C), cls_probs (M, K) '
                f'and masks (M, h, w), got {tuple(embeds.shape)}, '
                f'{tuple(cls_probs.shape)} and {tuple(masks.shape)}')
        num = embeds.shape[0]
        if cls_probs.shape[0] != num or masks.shape[0] != num:
            raise ValueError(
                'MemoryBankTracker: embeds, cls_probs and masks must have the '
                f'same M, got {num}, {cls_probs.shape[0]}, {masks.shape[0]}')
        if cls_probs.shape[1] == 0:
            raise ValueError('MemoryBankTracker: cls_probs has no class')

    def match_scores(self, det_embeds: Tensor) -> Tensor:
        """Match scores of detections to the live tracks.

        Args:
            det_embeds (Tensor): ``(D, C)`` float32 detection embeddings.

        Returns:
            Tensor: ``(D, K)`` bisoftmax (or cosine) scores for the ``K``
            live tracks in :attr:`tracks` order.
        """
        bank = torch.stack([t.embed for t in self.tracks])
        if self.match_metric == 'bisoftmax':
            return bisoftmax(det_embeds @ bank.t())
        return F.normalize(det_embeds, dim=1) @ F.normalize(bank, dim=1).t()

    def _associate(self, det_embeds: Tensor,
                   det_scores: Tensor) -> List[Optional[_Track]]:
        """Track of each candidate (rows in descending score order), or
        None when unmatched."""
        assigned: List[Optional[_Track]] = [None] * det_embeds.shape[0]
        if not self.tracks or not assigned:
            return assigned
        scores = self.match_scores(det_embeds).cpu()
        if self.match_type == 'hungarian':
            rows, cols = linear_sum_assignment(-scores.numpy())
            for r, c in zip(rows.tolist(), cols.tolist()):
                if scores[r, c] > self.match_thr:
                    assigned[r] = self.tracks[c]
            return assigned
        counts = torch.tensor([float(t.count) for t in self.tracks])
        free = torch.ones(len(self.tracks), dtype=torch.bool)
        for r in range(scores.shape[0]):
            row = scores[r].masked_fill(~free, -1.)
            passing = row > self.match_thr
            if not passing.any():
                continue
            if self.frame_weight and int(passing.sum()) > 1:
                col = int(torch.where(passing, row * counts,
                                      torch.full_like(row, -1.)).argmax())
            else:
                col = int(row.argmax())
            assigned[r] = self.tracks[col]
            free[col] = False
        return assigned

    def _new_track(self, embed: Tensor, num_classes: int) -> _Track:
        track = _Track(
            track_id=self.next_id,
            embed=embed.clone(),
            cache=deque(maxlen=self.cache_size),
            cls_sum=embed.new_zeros(num_classes),
            score_sum=embed.new_zeros(()))
        self.next_id += 1
        self.tracks.append(track)
        return track

    def _update_track(self,
                      track: _Track,
                      frame_id: int,
                      embed: Tensor,
                      cls_prob: Tensor,
                      score: Tensor,
                      logits: Optional[Tensor] = None) -> None:
        if track.count > 0:
            if self.embed_update == 'similarity_guided':
                past = torch.stack(list(track.cache))
                beta = (F.normalize(past, dim=1) @ F.normalize(
                    embed, dim=0)).mean().clamp(min=0.)
            elif self.embed_update == 'momentum':
                beta = embed.new_tensor(self.momentum)
            else:
                beta = embed.new_tensor(1.)
            track.embed = (1 - beta) * track.embed + beta * embed
        track.cache.append(embed)
        track.cls_sum = track.cls_sum + cls_prob
        track.score_sum = track.score_sum + score
        if logits is not None:
            track.logit_sum = logits.clone() if track.logit_sum is None \
                else track.logit_sum + logits
        track.count += 1
        track.last_frame = frame_id

    def _result(self, keep: List[int], tracks: List[_Track],
                device: torch.device, num_classes: int) -> InstanceData:
        out = InstanceData(
            keep_inds=torch.tensor(keep, dtype=torch.long, device=device),
            instances_id=torch.tensor([t.track_id for t in tracks],
                                      dtype=torch.long, device=device))
        if self.video_scoring == 'ctvis':
            if tracks:
                mean_logits = torch.stack(
                    [t.logit_sum / t.count for t in tracks])
                class_scores = mean_logits.softmax(dim=1)[:, :-1]
            else:
                class_scores = torch.zeros(0, num_classes, device=device)
            out.class_scores = class_scores.to(device)
            out.scores, out.labels = (
                class_scores.max(dim=1) if tracks else
                (torch.zeros(0, device=device),
                 torch.zeros(0, dtype=torch.long, device=device)))
            return out
        if tracks:
            labels = torch.stack([t.cls_sum for t in tracks]).argmax(dim=1)
            scores = torch.stack([t.score_sum / t.count for t in tracks])
        else:
            labels = torch.zeros(0, dtype=torch.long, device=device)
            scores = torch.zeros(0, device=device)
        out.labels = labels.to(device)
        out.scores = scores.to(device)
        return out

    def add_mask_scores(self, track_ids: Tensor, numerators: Tensor,
                        denominators: Tensor) -> Tensor:
        """Accumulate the tracks' mask confidence and return it so far.

        CTVIS multiplies a track's video-level class score by its mask
        score: the mean mask probability inside its binary masks over all
        its frames, at the original resolution, ``sum_t sum_{m_t} p_t /
        (sum_t |m_t| + 1e-6)``. The model computes each frame's sums (at the
        original size, which the tracker never sees); the track keeps them.

        Args:
            track_ids (Tensor): ``(M,)`` ids of live tracks (this frame's
                ``instances_id``).
            numerators (Tensor): ``(M,)`` this frame's sum of the mask
                probabilities inside each binary mask.
            denominators (Tensor): ``(M,)`` this frame's mask areas.

        Returns:
            Tensor: ``(M,)`` the tracks' mask scores over the frames so far.
        """
        by_id = {t.track_id: t for t in self.tracks}
        out = []
        for tid, num, den in zip(track_ids.tolist(), numerators.tolist(),
                                 denominators.tolist()):
            track = by_id.get(tid)
            if track is None:
                raise KeyError(f'MemoryBankTracker: no live track {tid}')
            track.mask_num += num
            track.mask_den += den
            out.append(track.mask_num / (track.mask_den + 1e-6))
        return numerators.new_tensor(out, dtype=torch.float32)
