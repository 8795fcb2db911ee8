"""Greedy non-maximum suppression on instance masks (mask IoU).

Used by the online trackers to remove duplicate detections of a frame before
association (CTVIS applies it with an IoU threshold of 0.6). Masks are
binarised (``> mask_thr`` for probabilities, as-is for bool), the pairwise
mask IoU is computed with one matrix product, and detections are visited from
the highest score down: a detection is suppressed when its IoU with an
already kept one is ``> iou_thr``.
"""
import torch
from torch import Tensor


def mask_iou_matrix(masks_a: Tensor, masks_b: Tensor) -> Tensor:
    """Pairwise IoU of two sets of binary masks.

    Args:
        masks_a (Tensor): ``(A, H, W)`` bool.
        masks_b (Tensor): ``(B, H, W)`` bool.

    Returns:
        Tensor: ``(A, B)`` float32 IoU; 0 where both masks are empty.
    """
    if masks_a.shape[1:] != masks_b.shape[1:]:
        raise ValueError('mask_iou_matrix: masks must share (H, W), got '
                         f'{tuple(masks_a.shape)} and {tuple(masks_b.shape)}')
    a = masks_a.flatten(1).float()
    b = masks_b.flatten(1).float()
    inter = a @ b.t()
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return inter / union.clamp(min=1.)


def mask_nms(masks: Tensor,
             scores: Tensor,
             iou_thr: float = 0.6,
             mask_thr: float = 0.5) -> Tensor:
    """Greedy mask NMS.

    Args:
        masks (Tensor): ``(M, H, W)`` bool masks, or float mask
            probabilities binarised with ``> mask_thr``.
        scores (Tensor): ``(M,)`` detection scores.
        iou_thr (float): A detection whose mask IoU with a higher-scored kept
            detection is ``> iou_thr`` is removed. Defaults to 0.6.
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
    iou = mask_iou_matrix(binary, binary).cpu()
    keep = torch.ones(order.numel(), dtype=torch.bool)
    for i in range(order.numel()):
        if keep[i]:
            suppressed = iou[i, i + 1:] > iou_thr
            keep[i + 1:] &= ~suppressed
    return order[keep.to(order.device)]
