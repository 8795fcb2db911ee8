"""STMask's online tracker (sec. 3.2 "Merge frame-level and cross-frame
instance segmentation", eqs. 15-17).

Frame by frame, given the frame's detections (boxes, labels, scores, mask
coefficients, track embeddings), its prototypes and its temporal-fusion
features:

1. **warp** every stored track from the previous frame into this one with
   the temporal fusion module: box shift and coefficient delta, mask from
   this frame's prototypes (eq. 14); the track's score is multiplied by
   ``score_decay`` (0.95) and its missed-frame counter grows by one;
2. **match** (eq. 15): ``S = w_e * (cos + 1) / 2 + w_m * maskIoU + w_b *
   boxIoU`` between each detection and each warped track (defaults
   ``(1, 1, 2)``: embedding, mask IoU, box IoU). A detection joins its
   best track when ``S > match_thr`` (eq. 16; ``match_thr=1.4`` by default,
   the reference code's effective rule, see below); when several detections
   pick the same track the highest-scoring one joins it and the others are
   dropped as duplicates (as in the reference code). Unmatched detections
   start new tracks (new ids);
3. a matched track takes the detection's box, coefficients, embedding, mask
   and score and its missed counter returns to 0; an unmatched track keeps
   its warped state and is **supplemented** in the frame's output (eq. 17)
   while it was missed for at most ``max_missed`` frames (10), its decayed
   score is above ``score_thr`` (0.05) and its mask is not empty; otherwise
   it is dropped.

Without a temporal fusion module (the ablation "no TF") tracks are matched
against their last detected state, kept in memory for ``max_missed``
frames for re-identification, but only reported in frames where they are
detected.

Reported ``labels`` / ``scores`` are video-level so far (the package's
online protocol): per track the detection scores are summed per class; the
label is the class with the largest sum and the score that sum divided by
the number of frames the track was detected in.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.structures.mask_ops import mask_iou_matrix
from ..layers.lincomb_masks import lincomb_masks
from .base_vis_tracker import BaseVISTracker


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """IoU between two sets of binary masks: ``(M, h, w)`` x ``(K, h, w)``
    bool / 0-1 -> ``(M, K)``, 0 where both are empty (as the reference and
    pycocotools); :func:`~mmvis_pretrain.structures.mask_ops.mask_iou_matrix`
    with ``empty_iou=0``."""
    return mask_iou_matrix(masks1, masks2, empty_iou=0.)


@MODELS.register_module()
class STMaskTracker(BaseVISTracker):
    """Online tracker of STMask (see the module docstring).

    Args:
        match_weights (sequence[float]): ``(w_e, w_m, w_b)`` of the
            embedding similarity, mask IoU and box IoU in the match score.
            Defaults to ``(1, 1, 2)``.
        match_thr (float): a detection joins a track only if its match score
            exceeds this. Defaults to 1.4, the reference code's effective
            rule: it appends a "new object" column scored ``0.5`` (embedding
            term of a zero cosine) ``+ 0.3`` (dummy mask IoU) ``+ 2 * 0.3``
            (dummy box IoU) ``= 1.4`` in front of the tracks and takes the
            argmax, so a detection joins a track only when ``S > 1.4``
            (ties go to the new object). The paper's text gives 0.9
            (``match_thr=0.9``); the two differ when the best ``S`` is in
            ``(0.9, 1.4]``.
        max_missed (int): frames a track survives without a detection.
            Defaults to 10.
        score_decay (float): factor on a track's score per warp (0.95).
        score_thr (float): tracks whose (decayed) score falls to or below
            this are dropped (0.05).
        mask_thr (float): binarisation threshold of the soft masks (0.5).
        min_mask_area (int): a track whose binary mask (prototype grid) has
            fewer pixels is dropped. Defaults to 1.
        crop_padding (int): crop padding of the assembled masks (1).
    """

    def __init__(self,
                 match_weights: Sequence[float] = (1.0, 1.0, 2.0),
                 match_thr: float = 1.4,
                 max_missed: int = 10,
                 score_decay: float = 0.95,
                 score_thr: float = 0.05,
                 mask_thr: float = 0.5,
                 min_mask_area: int = 1,
                 crop_padding: int = 1) -> None:
        if len(match_weights) != 3:
            raise ValueError('match_weights must be (embedding, mask IoU, box '
                             f'IoU) weights, got {match_weights!r}')
        self.match_weights = tuple(float(w) for w in match_weights)
        self.match_thr = match_thr
        self.max_missed = max_missed
        self.score_decay = score_decay
        self.score_thr = score_thr
        self.mask_thr = mask_thr
        self.min_mask_area = min_mask_area
        self.crop_padding = crop_padding
        # STMask's temporal fusion module, bound once by the model
        self.warp_module = None
        super().__init__()
        self.reset()

    def set_warp(self, temporal_fusion) -> None:
        """Bind the model's temporal fusion module (``None``: the "no TF"
        ablation): :meth:`track` warps the tracks with it."""
        self.warp_module = temporal_fusion

    def reset(self) -> None:
        """Forget all tracks (a new video)."""
        super().reset()
        self.num_ids = 0
        self.ids: Optional[Tensor] = None  # (K,)
        self.bboxes: Optional[Tensor] = None  # (K, 4) input pixels
        self.coeffs: Optional[Tensor] = None  # (K, P)
        self.embeds: Optional[Tensor] = None  # (K, E)
        self.masks: Optional[Tensor] = None  # (K, h, w) soft
        self.scores: Optional[Tensor] = None  # (K,) current, decayed
        self.missed: Optional[Tensor] = None  # (K,) frames since detected
        self.cls_sums: List[Dict[int, float]] = []
        self.num_dets: List[int] = []
        self.prev_feat: Optional[Tensor] = None

    @property
    def num_tracks(self) -> int:
        """Tracks in memory."""
        return 0 if self.ids is None else int(self.ids.numel())

    @property
    def track_ids(self) -> List[int]:
        """Ids of the tracks in memory."""
        return [] if self.ids is None else self.ids.tolist()

    # ----------------------------------------------------------------- step
    @torch.no_grad()
    def track(self,
              frame_id: int,
              detections: InstanceData,
              protos: Tensor,
              feat: Tensor,
              input_shape: Tuple[int, int],
              temporal_fusion=None) -> InstanceData:
        """Process one frame.

        Args:
            frame_id (int): 0-based index of the frame in its video; 0
                resets the tracker.
            detections (InstanceData): ``bboxes (D, 4)`` (input pixels),
                ``labels (D,)``, ``scores (D,)``, ``coeffs (D, P)`` and
                optionally ``track_embeds (D, E)`` (otherwise the normalised
                coefficients are the embeddings).
            protos (Tensor): ``(P, h, w)`` prototypes of the frame.
            feat (Tensor): ``(1, C, H', W')`` features the temporal fusion
                module correlates (P4).
            input_shape (tuple[int, int]): ``(H, W)`` of the network input
                the prototypes cover.
            temporal_fusion (TemporalFusion, optional): warps the tracks;
                defaults to the module bound with :meth:`set_warp`; None
                there too disables warping and supplementing.

        Returns:
            InstanceData: the tracks present in this frame, by id:
            ``instances_id (M,)``, ``labels (M,)``, ``scores (M,)`` (both
            video-level so far), ``bboxes (M, 4)`` (input pixels), ``masks
            (M, h, w)`` (soft, prototype grid) and ``detected (M,)`` (bool:
            matched to a detection in this frame).
        """
        self.begin_frame(frame_id)
        if temporal_fusion is None:
            temporal_fusion = self.warp_module
        dets = self._prepare(detections, protos, input_shape)
        warped = False
        if self.num_tracks and temporal_fusion is not None \
                and self.prev_feat is not None:
            self._warp(temporal_fusion, feat, protos, input_shape)
            warped = True
        if self.num_tracks:
            self.missed += 1
        matches = self._match(dets)
        self._update(dets, matches, len(dets))
        self._prune()
        self.prune_payloads()
        self.prev_feat = feat
        return self._output(
            report_undetected=warped, proto_shape=protos.shape[-2:],
            device=protos.device)

    # -------------------------------------------------------------- helpers
    def _prepare(self, detections: InstanceData, protos: Tensor,
                 input_shape: Tuple[int, int]) -> InstanceData:
        dets = InstanceData()
        dets.bboxes = detections.bboxes.to(protos.dtype)
        dets.labels = detections.labels.long()
        dets.scores = detections.scores.to(protos.dtype)
        dets.coeffs = detections.coeffs.to(protos.dtype)
        if 'track_embeds' in detections:
            dets.embeds = detections.track_embeds.to(protos.dtype)
        else:
            dets.embeds = F.normalize(dets.coeffs, dim=1)
        dets.masks = lincomb_masks(protos, dets.coeffs, dets.bboxes,
                                   input_shape, self.crop_padding)
        return dets

    def _warp(self, temporal_fusion, feat: Tensor, protos: Tensor,
              input_shape: Tuple[int, int]) -> None:
        rois = torch.cat([self.bboxes.new_zeros(self.num_tracks, 1),
                          self.bboxes], 1)
        self.bboxes, self.coeffs = temporal_fusion.warp(
            self.prev_feat, feat, rois, self.coeffs, max_shape=input_shape)
        self.masks = lincomb_masks(protos, self.coeffs, self.bboxes,
                                   input_shape, self.crop_padding)
        self.scores = self.scores * self.score_decay

    def match_scores(self, dets: InstanceData) -> Tensor:
        """Match score ``S`` (eq. 15) of every detection (rows) with every
        track (columns), ``(D, K)``."""
        w_e, w_m, w_b = self.match_weights
        emb = (dets.embeds @ self.embeds.t() + 1) / 2
        miou = mask_iou(dets.masks > self.mask_thr,
                        self.masks > self.mask_thr)
        biou = bbox_overlaps(dets.bboxes, self.bboxes)
        return w_e * emb + w_m * miou + w_b * biou

    def _match(self, dets: InstanceData) -> Tensor:
        """Track index per detection: ``>= 0`` joined track, ``-1`` new
        track, ``-2`` dropped duplicate."""
        num_dets = len(dets)
        matches = dets.scores.new_full((num_dets, ), -1, dtype=torch.long)
        if not self.num_tracks or not num_dets:
            return matches
        best, best_track = self.match_scores(dets).max(1)
        # one device -> host copy per frame (no per-element GPU syncs)
        best = best.tolist()
        best_track = best_track.tolist()
        result = [-1] * num_dets
        taken = set()
        for d in torch.argsort(dets.scores, descending=True).tolist():
            if best[d] <= self.match_thr:
                continue
            j = best_track[d]
            if j in taken:
                result[d] = -2
            else:
                result[d] = j
                taken.add(j)
        return torch.tensor(result, dtype=torch.long, device=matches.device)

    def _update(self, dets: InstanceData, matches: Tensor,
                num_dets: int) -> None:
        # host copies once per frame (no per-element GPU syncs)
        labels = dets.labels.tolist()
        scores = dets.scores.tolist()
        joined = (matches >= 0).nonzero(as_tuple=True)[0]
        if joined.numel():
            rows = matches[joined]
            self.bboxes[rows] = dets.bboxes[joined]
            self.coeffs[rows] = dets.coeffs[joined]
            self.embeds[rows] = dets.embeds[joined]
            self.masks[rows] = dets.masks[joined]
            self.scores[rows] = dets.scores[joined]
            self.missed[rows] = 0
            for d, j in zip(joined.tolist(), rows.tolist()):
                self._add_score(j, labels[d], scores[d])
        new = (matches == -1).nonzero(as_tuple=True)[0]
        if new.numel() == 0:
            return
        device = dets.bboxes.device
        new_ids = torch.arange(
            self.num_ids, self.num_ids + new.numel(), device=device)
        self.num_ids += new.numel()
        fields = dict(
            ids=new_ids,
            bboxes=dets.bboxes[new],
            coeffs=dets.coeffs[new],
            embeds=dets.embeds[new],
            masks=dets.masks[new],
            scores=dets.scores[new],
            missed=torch.zeros_like(new_ids))
        for name, value in fields.items():
            old = getattr(self, name)
            setattr(self, name,
                    value.clone() if old is None else torch.cat([old, value]))
        for d in new.tolist():
            self.cls_sums.append({})
            self.num_dets.append(0)
            self._add_score(len(self.cls_sums) - 1, labels[d], scores[d])

    def _add_score(self, j: int, label: int, score: float) -> None:
        sums = self.cls_sums[j]
        sums[label] = sums.get(label, 0.0) + score
        self.num_dets[j] += 1

    def _prune(self) -> None:
        """Drop undetected tracks missed for too long, with a decayed score
        at or below ``score_thr`` or an empty mask; detected ones stay."""
        if not self.num_tracks:
            return
        area = (self.masks > self.mask_thr).flatten(1).sum(1)
        keep = (self.missed == 0) | (
            (self.missed <= self.max_missed) & (self.scores > self.score_thr)
            & (area >= self.min_mask_area))
        if bool(keep.all()):
            return
        idx = keep.nonzero(as_tuple=True)[0]
        for name in ('ids', 'bboxes', 'coeffs', 'embeds', 'masks', 'scores',
                     'missed'):
            setattr(self, name, getattr(self, name)[idx])
        keep_list = idx.tolist()
        self.cls_sums = [self.cls_sums[i] for i in keep_list]
        self.num_dets = [self.num_dets[i] for i in keep_list]

    def _output(self, report_undetected: bool, proto_shape: Tuple[int, int],
                device: torch.device) -> InstanceData:
        out = InstanceData()
        if self.num_tracks:
            show = self.missed == 0
            if report_undetected:
                show = torch.ones_like(show)
            idx = show.nonzero(as_tuple=True)[0]
        else:
            idx = torch.zeros(0, dtype=torch.long, device=device)
        if idx.numel() == 0:
            out.instances_id = torch.zeros(0, dtype=torch.long, device=device)
            out.labels = torch.zeros(0, dtype=torch.long, device=device)
            out.scores = torch.zeros(0, device=device)
            out.bboxes = torch.zeros(0, 4, device=device)
            out.masks = torch.zeros(0, *proto_shape, device=device)
            out.detected = torch.zeros(0, dtype=torch.bool, device=device)
            return out
        labels, scores = [], []
        for j in idx.tolist():
            label, total = max(self.cls_sums[j].items(), key=lambda kv: kv[1])
            labels.append(label)
            scores.append(total / max(self.num_dets[j], 1))
        out.instances_id = self.ids[idx]
        out.labels = torch.tensor(labels, dtype=torch.long, device=device)
        out.scores = torch.tensor(
            scores, dtype=self.scores.dtype, device=device)
        out.bboxes = self.bboxes[idx]
        out.masks = self.masks[idx]
        out.detected = self.missed[idx] == 0
        return out
