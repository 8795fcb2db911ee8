"""STMask's temporal fusion module (sec. 3.2, eqs. 10-14, fig. 5).

Given the features of a source frame ``s`` and a target frame ``t`` at one
FPN level (P4 by default) and boxes of instances in the source frame, the
module predicts where each instance is in the target frame and how its mask
coefficients change:

1. motion cue: the correlation of the two frames' features over a
   ``d x d`` patch of displacements (``d = 11``: ``121`` channels, divided by
   the channel count ``C``, leaky ReLU 0.1), computed with
   :class:`~mmvis_pretrain.models.layers.ops.Correlation` (mmcv's semantics,
   also on CPU);
2. fused map: ``relu([corr, f_s, f_t])`` (``d^2 + 2C`` channels);
3. RoIAlign (7x7, aligned) of the fused map on the source boxes;
4. three 3x3 conv + ReLU layers, global average pooling, then two linear
   layers: the box shift ``(dx, dy, dw, dh)`` (4, eq. 10) and the
   coefficient delta (``P``, eq. 13).

The shifted box is the shift decoded on the source box (mmdet's
``DeltaXYWHBBoxCoder``, eqs. 11-12), the shifted coefficients are the source
coefficients plus the delta (eq. 13), and the mask in the target frame is
their combination with the *target* frame's prototypes (eq. 14). Both linear
layers start at zero, so an untrained module is the identity warp.

Losses (:meth:`TemporalFusion.loss`): smooth-L1 between the predicted shift
and the shift that maps the source box (STMask trains with the instance's
ground-truth box in the source frame) onto its ground-truth box in the target
frame (summed over the 4 deltas, mean over instances, weight 5), and the binary
cross-entropy of the shifted mask against the target's ground-truth mask,
cropped by the target's ground-truth box and normalised by that box's area
(YOLACT's mask loss; mean over instances, weight 6.125).
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS, TASK_UTILS
from ..layers.lincomb_masks import boxes_to_proto, crop_masks
from ..layers.ops import Correlation


@MODELS.register_module()
class TemporalFusion(BaseModule):
    """Warp instances from a source frame into a target frame.

    Args:
        in_channels (int): channels ``C`` of the fused FPN level.
        num_protos (int): mask coefficients ``P`` per instance.
        patch_size (int): side ``d`` (odd) of the correlation's displacement
            patch. Defaults to 11.
        feat_stride (int): stride of the fused level in input pixels (P4:
            16). Defaults to 16.
        roi_size (int): RoIAlign output size. Defaults to 7.
        conv_channels (sequence[int]): widths of the 3x3 convs after the
            RoIAlign. Defaults to ``(512, 512, 1024)``.
        corr_negative_slope (float): leaky-ReLU slope on the correlation.
        bbox_coder (dict): box coder of the shift (mmdet
            ``DeltaXYWHBBoxCoder``, stds ``(0.1, 0.1, 0.2, 0.2)``).
        loss_bbox_weight (float): weight of the box-shift loss (5).
        loss_mask_weight (float): weight of the shifted-mask loss (6.125).
        smooth_l1_beta (float): beta of the smooth-L1 box loss (1).
        mask_crop_padding (int): crop padding of the shifted masks in
            prototype pixels (1, as YOLACT).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_protos: int = 32,
                 patch_size: int = 11,
                 feat_stride: int = 16,
                 roi_size: int = 7,
                 conv_channels: Sequence[int] = (512, 512, 1024),
                 corr_negative_slope: float = 0.1,
                 bbox_coder: dict = dict(
                     type='DeltaXYWHBBoxCoder',
                     target_means=[0., 0., 0., 0.],
                     target_stds=[0.1, 0.1, 0.2, 0.2]),
                 loss_bbox_weight: float = 5.0,
                 loss_mask_weight: float = 6.125,
                 smooth_l1_beta: float = 1.0,
                 mask_crop_padding: int = 1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if patch_size < 1 or patch_size % 2 == 0:
            raise ValueError(f'patch_size must be odd, got {patch_size}')
        if len(conv_channels) == 0:
            raise ValueError('conv_channels must not be empty')
        self.in_channels = in_channels
        self.num_protos = num_protos
        self.patch_size = patch_size
        self.feat_stride = feat_stride
        self.corr_negative_slope = corr_negative_slope
        self.loss_bbox_weight = loss_bbox_weight
        self.loss_mask_weight = loss_mask_weight
        self.smooth_l1_beta = smooth_l1_beta
        self.mask_crop_padding = mask_crop_padding
        self.correlation = Correlation(
            kernel_size=1, max_displacement=(patch_size - 1) // 2)
        self.roi_align = RoIAlign(
            output_size=roi_size,
            spatial_scale=1.0 / feat_stride,
            sampling_ratio=0,
            aligned=True)
        fused_channels = patch_size**2 + 2 * in_channels
        layers = []
        for channels in conv_channels:
            layers += [
                nn.Conv2d(fused_channels, channels, 3, padding=1),
                nn.ReLU(inplace=True)
            ]
            fused_channels = channels
        self.convs = nn.Sequential(*layers)
        self.fc_bbox = nn.Linear(fused_channels, 4)
        self.fc_coeff = nn.Linear(fused_channels, num_protos)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)

    def init_weights(self) -> None:
        """Convs by ``init_cfg`` (PyTorch default otherwise); both output
        layers zero: the untrained module is the identity warp."""
        super().init_weights()
        for fc in (self.fc_bbox, self.fc_coeff):
            nn.init.zeros_(fc.weight)
            nn.init.zeros_(fc.bias)

    # ------------------------------------------------------------- forward
    def fuse(self, feat_src: Tensor, feat_tgt: Tensor) -> Tensor:
        """Correlation + both frames' features.

        Args:
            feat_src (Tensor): ``(N, C, H, W)`` source-frame features.
            feat_tgt (Tensor): ``(N, C, H, W)`` target-frame features.

        Returns:
            Tensor: ``(N, d^2 + 2C, H, W)``.
        """
        n, c, h, w = feat_src.shape
        corr = self.correlation(feat_src, feat_tgt).reshape(n, -1, h, w) / c
        corr = F.leaky_relu(corr, self.corr_negative_slope)
        return F.relu(torch.cat([corr, feat_src, feat_tgt], dim=1))

    def forward(self, feat_src: Tensor, feat_tgt: Tensor,
                rois: Tensor) -> Tuple[Tensor, Tensor]:
        """Box shifts and coefficient deltas of the source boxes.

        Args:
            feat_src (Tensor): ``(N, C, H, W)`` source-frame features.
            feat_tgt (Tensor): ``(N, C, H, W)`` target-frame features.
            rois (Tensor): ``(M, 5)`` ``(batch_index, x1, y1, x2, y2)``
                source boxes in input pixels.

        Returns:
            tuple[Tensor, Tensor]: box deltas ``(M, 4)`` and coefficient
            deltas ``(M, P)``.
        """
        if rois.numel() == 0:
            return rois.new_zeros(0, 4), rois.new_zeros(0, self.num_protos)
        fused = self.fuse(feat_src, feat_tgt)
        if fused.dtype == torch.bfloat16 and not fused.is_cuda:
            # mmcv's RoIAlign has no bf16 CPU kernel (CPU autocast runs in
            # bf16): pool in fp32, outside autocast
            with torch.autocast(device_type='cpu', enabled=False):
                pooled = self.roi_align(fused.float(), rois.float())
        else:
            pooled = self.roi_align(fused, rois.to(fused.dtype))
        x = self.convs(pooled)
        x = x.mean(dim=(2, 3))
        return self.fc_bbox(x), self.fc_coeff(x)

    def warp(self,
             feat_src: Tensor,
             feat_tgt: Tensor,
             rois: Tensor,
             src_coeffs: Tensor,
             max_shape: Optional[Tuple[int, int]] = None
             ) -> Tuple[Tensor, Tensor]:
        """Boxes and mask coefficients of the source instances in the target
        frame (eqs. 11-13).

        Args:
            feat_src, feat_tgt (Tensor): ``(N, C, H, W)``.
            rois (Tensor): ``(M, 5)`` source boxes with batch index.
            src_coeffs (Tensor): ``(M, P)`` source mask coefficients.
            max_shape (tuple[int, int], optional): ``(H, W)`` to clip the
                shifted boxes to.

        Returns:
            tuple[Tensor, Tensor]: boxes ``(M, 4)`` and coefficients
            ``(M, P)`` in the target frame.
        """
        deltas, coeff_deltas = self(feat_src, feat_tgt, rois)
        boxes = self.bbox_coder.decode(
            rois[:, 1:], deltas, max_shape=max_shape)
        return boxes, src_coeffs + coeff_deltas

    # ---------------------------------------------------------------- loss
    def loss(self, bbox_deltas: Tensor, coeff_deltas: Tensor,
             src_boxes: Tensor, src_coeffs: Tensor, tgt_boxes: Tensor,
             tgt_masks: Tensor, tgt_protos: Tensor, batch_inds: Tensor,
             input_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Box-shift and shifted-mask losses.

        Args:
            bbox_deltas (Tensor): ``(M, 4)`` predicted box shifts.
            coeff_deltas (Tensor): ``(M, P)`` predicted coefficient deltas.
            src_boxes (Tensor): ``(M, 4)`` source boxes the target shift is
                encoded against, input pixels: the RoIs themselves, or (as
                STMask's training) the instances' ground-truth boxes in the
                source frame, so that the target is the pure motion.
            src_coeffs (Tensor): ``(M, P)`` source mask coefficients.
            tgt_boxes (Tensor): ``(M, 4)`` ground-truth boxes of the same
                instances in the target frame, input pixels.
            tgt_masks (Tensor): ``(M, h, w)`` their ground-truth masks on the
                prototype grid (0/1).
            tgt_protos (Tensor): ``(N, P, h, w)`` target-frame prototypes.
            batch_inds (Tensor): ``(M,)`` image of each instance in
                ``tgt_protos``.
            input_shape (tuple[int, int]): ``(H, W)`` of the network input
                the prototypes cover.

        Returns:
            dict[str, Tensor]: ``loss_tf_bbox`` and ``loss_tf_mask``.
        """
        if bbox_deltas.size(0) == 0:
            zero = bbox_deltas.sum() * 0 + coeff_deltas.sum() * 0
            return dict(loss_tf_bbox=zero, loss_tf_mask=zero)
        targets = self.bbox_coder.encode(src_boxes, tgt_boxes)
        loss_bbox = F.smooth_l1_loss(
            bbox_deltas, targets, beta=self.smooth_l1_beta,
            reduction='none').sum(1).mean()

        coeffs = src_coeffs + coeff_deltas
        logits = coeffs.new_zeros(tgt_masks.shape)
        for b in batch_inds.unique():
            sel = batch_inds == b
            logits[sel] = torch.einsum('mp,phw->mhw', coeffs[sel],
                                       tgt_protos[b])
        proto_boxes = boxes_to_proto(tgt_boxes, input_shape,
                                     tgt_masks.shape[-2:])
        masks = crop_masks(logits.sigmoid(), proto_boxes,
                           self.mask_crop_padding)
        bce = F.binary_cross_entropy(
            masks.clamp(0, 1), tgt_masks.to(masks.dtype), reduction='none')
        areas = ((proto_boxes[:, 2] - proto_boxes[:, 0]) *
                 (proto_boxes[:, 3] - proto_boxes[:, 1])).clamp(min=1.0)
        loss_mask = (bce.sum(dim=(1, 2)) / areas).mean()
        return dict(
            loss_tf_bbox=loss_bbox * self.loss_bbox_weight,
            loss_tf_mask=loss_mask * self.loss_mask_weight)
