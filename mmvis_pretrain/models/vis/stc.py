"""STC: CondInst with a tracking head trained by bi-directional
spatio-temporal contrastive learning (Jiang et al., "STC: Spatio-Temporal
Contrastive Learning for Video Instance Segmentation").

:class:`STC` is mmdet's :class:`CondInst` (backbone, FPN, FCOS-style
``CondInstBboxHead`` with the dynamic-filter controller, ``CondInstMaskHead``)
plus :class:`~mmvis_pretrain.models.tracking_heads.STCTrackHead`, a dense
embedding tower on the FPN levels.

Training (clips from mmdet's ``UniformRefFrameSample``, inputs ``(N, T, C, H,
W)``, STC: ``T = 2``, a key and a reference frame): the ``N * T`` frames go
through the network as one batch of images; CondInst's losses (focal
classification, GIoU box, centerness, dice mask) are computed on every frame
with mmdet's code; the track head samples, per frame, embeddings at the
positive locations of CondInst's assignment (labelled with the GT track ids)
and at background locations (-1), and the clip's frames are contrasted in
both directions by :class:`~mmvis_pretrain.models.losses.ContrastiveTrackLoss`.
A clip of one frame trains the frame losses (the contrastive loss is then a
graph-connected zero).

Inference follows the package's online protocol (one frame per
``TrackDataSample``, mmdet's ``TrackImgSampler``; a clip of several frames is
processed frame by frame). Per frame:

1. CondInst detections (score threshold, box NMS, ``max_per_img``; mmdet's
   ``CondInstBboxHead.predict_by_feat``) and their dynamic-filter masks;
   detections repeated at one location with other labels (mmdet's multi-class
   NMS) are merged into one, so every location gives one candidate;
2. per candidate: the embedding and the class scores (sigmoid class scores
   times sigmoid centerness, CondInst's detection score, for every class) at
   its location;
3. :class:`~mmvis_pretrain.models.trackers.MemoryBankTracker` (reset at
   ``frame_id == 0``): mask NMS, association by embedding similarity
   (bi-softmax) with a memory bank, new tracks; each track's label / score
   are averaged over its history (instance-wise temporal consistency of the
   classification: one label per instance over the video);
4. optionally (``mask_consistency > 0``), instance-wise temporal consistency
   of the masks: a detection that continues a track also gets the mask of
   the track's previous dynamic filter applied to the current mask features
   (relative coordinates centred on the current location), and the two mask
   probabilities are averaged with weight ``mask_consistency``;
5. ``pred_track_instances`` with ``instances_id``, the tracks' ``labels`` /
   ``scores``, ``bboxes`` and bool ``masks`` at ``ori_shape``.
"""
from typing import Dict, List, Tuple

import torch
from mmdet.models.detectors import CondInst
from mmdet.models.utils import aligned_bilinear
from mmdet.structures import TrackSampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.structures import resize_masks_to_original
from .online_vis_mixin import OnlineVISMixin


