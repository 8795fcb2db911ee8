"""STMask's prototype branch: mmdet's ``YOLACTProtonet`` with the prototypes
exposed and a mask loss that works on padded video batches.

The protonet (mmdet's layers: 3x3 convs on P3, x2 upsampling, a 1x1 conv to
``P`` prototypes, ReLU) is unchanged. What differs from mmdet:

* :meth:`STMaskProtonet.forward_protos` returns the prototypes
  ``(N, P, h, w)`` themselves: STMask combines one frame's prototypes with
  coefficients from another frame (the temporal fusion module, eq. 14) and
  the tracker assembles masks of warped tracks, so the prototypes are needed
  apart from the positive coefficients;
* boxes map onto the prototype grid through the padded network input
  (``batch_input_shape``), which the prototypes cover; mmdet normalises by
  the unpadded ``img_shape``, which is only right without padding (YOLACT's
  square resize) and shifts the crops of ``TrackDataPreprocessor``'s padded
  batches;
* the semantic-segmentation branch is optional (the STMask ablations run
  without it, table 4) and its target uses the 0-based labels as they are.

Mask loss (YOLACT): for each positive anchor (at most
``max_masks_to_train`` per image) the mask ``sigmoid(c . Q)`` cropped by the
assigned ground-truth box, binary cross-entropy against the ground-truth
mask resized to the prototype grid, summed over the crop and divided by the
box area (prototype pixels), summed over positives and divided by the
batch's positive count, times ``loss_mask_weight`` (6.125).
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import YOLACTProtonet
from mmdet.utils import InstanceList
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from ..layers.lincomb_masks import boxes_to_proto, crop_masks


@MODELS.register_module()
class STMaskProtonet(YOLACTProtonet):
    """YOLACT protonet that exposes its prototypes (see module docstring).

    Args: those of mmdet's ``YOLACTProtonet``; ``with_seg_branch`` defaults
    to False here, and ``crop_padding`` (prototype pixels around a box kept
    by the crop, 1 as in mmdet) is added.
    """

    def __init__(self,
                 num_classes: int,
                 *args,
                 with_seg_branch: bool = False,
                 crop_padding: int = 1,
                 **kwargs) -> None:
        super().__init__(
            num_classes, *args, with_seg_branch=with_seg_branch, **kwargs)
        self.crop_padding = crop_padding

    def forward_protos(self, x: Tuple[Tensor]
                       ) -> Tuple[Tensor, Optional[Tensor]]:
        """Prototypes (and training-time semantic logits) of a batch.

        Args:
            x (tuple[Tensor]): FPN levels; ``x[0]`` (P3) ``(N, C, H3, W3)``.

        Returns:
            tuple: prototypes ``(N, P, h, w)`` (``h = 2 * H3`` with mmdet's
            default layers) and ``(N, num_classes, H3, W3)`` semantic logits
            (None unless training with the segmentation branch).
        """
        segm = None
        if self.segm_branch is not None and self.training:
            segm = self.segm_branch(x[0])
        return self.protonet(x[0]), segm

    def loss_by_feat(self, protos: Tensor, segm_preds: Optional[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     positive_infos: InstanceList,
                     **kwargs) -> Dict[str, Tensor]:
        """Mask loss (and semantic loss with the segmentation branch).

        Args:
            protos (Tensor): ``(N, P, h, w)`` prototypes.
            segm_preds (Tensor, optional): ``(N, num_classes, H3, W3)``.
            batch_gt_instances (list[InstanceData]): ``bboxes``, ``labels``,
                ``masks`` (padded to ``batch_input_shape``).
            batch_img_metas (list[dict]): with ``batch_input_shape``.
            positive_infos (list[InstanceData]): ``coeffs``,
                ``pos_assigned_gt_inds`` per image (from the box head).

        Returns:
            dict[str, Tensor]: ``loss_mask`` (and ``loss_segm``).
        """
        losses_mask, losses_segm = [], []
        total_pos = 0
        h, w = protos.shape[-2:]
        for i, (gt, meta, info) in enumerate(
                zip(batch_gt_instances, batch_img_metas, positive_infos)):
            input_shape = meta.get('batch_input_shape',
                                   meta['img_shape'])[:2]
            gt_masks = gt.masks.to_tensor(
                dtype=torch.float32, device=protos.device)
            if segm_preds is not None:
                losses_segm.append(
                    self._segm_loss(segm_preds[i], gt_masks, gt.labels))
            pos_gt = info.pos_assigned_gt_inds
            coeffs = info.coeffs
            if pos_gt.numel() == 0 or gt_masks.size(0) == 0:
                losses_mask.append(protos[i].sum() * 0 + coeffs.sum() * 0)
                continue
            if pos_gt.numel() > self.max_masks_to_train:
                keep = torch.randperm(
                    pos_gt.numel(),
                    device=pos_gt.device)[:self.max_masks_to_train]
                pos_gt, coeffs = pos_gt[keep], coeffs[keep]
            targets = F.interpolate(
                gt_masks[None], (h, w), mode='bilinear',
                align_corners=False)[0].gt(0.5).float()[pos_gt]
            boxes = boxes_to_proto(gt.bboxes.to(protos.device)[pos_gt],
                                   input_shape, (h, w))
            masks = torch.einsum('mp,phw->mhw', coeffs, protos[i]).sigmoid()
            masks = crop_masks(masks, boxes, self.crop_padding)
            bce = F.binary_cross_entropy(
                masks.clamp(0, 1), targets, reduction='none')
            areas = ((boxes[:, 2] - boxes[:, 0]) *
                     (boxes[:, 3] - boxes[:, 1])).clamp(min=1.0)
            losses_mask.append((bce.sum(dim=(1, 2)) / areas).sum())
            total_pos += pos_gt.numel()
        loss_mask = torch.stack(losses_mask).sum() / max(total_pos, 1)
        losses = dict(loss_mask=loss_mask * self.loss_mask_weight)
        if segm_preds is not None:
            losses['loss_segm'] = torch.stack(losses_segm).mean()
        return losses

    def _segm_loss(self, segm_pred: Tensor, gt_masks: Tensor,
                   labels: Tensor) -> Tensor:
        """YOLACT's semantic loss of one image: sigmoid BCE per class against
        the union of that class's masks at the P3 resolution, summed over
        classes and averaged over pixels as mmdet (``loss_segm``'s weight
        applies)."""
        num_classes, sh, sw = segm_pred.shape
        target = segm_pred.new_zeros(segm_pred.shape)
        if gt_masks.size(0):
            small = F.interpolate(
                gt_masks[None], (sh, sw), mode='bilinear',
                align_corners=False)[0].gt(0.5).float()
            for mask, label in zip(small, labels.tolist()):
                target[label] = torch.maximum(target[label], mask)
        return self.loss_segm(
            segm_pred, target, avg_factor=sh * sw)
