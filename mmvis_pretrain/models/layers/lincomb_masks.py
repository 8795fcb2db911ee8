"""YOLACT's mask assembly: linear combination of prototypes, cropped by a box.

STMask (eq. 9 and 14) builds the mask of an instance from its mask
coefficients ``c`` (``P`` values) and the frame's prototypes ``Q``
(``P x h x w``): ``m = sigmoid(c . Q)``, zeroed outside the instance's box.
The same assembly serves the frame-level masks, the masks of tracks warped by
the temporal fusion module and their training losses, so it lives here once.

Boxes are given in input pixels ``(x1, y1, x2, y2)``; ``input_shape`` is the
``(H, W)`` of the (padded) network input that the prototypes cover, so a box
maps onto the prototype grid by ``h / H`` and ``w / W``. The crop keeps
prototype pixel ``(y, x)`` when ``x1' - padding <= x < x2' + padding`` and
likewise for ``y`` (``x1'``, ``x2'`` the box in prototype pixels, clipped to
the grid), the rule of mmdet's ``YOLACTProtonet.crop_single``.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def boxes_to_proto(boxes: Tensor, input_shape: Tuple[int, int],
                   proto_shape: Tuple[int, int]) -> Tensor:
    """Map ``(M, 4)`` boxes from input pixels to prototype pixels."""
    H, W = input_shape
    h, w = proto_shape
    scale = boxes.new_tensor([w / W, h / H, w / W, h / H])
    return boxes * scale


def crop_masks(masks: Tensor, boxes: Tensor, padding: int = 1) -> Tensor:
    """Zero ``masks`` outside ``boxes``.

    Args:
        masks (Tensor): ``(M, h, w)``.
        boxes (Tensor): ``(M, 4)`` in the masks' pixels.
        padding (int): pixels added on every side of the box.

    Returns:
        Tensor: ``(M, h, w)``, same dtype as ``masks``.
    """
    m, h, w = masks.shape
    if boxes.shape != (m, 4):
        raise ValueError(f'crop_masks needs one box per mask: {m} masks, '
                         f'boxes of shape {tuple(boxes.shape)}')
    if m == 0:
        return masks
    x1 = torch.minimum(boxes[:, 0], boxes[:, 2])
    x2 = torch.maximum(boxes[:, 0], boxes[:, 2])
    y1 = torch.minimum(boxes[:, 1], boxes[:, 3])
    y2 = torch.maximum(boxes[:, 1], boxes[:, 3])
    x1 = (x1 - padding).clamp(min=0).view(m, 1, 1)
    x2 = (x2 + padding).clamp(max=w).view(m, 1, 1)
    y1 = (y1 - padding).clamp(min=0).view(m, 1, 1)
    y2 = (y2 + padding).clamp(max=h).view(m, 1, 1)
    cols = torch.arange(w, device=masks.device, dtype=boxes.dtype)
    rows = torch.arange(h, device=masks.device, dtype=boxes.dtype)
    keep_x = (cols.view(1, 1, w) >= x1) & (cols.view(1, 1, w) < x2)
    keep_y = (rows.view(1, h, 1) >= y1) & (rows.view(1, h, 1) < y2)
    return masks * (keep_x & keep_y).to(masks.dtype)


def lincomb_masks(protos: Tensor,
                  coeffs: Tensor,
                  boxes: Optional[Tensor] = None,
                  input_shape: Optional[Tuple[int, int]] = None,
                  padding: int = 1) -> Tensor:
    """Soft instance masks ``sigmoid(coeffs @ protos)``, cropped by boxes.

    Args:
        protos (Tensor): ``(P, h, w)`` prototypes of one image, or
            ``(M, P, h, w)``: one set per instance (instances of several
            images).
        coeffs (Tensor): ``(M, P)`` mask coefficients.
        boxes (Tensor, optional): ``(M, 4)`` boxes in input pixels; None: no
            crop.
        input_shape (tuple[int, int], optional): ``(H, W)`` of the network
            input covered by the prototypes; needed with ``boxes``.
        padding (int): crop padding in prototype pixels. Defaults to 1.

    Returns:
        Tensor: ``(M, h, w)`` probabilities.
    """
    if protos.dim() == 3:
        logits = torch.einsum('mp,phw->mhw', coeffs, protos)
    elif protos.dim() == 4:
        logits = torch.einsum('mp,mphw->mhw', coeffs, protos)
    else:
        raise ValueError('protos must be (P, h, w) or (M, P, h, w), got '
                         f'{tuple(protos.shape)}')
    masks = logits.sigmoid()
    if boxes is None:
        return masks
    if input_shape is None:
        raise ValueError('lincomb_masks needs input_shape to crop by boxes')
    proto_boxes = boxes_to_proto(boxes, input_shape, masks.shape[-2:])
    return crop_masks(masks, proto_boxes, padding)
