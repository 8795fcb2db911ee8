"""Mask2Former's matching cost of mask predictions, as a reusable matrix.

mmdet's ``Mask2FormerHead._get_targets_single`` builds this cost (class +
point-sampled BCE + dice, on random points shared by predictions and
targets) and feeds it to ``HungarianAssigner`` in one go; the decoupled
stages need the matrix itself (to block already-taken queries, or on
``T``-frame video masks), so :class:`MaskMatchCost` returns it, built from
the same mmdet match costs (``ClassificationCost``,
``CrossEntropyLossCost``, ``DiceCost``).
"""
from typing import Optional, Sequence

import torch
from mmcv.ops import point_sample
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import TASK_UTILS


@TASK_UTILS.register_module()
class MaskMatchCost:
    """``(Q, G)`` matching cost between mask predictions and targets.

    Args:
        match_costs (Sequence[dict]): mmdet match costs; default DVIS's /
            Mask2Former's: class 2, sigmoid CE 5, dice 5.
        num_points (int): random points shared by predictions and targets
            (DVIS 12544).
    """

    def __init__(self,
                 match_costs: Sequence[dict] = (
                     dict(type='mmdet.ClassificationCost', weight=2.0),
                     dict(type='mmdet.CrossEntropyLossCost', weight=5.0,
                          use_sigmoid=True),
                     dict(type='mmdet.DiceCost', weight=5.0, pred_act=True,
                          eps=1.0)),
                 num_points: int = 12544) -> None:
        self.match_costs = [TASK_UTILS.build(c) for c in match_costs]
        self.num_points = num_points

    @torch.no_grad()
    def __call__(self,
                 cls_logits: Tensor,
                 mask_logits: Tensor,
                 gt_labels: Tensor,
                 gt_masks: Tensor,
                 num_points: Optional[int] = None) -> Tensor:
        """Cost of assigning prediction ``q`` to target ``g``.

        Args:
            cls_logits (Tensor): ``(Q, K + 1)``.
            mask_logits (Tensor): ``(Q, h, w)``.
            gt_labels (Tensor): ``(G,)`` long.
            gt_masks (Tensor): ``(G, H, W)`` (any resolution).
            num_points (int, optional): overrides ``num_points``.

        Returns:
            Tensor: ``(Q, G)`` float32.
        """
        num_points = num_points or self.num_points
        Q, G = len(cls_logits), len(gt_labels)
        if G == 0:
            return cls_logits.new_zeros((Q, 0), dtype=torch.float32)
        coords = torch.rand((1, num_points, 2), device=cls_logits.device)
        pred_points = point_sample(
            mask_logits.float().unsqueeze(1),
            coords.repeat(Q, 1, 1)).squeeze(1)
        gt_points = point_sample(
            gt_masks.float().unsqueeze(1), coords.repeat(G, 1,
                                                         1)).squeeze(1)
        pred = InstanceData(scores=cls_logits.float(), masks=pred_points)
        gt = InstanceData(labels=gt_labels.long(), masks=gt_points)
        return sum(cost(pred, gt) for cost in self.match_costs).float()
