"""Mask2Former's set losses for a given query <-> ground-truth assignment.

The decoupled stages (``ReferringTracker``, ``TemporalRefiner``) compute
their assignment themselves (first-appearance consistent matching over a
clip, video-level Hungarian matching), so mmdet's
``Mask2FormerHead._loss_by_feat_single``, which matches inside, cannot be
reused as is; :class:`SetMaskLoss` is its loss part with the assignment as
input: the same mmdet loss modules, the same point sampling
(``get_uncertain_point_coords_with_randomness`` + ``point_sample``) and the
same normalisation (class loss over the class weights of the targets, mask
losses over the number of matched masks, averaged across ranks).
"""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.ops import point_sample
from mmdet.models.utils import get_uncertain_point_coords_with_randomness
from mmdet.utils import reduce_mean
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS


@MODELS.register_module()
class SetMaskLoss(nn.Module):
    """Classification, mask (BCE) and dice losses of assigned queries.

    Args:
        num_classes (int): ``K``; label ``K`` is no-object.
        no_object_weight (float): class weight of no-object (Mask2Former,
            DVIS: 0.1).
        loss_cls, loss_mask, loss_dice (dict): mmdet loss configs; the
            defaults are Mask2Former's / DVIS's (weights 2, 5, 5).
        num_points (int): sampled points per mask (DVIS 12544).
        oversample_ratio (float): see mmdet's point sampling (3.0).
        importance_sample_ratio (float): idem (0.75).
    """

    def __init__(self,
                 num_classes: int,
                 no_object_weight: float = 0.1,
                 loss_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=2.0,
                     reduction='mean'),
                 loss_mask: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=True,
                     reduction='mean',
                     loss_weight=5.0),
                 loss_dice: dict = dict(
                     type='mmdet.DiceLoss',
                     use_sigmoid=True,
                     activate=True,
                     reduction='mean',
                     naive_dice=True,
                     eps=1.0,
                     loss_weight=5.0),
                 num_points: int = 12544,
                 oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.class_weight = [1.0] * num_classes + [no_object_weight]
        loss_cls = dict(loss_cls, class_weight=self.class_weight)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio

    def forward(self,
                cls_logits: Tensor,
                mask_logits: Tensor,
                labels: Tensor,
                positive: Tensor,
                mask_targets: Tensor,
                num_points: Optional[int] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Losses of one prediction layer.

        Args:
            cls_logits (Tensor): ``(N, Q, K + 1)``.
            mask_logits (Tensor): ``(N, Q, h, w)``.
            labels (Tensor): ``(N, Q)`` long class targets, ``K`` for
                no-object.
            positive (Tensor): ``(N, Q)`` bool, the queries with a mask
                target.
            mask_targets (Tensor): ``(P, H, W)`` the targets of the
                ``P = positive.sum()`` positive queries, in the order of
                ``positive.nonzero()`` (any resolution: points are sampled
                in normalised coordinates).
            num_points (int, optional): overrides ``num_points`` (the
                refiner samples ``T`` times more on its ``T``-frame maps).

        Returns:
            tuple[Tensor]: ``loss_cls``, ``loss_mask``, ``loss_dice``.
        """
        num_points = num_points or self.num_points
        flat_labels = labels.flatten()
        class_weight = cls_logits.new_tensor(self.class_weight)
        loss_cls = self.loss_cls(
            cls_logits.flatten(0, 1),
            flat_labels,
            avg_factor=class_weight[flat_labels].sum())
        num_masks = reduce_mean(cls_logits.new_tensor([float(len(
            mask_targets))]))
        num_masks = max(float(num_masks), 1.)
        preds = mask_logits[positive]
        if len(mask_targets) != len(preds):
            raise ValueError(f'{len(mask_targets)} mask targets for '
                             f'{len(preds)} positive queries')
        if len(preds) == 0:
            zero = mask_logits.sum() * 0.
            return loss_cls, zero, zero
        with torch.no_grad():
            coords = get_uncertain_point_coords_with_randomness(
                preds.unsqueeze(1), None, num_points, self.oversample_ratio,
                self.importance_sample_ratio)
            point_targets = point_sample(
                mask_targets.unsqueeze(1).to(preds.dtype),
                coords).squeeze(1)
        point_preds = point_sample(preds.unsqueeze(1), coords).squeeze(1)
        loss_dice = self.loss_dice(
            point_preds, point_targets, avg_factor=num_masks)
        loss_mask = self.loss_mask(
            point_preds.reshape(-1),
            point_targets.reshape(-1),
            avg_factor=num_masks * num_points)
        return loss_cls, loss_mask, loss_dice


def layer_loss_names(num_layers: int,
                     names: Sequence[str] = ('loss_cls', 'loss_mask',
                                             'loss_dice')):
    """mmdet's deep-supervision naming: the last layer's losses plain, layer
    ``j`` of the others as ``d{j}.<name>``; yields ``(layer, name, key)``."""
    for layer in range(num_layers):
        prefix = '' if layer == num_layers - 1 else f'd{layer}.'
        for name in names:
            yield layer, name, prefix + name
