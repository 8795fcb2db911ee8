"""DVIS's consistent (first-appearance) matching of tracker slots.

A tracker slot must follow one object through a clip, so the assignment
of slots to ground-truth instances is made once per clip: every instance
id is matched in the first frame where it appears, by the Mask2Former cost
of that frame (:class:`~.MaskMatchCost`), among the slots not yet taken;
the slot <-> id pairs then hold for every frame of the clip. DVIS / DVIS++
realise "not yet taken" with a cost of 1e6 on the taken rows; here the
taken rows are removed from the problem, which gives the same assignment
whenever there are enough free slots and leaves the surplus ids
unassigned (instead of double-booking a slot) when there are not.
"""
from typing import Dict, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmvis_pretrain.registry import TASK_UTILS


@TASK_UTILS.register_module()
class FirstAppearanceMatcher:
    """Assign each instance id of a clip once, at its first frame.

    Args:
        match_cost (dict): the per-frame cost, default
            ``dict(type='MaskMatchCost')`` (class 2, BCE 5, dice 5).
    """

    def __init__(self, match_cost: dict = dict(type='MaskMatchCost')) -> None:
        self.match_cost = TASK_UTILS.build(match_cost)

    def __call__(self, cls_logits: Tensor, mask_logits: Tensor,
                 gt_labels: Sequence[Tensor], gt_masks: Sequence[Tensor],
                 gt_ids: Sequence[Tensor]) -> Dict[int, int]:
        """Match one clip.

        Args:
            cls_logits (Tensor): ``(T, Q, K + 1)`` slot class logits.
            mask_logits (Tensor): ``(T, Q, h, w)`` slot mask logits.
            gt_labels (Sequence[Tensor]): per frame ``(G_t,)``.
            gt_masks (Sequence[Tensor]): per frame ``(G_t, H, W)``.
            gt_ids (Sequence[Tensor]): per frame ``(G_t,)`` instance ids,
                consistent over the clip.

        Returns:
            dict[int, int]: ``{instance id: slot}``; every id at most once,
            every slot at most once.
        """
        T, Q = cls_logits.shape[:2]
        if not len(gt_labels) == len(gt_masks) == len(gt_ids) == T:
            raise ValueError(f'FirstAppearanceMatcher: {T} frames of '
                             f'predictions, {len(gt_labels)} of targets')
        assignment: Dict[int, int] = {}
        for t in range(T):
            ids = [int(i) for i in gt_ids[t]]
            new = [j for j, i in enumerate(ids) if i not in assignment]
            taken = set(assignment.values())
            free = [q for q in range(Q) if q not in taken]
            if not new or not free:
                continue
            cost = self.match_cost(cls_logits[t, free], mask_logits[t, free],
                                   gt_labels[t][new], gt_masks[t][new])
            rows, cols = linear_sum_assignment(
                np.nan_to_num(cost.cpu().numpy(), nan=1e6, posinf=1e6))
            for r, c in zip(rows, cols):
                assignment[ids[new[c]]] = free[r]
        return assignment
