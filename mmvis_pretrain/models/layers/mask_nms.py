"""Greedy non-maximum suppression on instance masks (mask IoU).

Used by the online trackers to remove duplicate detections of a frame before
association (CTVIS applies it with an IoU threshold of 0.6). Masks are
binarised (``> mask_thr`` for probabilities, as-is for bool), the pairwise
mask IoU is computed with one matrix product
(:func:`mmvis_pretrain.structures.mask_ops.mask_iou_matrix`, re-exported
here), and detections are visited from the highest score down: a detection
is suppressed when its IoU with an already kept one is ``> iou_thr``.

Edge cases:

* IoU **exactly at** ``iou_thr`` does **not** suppress (strict ``>``). The
  comparison is made in float32 (the IoU's dtype; the threshold is cast to
  it), so an IoU of ``3/5`` is kept at ``iou_thr=0.6`` and suppressed just
  below;
* two **empty** masks (no pixel above ``mask_thr``) count as duplicates:
  their IoU is 1 (``empty_iou=1``, as the references treat ``0/0``), so of
  several empty candidates only the highest-scored one stays. An empty mask
  against a non-empty one has IoU 0 (never suppressed).
"""
import torch
from torch import Tensor

from mmvis_pretrain.structures.mask_ops import mask_iou_matrix

#: IoU that mask NMS gives two empty masks (duplicates).
EMPTY_MASKS_IOU = 1.0


def mask_nms(masks: Tensor,
             scores: Tensor,
             iou_thr: float = 0.6,
             mask_thr: float = 0.5) -> Tensor:
    """Greedy mask NMS (see the module docstring for the edge cases).

    Args:
        masks (Tensor): ``(M, H, W)`` bool masks, or float mask
            probabilities binarised with ``> mask_thr``.
        scores (Tensor): ``(M,)`` detection scores.
        iou_thr (float): A detection whose mask IoU with a higher-scored kept
            detection is ``> iou_thr`` is removed; at exactly ``iou_thr`` it
            is kept. Two empty masks have IoU 1 (duplicates). Defaults to
            0.6.
        mask_thr (float): Binarisation threshold of float masks. Defaults to
            0.5.

    Returns:
        Tensor: ``(M',)`` long indices into the inputs of the kept
        detections, in descending score order (ties: lower index first).
    """
    if masks.dim() != 3 or scores.dim() != 1 or \
            masks.shape[0] != scores.shape[0]:
        raise ValueError('mask_nms: expected masks (M, H, W) and scores (M,), '
                         f'got {tuple(masks.shape)} and {tuple(scores.shape)}')
    order = torch.sort(scores, descending=True, stable=True)[1]
    if order.numel() <= 1:
        return order
    binary = masks if masks.dtype == torch.bool else masks > mask_thr
    binary = binary[order]
    iou = mask_iou_matrix(binary, binary, empty_iou=EMPTY_MASKS_IOU).cpu()
    keep = torch.ones(order.numel(), dtype=torch.bool)
    for i in range(order.numel()):
        if keep[i]:
            suppressed = iou[i, i + 1:] > iou_thr
            keep[i + 1:] &= ~suppressed
    return order[keep.to(order.device)]


__all__ = ['mask_iou_matrix', 'mask_nms', 'EMPTY_MASKS_IOU']
