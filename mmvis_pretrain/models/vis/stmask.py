"""STMask: one-stage video instance segmentation with spatial calibration and
temporal fusion (Li et al., CVPR 2021).

:class:`STMask` is mmdet's :class:`YOLACT` (backbone, FPN P3-P7, box head,
protonet) with

* :class:`~mmvis_pretrain.models.dense_heads.STMaskHead`: FCA kernels and
  anchors, FCB branches, 128-d track embeddings;
* :class:`~mmvis_pretrain.models.dense_heads.STMaskProtonet`: YOLACT's
  prototypes, exposed for cross-frame masks;
* :class:`~mmvis_pretrain.models.tracking_heads.TemporalFusion`: warps instances
  from one frame to another (optional: ``temporal_fusion=None`` is the "no
  TF" ablation);
* :class:`~mmvis_pretrain.models.trackers.STMaskTracker` at inference.

Training (frame pairs from mmdet's ``UniformRefFrameSample``, inputs ``(N,
2, C, H, W)``): the key and reference frames of the ``N`` videos go through
the network as one batch of ``2N`` images; YOLACT's losses (OHEM
classification, smooth-L1 box, cropped-BCE mask) are computed on every frame;
the track embeddings of each video's two frames are trained together
(:meth:`STMaskHead.loss_track`); the temporal fusion module warps the
regressed boxes (detached) of the reference frame's positive anchors whose
instance is also in the key frame into the key frame, with the box-shift and
shifted-mask losses against the key frame's ground truth (the reference
frame's coefficients and the key frame's prototypes are detached, as in the
reference implementation). A clip of one frame trains the frame losses only.

Inference follows the package's online protocol (one frame per
``TrackDataSample``, mmdet's ``TrackImgSampler``; a clip of several frames is
processed frame by frame): per frame, YOLACT detections with fast NMS, the
tracker (reset at ``frame_id == 0``), and ``pred_track_instances`` with
``instances_id``, video-level ``labels`` / ``scores``, ``bboxes`` and bool
``masks`` at ``ori_shape``.
"""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.detectors import YOLACT
from mmdet.models.utils import unpack_gt_instances
from mmdet.structures import TrackSampleList
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.structures import resize_masks_to_original
from .online_vis_mixin import OnlineVISMixin