@MODELS.register_module()
class STC(OnlineVISMixin, CondInst):
    """STC video instance segmentor (see the module docstring).

    Args:
        backbone, neck (dict): as mmdet's CondInst (ResNet + FPN P3-P7).
        bbox_head (dict): ``CondInstBboxHead``.
        mask_head (dict): ``CondInstMaskHead``.
        track_head (dict): ``STCTrackHead`` (its ``strides`` must be the box
            head's).
        tracker (dict): the online tracker, ``MemoryBankTracker``.
        mask_consistency (float): weight in ``[0, 1]`` of the mask from a
            track's previous dynamic filter, averaged with the current
            mask for detections that continue a track; 0 disables it.
            Defaults to 0.
        train_cfg (dict, optional): CondInst's (unused by mmdet's heads).
        test_cfg (dict): CondInst's: ``nms_pre``, ``score_thr``, ``nms``,
            ``max_per_img``, ``mask_thr``.
        data_preprocessor (dict): mmdet's ``TrackDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 mask_head: ConfigType,
                 track_head: ConfigType,
                 tracker: ConfigType = dict(type='MemoryBankTracker'),
                 mask_consistency: float = 0.0,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            mask_head=mask_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not 0. <= mask_consistency <= 1.:
            raise ValueError('mask_consistency must be in [0, 1], got '
                             f'{mask_consistency}')
        self.track_head = MODELS.build(track_head)
        if list(self.track_head.strides) != list(self.bbox_head.strides):
            raise ValueError(
                f'STC: track_head strides {self.track_head.strides} differ '
                f'from bbox_head strides {self.bbox_head.strides}')
        self.tracker = MODELS.build(tracker)
        self.mask_consistency = mask_consistency

    @property
    def _track_params(self) -> Dict[int, Tensor]:
        """The last dynamic filter of every live track: the payloads of the
        tracker, so the filter travels (and dies) with its track."""
        return self.tracker.payloads

    @_track_params.setter
    def _track_params(self, params: Dict[int, Tensor]) -> None:
        self.tracker.reset_payloads(params)

    # ------------------------------------------------------------- training
    @staticmethod
    def _check_clips(inputs: Tensor, data_samples: TrackSampleList) -> int:
        if inputs.dim() != 5:
            raise ValueError('STC expects (N, T, C, H, W) inputs, got '
                             f'{tuple(inputs.shape)}')
        num_frames = inputs.size(1)
        if len(data_samples) != inputs.size(0):
            raise ValueError(f'{len(data_samples)} samples for '
                             f'{inputs.size(0)} clips')
        for sample in data_samples:
            if len(sample) != num_frames:
                raise ValueError(f'a sample has {len(sample)} frames, the '
                                 f'inputs {num_frames}')
        return num_frames

    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Losses of a batch of clips.

        Args:
            inputs (Tensor): ``(N, T, C, H, W)`` (STC: ``T = 2``, key and
                reference frame; any ``T >= 1`` works).
            data_samples (list[TrackDataSample]): with ``gt_instances``
                (``bboxes``, ``labels``, ``masks``, ``instances_ids``) per
                frame.

        Returns:
            dict[str, Tensor]: CondInst's ``loss_cls``, ``loss_bbox``,
            ``loss_centerness``, ``loss_mask`` over all frames and the
            track head's ``loss_track``, ``loss_track_aux``.
        """
        num_frames = self._check_clips(inputs, data_samples)
        frames = [s[t] for s in data_samples for t in range(num_frames)]
        x = self.extract_feat(inputs.flatten(0, 1).contiguous())
        losses = self.bbox_head.loss(x, frames)
        pos_infos = self.bbox_head.get_positive_infos()
        mask_losses = self.mask_head.loss(
            x, frames, positive_infos=pos_infos)
        losses.update(mask_losses)
        losses.update(
            self.track_head.loss(x, pos_infos,
                                 [f.gt_instances for f in frames],
                                 [f.metainfo for f in frames], num_frames))
        return losses

    # ------------------------------------------------------------ inference
    # predict(): OnlineVISMixin's, frame by frame through predict_frame
    def _detect(self, x: Tuple[Tensor], meta: dict
                ) -> Tuple[InstanceData, Tensor, Tensor]:
        """CondInst detections of one frame, one per location.

        Returns:
            tuple: ``InstanceData`` (``bboxes`` at the input scale,
            ``scores``, ``labels``, ``param_preds``, ``points``,
            ``strides``, ``embeds (M, C)``, ``cls_probs (M, K)``), the
            ``(M, h, w)`` mask logits at stride ``mask_out_stride`` of the
            padded input and the ``(1, c, h', w')`` mask features.
        """
        cls_scores, bbox_preds, centernesses, param_preds = self.bbox_head(x)
        dets = self.bbox_head.predict_by_feat(
            cls_scores, bbox_preds, centernesses, param_preds,
            batch_img_metas=[meta], rescale=False)[0]
        embed_maps = self.track_head(x)
        embeds, inds = self.track_head.predict_embeds(
            embed_maps, 0, dets.points, dets.strides)
        # multi-class NMS may keep one location under several labels: keep
        # its best-scored row (NMS output is sorted by score)
        if inds.numel():
            first = torch.ones_like(inds, dtype=torch.bool)
            seen = set()
            for j, ind in enumerate(inds.tolist()):
                first[j] = ind not in seen
                seen.add(ind)
            dets, embeds, inds = dets[first], embeds[first], inds[first]
        cls = self.track_head.gather(cls_scores, 0, inds).sigmoid()
        ctr = self.track_head.gather(centernesses, 0, inds).sigmoid()
        dets.embeds = embeds
        dets.cls_probs = cls * ctr
        mask_feats = self.mask_head.mask_feature_head(x)
        mask_logits = self._dynamic_masks(mask_feats[0], dets.param_preds,
                                          dets.points, dets.strides)
        return dets, mask_logits, mask_feats

    def _dynamic_masks(self, mask_feat: Tensor, params: Tensor,
                       points: Tensor, strides: Tensor) -> Tensor:
        """``(M, h, w)`` mask logits of ``M`` dynamic filters on one
        frame's ``(c, h', w')`` mask features (``h = h' * mask_feat_stride /
        mask_out_stride``)."""
        h, w = mask_feat.shape[-2:]
        factor = int(self.mask_head.mask_feat_stride /
                     self.mask_head.mask_out_stride)
        if params.size(0) == 0:
            return mask_feat.new_zeros((0, h * factor, w * factor))
        return self.mask_head.forward_single(
            mask_feat,
            InstanceData(
                param_preds=params, points=points, strides=strides))[0]

    @torch.no_grad()
    def predict_frame(self, image: Tensor, meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Detect, segment and track one frame.

        Args:
            image (Tensor): ``(1, C, H, W)`` the pre-processed frame.
            meta (dict): its metainfo (``frame_id``, ``img_shape``,
                ``ori_shape``, ``scale_factor``, ``batch_input_shape``).
            rescale (bool): outputs at ``ori_shape`` (else ``img_shape``).

        Returns:
            InstanceData: ``pred_track_instances`` of the frame.
        """
        x = self.extract_feat(image)
        dets, mask_logits, mask_feats = self._detect(x, meta)
        mask_probs = mask_logits.sigmoid()
        tracks = self.tracker.update(int(meta['frame_id']), dets.embeds,
                                     dets.cls_probs, mask_probs)
        keep = tracks.keep_inds
        mask_probs = mask_probs[keep]
        kept = dets[keep]
        ids = tracks.instances_id.tolist()
        if self.mask_consistency > 0:
            mask_probs = self._consistent_masks(mask_probs, kept, ids,
                                                mask_feats[0])
        # this frame's filters become the tracks' payloads
        self.tracker.set_payloads(ids, kept.param_preds)
        return self._frame_results(tracks, kept.bboxes, mask_probs, meta,
                                   rescale)

    def _consistent_masks(self, mask_probs: Tensor, kept: InstanceData,
                          ids: List[int], mask_feat: Tensor) -> Tensor:
        """Average the masks of detections continuing a track with the mask
        of the track's previous dynamic filter at the current location."""
        rows = [j for j, i in enumerate(ids) if i in self._track_params]
        if not rows:
            return mask_probs
        rows_t = torch.tensor(rows, device=mask_probs.device)
        params = torch.stack([self._track_params[ids[j]] for j in rows])
        prev = self._dynamic_masks(mask_feat, params, kept.points[rows_t],
                                   kept.strides[rows_t]).sigmoid()
        w = self.mask_consistency
        mask_probs = mask_probs.clone()
        mask_probs[rows_t] = (1 - w) * mask_probs[rows_t] + w * prev
        return mask_probs

    def _frame_results(self, tracks: InstanceData, bboxes: Tensor,
                       mask_probs: Tensor, meta: dict,
                       rescale: bool) -> InstanceData:
        """Tracker output -> ``pred_track_instances`` (bool masks at
        ``ori_shape`` with ``rescale``, else at ``img_shape``)."""
        mask_thr = (self.test_cfg or {}).get('mask_thr', 0.5)
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(
                meta['scale_factor']).repeat(2)
        if mask_probs.size(0):
            # CondInst's upsampling to the input grid, then the shared crop
            # and resize
            mask_probs = aligned_bilinear(
                mask_probs[None], self.mask_head.mask_out_stride)[0]
        masks = resize_masks_to_original(
            mask_probs, meta['img_shape'], self.output_shape(meta, rescale),
            mask_thr=mask_thr)
        return InstanceData(
            instances_id=tracks.instances_id.long(),
            labels=tracks.labels.long(),
            scores=tracks.scores.float(),
            bboxes=bboxes,
            masks=masks)

    def _forward(self, inputs: Tensor, data_samples=None) -> tuple:
        """Raw outputs (tensor mode) of ``(N, C, H, W)`` or ``(N, T, C, H,
        W)`` inputs: the box head's four lists (class scores, boxes,
        centerness, filter parameters), the ``(N*T, c, h, w)`` mask
        features and the track head's embedding maps."""
        if inputs.dim() == 5:
            inputs = inputs.flatten(0, 1)
        x = self.extract_feat(inputs)
        return tuple(self.bbox_head(x)) + (self.mask_head.mask_feature_head(x),
                                           self.track_head(x))


__all__ = ['STC']