@MODELS.register_module()
class STMask(OnlineVISMixin, YOLACT):
    """STMask video instance segmentor (see the module docstring).

    Args:
        backbone, neck (dict): as mmdet's YOLACT (ResNet(-DCN) + FPN P3-P7).
        bbox_head (dict): ``STMaskHead``.
        mask_head (dict): ``STMaskProtonet``.
        temporal_fusion (dict, optional): ``TemporalFusion``; None disables
            it (training loss, warping and supplementing at inference).
        tracker (dict): ``STMaskTracker`` settings.
        tf_level (int): index of the FPN output the temporal fusion module
            correlates (1: P4 of P3-P7).
        train_cfg (dict): YOLACT's assigner / sampler settings for the head,
            plus ``tf_max_rois_per_img`` (reference-frame positives per video
            trained by the temporal fusion module, random subset; 64).
        test_cfg (dict): the head's NMS settings and ``mask_thr``.
        data_preprocessor (dict): mmdet's ``TrackDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 mask_head: ConfigType,
                 temporal_fusion: OptConfigType = None,
                 tracker: ConfigType = dict(type='STMaskTracker'),
                 tf_level: int = 1,
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
        self.temporal_fusion = MODELS.build(temporal_fusion) \
            if temporal_fusion is not None else None
        self.tracker = MODELS.build(tracker)
        # the tracker warps its tracks with this module (None: "no TF")
        self.tracker.set_warp(self.temporal_fusion)
        self.tf_level = tf_level
        self.tf_max_rois_per_img = (train_cfg or {}).get(
            'tf_max_rois_per_img', 64)

    # ------------------------------------------------------------- training
    @staticmethod
    def _split_pairs(inputs: Tensor, data_samples: TrackSampleList
                     ) -> Tuple[Tensor, list, int]:
        """Key frames then reference frames as one image batch."""
        if inputs.dim() != 5:
            raise ValueError('STMask expects (N, T, C, H, W) inputs, got '
                             f'{tuple(inputs.shape)}')
        num_frames = inputs.size(1)
        if num_frames > 2:
            raise ValueError('STMask trains on frame pairs (T <= 2), got '
                             f'T={num_frames}')
        keys, refs, key_samples, ref_samples = [], [], [], []
        for i, sample in enumerate(data_samples):
            k = sample.key_frames_inds[0] if num_frames > 1 else 0
            keys.append(inputs[i, k])
            key_samples.append(sample[k])
            if num_frames > 1:
                r = sample.ref_frames_inds[0]
                refs.append(inputs[i, r])
                ref_samples.append(sample[r])
        imgs = torch.stack(keys + refs).contiguous()
        return imgs, key_samples + ref_samples, len(data_samples)

    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> Dict[str, Tensor]:
        """Losses of a batch of frame pairs.

        Args:
            inputs (Tensor): ``(N, T, C, H, W)``, ``T`` = 2 (key + reference)
                or 1.
            data_samples (list[TrackDataSample]): with ``gt_instances``
                (``bboxes``, ``labels``, ``masks``, ``instances_ids``) per
                frame.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox`` (lists per image
            as mmdet's YOLACT), ``loss_mask``, and with pairs
            ``loss_track``, ``loss_tf_bbox``, ``loss_tf_mask``.
        """
        imgs, frames, num_videos = self._split_pairs(inputs, data_samples)
        x = self.extract_feat(imgs)
        gts, gts_ignore, metas = unpack_gt_instances(frames)
        outs = self.bbox_head(x)
        losses = self.bbox_head.loss_by_feat(*outs, gts, metas, gts_ignore)
        pos_infos = self.bbox_head.get_positive_infos()
        protos, segm = self.mask_head.forward_protos(x)
        losses.update(
            self.mask_head.loss_by_feat(protos, segm, gts, metas, pos_infos))
        if len(frames) == 2 * num_videos:
            pairs = [(i, num_videos + i) for i in range(num_videos)]
            losses.update(self.bbox_head.loss_track(pos_infos, gts, pairs))
            if self.temporal_fusion is not None:
                losses.update(
                    self._loss_temporal_fusion(x, protos, pos_infos, gts,
                                               metas, num_videos))
        return losses

    def _loss_temporal_fusion(self, x: Tuple[Tensor], protos: Tensor,
                              pos_infos: InstanceList, gts: InstanceList,
                              metas: List[dict],
                              num_videos: int) -> Dict[str, Tensor]:
        """Warp reference-frame positives (images ``N..2N-1``) into their key
        frames (images ``0..N-1``).

        The RoIs are the positives' regressed boxes (detached), as at
        inference; the box-shift target is the instance's motion, the shift
        from its ground-truth box in the reference frame to the one in the
        key frame (as the reference implementation), so the module learns
        the motion rather than the detector's regression error.
        """
        h, w = protos.shape[-2:]
        input_shape = metas[0].get('batch_input_shape',
                                   metas[0]['img_shape'])[:2]
        rois, src_coeffs, src_boxes, tgt_boxes, tgt_masks = [], [], [], [], []
        for i in range(num_videos):
            info, src_gt, tgt_gt = pos_infos[num_videos + i], \
                gts[num_videos + i], gts[i]
            if info.pos_inds.numel() == 0 or len(tgt_gt) == 0:
                continue
            device = protos.device
            src_ids = src_gt.instances_ids.to(device)[
                info.pos_assigned_gt_inds]
            same = src_ids[:, None] == tgt_gt.instances_ids.to(device)[None]
            sel = same.any(1).nonzero(as_tuple=True)[0]
            if sel.numel() > self.tf_max_rois_per_img:
                sel = sel[torch.randperm(sel.numel(), device=device)
                          [:self.tf_max_rois_per_img]]
            if sel.numel() == 0:
                continue
            tgt_idx = same[sel].float().argmax(1)
            boxes = info.pred_bboxes[sel]
            rois.append(
                torch.cat([boxes.new_full((sel.numel(), 1), i), boxes], 1))
            src_coeffs.append(info.coeffs[sel].detach())
            src_boxes.append(info.bboxes[sel])
            tgt_boxes.append(tgt_gt.bboxes.to(device)[tgt_idx])
            masks = tgt_gt.masks.to_tensor(dtype=torch.float32, device=device)
            masks = F.interpolate(
                masks[None], (h, w), mode='bilinear',
                align_corners=False)[0].gt(0.5).float()
            tgt_masks.append(masks[tgt_idx])
        tf = self.temporal_fusion
        if not rois:
            zero = sum(p.sum() for p in tf.parameters()) * 0.
            return dict(loss_tf_bbox=zero, loss_tf_mask=zero)
        rois = torch.cat(rois)
        feat = x[self.tf_level]
        bbox_deltas, coeff_deltas = tf(feat[num_videos:], feat[:num_videos],
                                       rois)
        return tf.loss(bbox_deltas, coeff_deltas, torch.cat(src_boxes),
                       torch.cat(src_coeffs), torch.cat(tgt_boxes),
                       torch.cat(tgt_masks), protos[:num_videos].detach(),
                       rois[:, 0].long(), input_shape)

    # ------------------------------------------------------------ inference
    # predict(): OnlineVISMixin's, frame by frame through predict_frame
    @torch.no_grad()
    def predict_frame(self, image: Tensor, meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Detect, warp and track one frame.

        Args:
            image (Tensor): ``(1, C, H, W)`` the pre-processed frame.
            meta (dict): its metainfo (``frame_id``, ``img_shape``,
                ``ori_shape``, ``scale_factor``, ``batch_input_shape``).
            rescale (bool): outputs at ``ori_shape`` (else ``img_shape``).

        Returns:
            InstanceData: ``pred_track_instances`` of the frame.
        """
        x = self.extract_feat(image)
        outs = self.bbox_head(x)
        dets = self.bbox_head.predict_by_feat(
            *outs, batch_img_metas=[meta], rescale=False)[0]
        protos, _ = self.mask_head.forward_protos(x)
        input_shape = self.input_shape(meta, image.shape[-2:])
        tracks = self.tracker.track(
            int(meta['frame_id']), dets, protos[0], x[self.tf_level],
            input_shape)
        return self._frame_results(tracks, meta, input_shape, rescale)

    def _frame_results(self, tracks: InstanceData, meta: dict,
                       input_shape: Tuple[int, int],
                       rescale: bool) -> InstanceData:
        """Tracker output -> ``pred_track_instances`` (bool masks at
        ``ori_shape`` with ``rescale``, else at ``img_shape``)."""
        bboxes = tracks.bboxes
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(meta['scale_factor']).repeat(2)
        results = InstanceData()
        results.instances_id = tracks.instances_id.long()
        results.labels = tracks.labels.long()
        results.scores = tracks.scores
        results.bboxes = bboxes
        results.masks = resize_masks_to_original(
            tracks.masks, meta['img_shape'], self.output_shape(meta, rescale),
            pad_shape=input_shape,
            mask_thr=(self.test_cfg or {}).get('mask_thr', 0.5))
        return results

    def _forward(self, inputs: Tensor, data_samples=None) -> tuple:
        """Raw outputs (tensor mode): the head's four lists and the
        prototypes ``(N*T, P, h, w)`` of ``(N, C, H, W)`` or ``(N, T, C, H,
        W)`` inputs."""
        if inputs.dim() == 5:
            inputs = inputs.flatten(0, 1)
        x = self.extract_feat(inputs)
        protos, _ = self.mask_head.forward_protos(x)
        return tuple(self.bbox_head(x)) + (protos, )
