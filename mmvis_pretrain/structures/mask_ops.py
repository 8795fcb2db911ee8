"""Binary mask utilities shared by the datasets, models, evaluation, demo
and visualization (see ``docs/mask_ops.md``).

* :func:`encode_rle` / :func:`decode_rle`: ``(M, H, W)`` masks <-> COCO
  compressed RLEs ``{'size': [H, W], 'counts': str}`` (one pycocotools call
  for all masks);
* :func:`mask_boxes`: tight boxes, ``xyxy`` (mmdet's ``mask2bbox`` /
  ``BitmapMasks.get_bboxes``: ``x2`` / ``y2`` = last column / row + 1) or
  ``xywh`` (pycocotools' ``toBbox``), zeros for an empty mask;
* :func:`mask_iou_matrix`: ``(M, N)`` IoU of two sets of masks (torch), with
  the value of two empty masks as a parameter;
* :func:`resize_masks_to_original`: mask probabilities / logits of the
  network input -> the frame's original size (the online VIS models'
  bilinear resize).

Foreground is every nonzero pixel unless a function says otherwise.
"""
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import pycocotools.mask as mask_util
import torch
import torch.nn.functional as F
from torch import Tensor

#: Box formats of :func:`mask_boxes`.
BOX_FORMATS = ('xyxy', 'xywh')


def _numpy_masks(masks, where: str) -> np.ndarray:
    """``(M, H, W)`` numpy view of numpy / torch / ``BitmapMasks`` masks."""
    masks = getattr(masks, 'masks', masks)  # mmdet BitmapMasks
    if isinstance(masks, Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim != 3 and masks.size == 0 and len(masks) == 0:
        masks = masks.reshape(0, 0, 0)  # an empty list of masks
    if masks.ndim != 3:
        raise ValueError(f'{where}: masks must be (M, H, W), got shape '
                         f'{masks.shape}')
    return masks


def _as_uint8(masks: np.ndarray) -> np.ndarray:
    """0/1 ``uint8`` of nonzero pixels (a view for bool masks)."""
    if masks.dtype == np.bool_:
        return masks.view(np.uint8)
    return (masks != 0).view(np.uint8)


# --------------------------------------------------------------------------
# RLE
# --------------------------------------------------------------------------
def _fortran_on_device(masks: Tensor) -> np.ndarray:
    """pycocotools' ``(H, W, M)`` Fortran-ordered 0/1 ``uint8`` of
    ``(M, H, W)`` tensor masks, transposed where they live: ``(M, W, H)``
    C-contiguous is ``(H, W, M)`` Fortran-contiguous."""
    if masks.dim() != 3:
        raise ValueError('encode_rle: masks must be (M, H, W), got shape '
                         f'{tuple(masks.shape)}')
    if masks.dtype != torch.bool:
        masks = masks != 0
    masks = masks.transpose(1, 2).contiguous().cpu().numpy()
    return masks.view(np.uint8).transpose(2, 1, 0)


def encode_rle(masks) -> List[dict]:
    """COCO compressed RLEs of ``(M, H, W)`` masks, in one pycocotools call.

    Args:
        masks (np.ndarray | Tensor | BitmapMasks): ``(M, H, W)`` masks of any
            dtype; nonzero pixels are foreground. Tensors may live on any
            device (an accelerator's are transposed there, then copied).

    Returns:
        list[dict]: ``{'size': [H, W], 'counts': str}`` per mask (``[]`` for
        ``M == 0``); the counts of ``pycocotools.mask.encode``, decoded to
        ``str`` (JSON-ready).
    """
    masks = getattr(masks, 'masks', masks)
    if isinstance(masks, Tensor) and masks.device.type != 'cpu':
        fortran = _fortran_on_device(masks)
    else:
        masks = _numpy_masks(masks, 'encode_rle')
        fortran = np.asfortranarray(_as_uint8(masks).transpose(1, 2, 0))
    if fortran.shape[2] == 0:
        return []
    return [
        dict(size=[int(s) for s in rle['size']],
             counts=rle['counts'].decode('ascii'))
        for rle in mask_util.encode(fortran)
    ]


def decode_rle(rles: Sequence[dict],
               shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """``(M, H, W)`` bool masks of COCO RLEs, in one pycocotools call.

    Args:
        rles (Sequence[dict]): Compressed RLEs (``counts`` ``str`` or
            ``bytes``) or uncompressed ones (``counts`` a list of runs), all
            of one size.
        shape (tuple[int, int], optional): ``(H, W)``, needed only to shape
            the result of an empty ``rles``; checked against the RLEs
            otherwise.

    Returns:
        np.ndarray: ``(M, H, W)`` bool. Each mask is column-major in memory
        (pycocotools' layout, no copy); use ``np.ascontiguousarray`` where
        row-major data is needed.
    """
    rles = list(rles)
    if not rles:
        if shape is None:
            raise ValueError('decode_rle: shape is needed for no RLEs')
        return np.zeros((0, int(shape[0]), int(shape[1])), dtype=bool)
    sizes = {tuple(int(s) for s in rle['size']) for rle in rles}
    if len(sizes) > 1 or (shape is not None
                          and sizes != {tuple(int(s) for s in shape)}):
        raise ValueError(f'decode_rle: RLE sizes {sorted(sizes)} differ'
                         + ('' if shape is None else f' from {tuple(shape)}'))
    height, width = sizes.pop()
    rles = [
        mask_util.frPyObjects(rle, height, width)
        if isinstance(rle['counts'], list) else rle for rle in rles
    ]
    return mask_util.decode(rles).transpose(2, 0, 1).view(bool)


# --------------------------------------------------------------------------
# boxes
# --------------------------------------------------------------------------
def _bounding_rect(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """``cv2.boundingRect`` ``(x, y, w, h)`` of the nonzero pixels of a 2-D
    mask of any dtype and layout (column-major masks, as pycocotools
    decodes them, are read transposed instead of copied)."""
    if mask.size == 0:
        return 0, 0, 0, 0
    if mask.dtype != np.uint8:
        mask = _as_uint8(mask)
    if not mask.flags.c_contiguous and mask.T.flags.c_contiguous:
        y, x, h, w = cv2.boundingRect(mask.T)
        return x, y, w, h
    return cv2.boundingRect(np.ascontiguousarray(mask))


def mask_boxes(masks, fmt: str = 'xyxy') -> Union[np.ndarray, Tensor]:
    """Tight boxes of ``(M, H, W)`` masks (nonzero pixels).

    Conventions (both exact integers in float32):

    * ``'xyxy'``: ``(x1, y1, x2, y2)`` with ``x1`` / ``y1`` the first set
      column / row and ``x2`` / ``y2`` the last set column / row **+ 1**:
      mmdet's ``mask2bbox`` and ``BitmapMasks.get_bboxes()``;
    * ``'xywh'``: ``(x1, y1, x2 - x1, y2 - y1)``: COCO ``bbox``, pycocotools'
      ``toBbox`` of the mask's RLE.

    An empty mask gets ``(0, 0, 0, 0)`` in both (as ``mask2bbox`` and
    ``toBbox``). One ``cv2.boundingRect`` per mask (faster than ``mask2bbox``
    and than ``toBbox`` after encoding, see ``docs/mask_ops.md``).

    Args:
        masks (np.ndarray | Tensor | BitmapMasks): ``(M, H, W)`` masks of
            any dtype and memory layout.
        fmt (str): ``'xyxy'`` or ``'xywh'``. Defaults to ``'xyxy'``.

    Returns:
        np.ndarray | Tensor: ``(M, 4)`` float32; a tensor on the masks'
        device for tensor masks, else a numpy array.
    """
    if fmt not in BOX_FORMATS:
        raise ValueError(f'mask_boxes: fmt must be one of {BOX_FORMATS}, '
                         f'got {fmt!r}')
    device = masks.device if isinstance(masks, Tensor) else None
    array = _numpy_masks(masks, 'mask_boxes')
    boxes = np.zeros((len(array), 4), np.float32)
    for i, mask in enumerate(array):
        x, y, w, h = _bounding_rect(mask)
        if w:
            boxes[i] = (x, y, w, h) if fmt == 'xywh' else (x, y, x + w,
                                                           y + h)
    return boxes if device is None else torch.from_numpy(boxes).to(device)


# --------------------------------------------------------------------------
# IoU
# --------------------------------------------------------------------------
def mask_iou_matrix(masks_a: Tensor,
                    masks_b: Tensor,
                    empty_iou: float = 0.0) -> Tensor:
    """Pairwise IoU of two sets of binary masks (one matrix product).

    ``IoU = |a & b| / |a | b|``; pixel counts are summed in float32, exact
    up to ``2**24`` pixels per mask.

    Two empty masks (union 0) get ``empty_iou``:

    * ``0.0`` (default): pycocotools' ``iou``; the STMask tracker's match
      score (``models/trackers/stmask_tracker.py``), as its reference;
    * ``1.0``: "the same (empty) mask"; mask NMS
      (``models/layers/mask_nms.py``), where two empty candidates are
      duplicates.

    An empty mask against a non-empty one is always 0.

    Args:
        masks_a (Tensor): ``(A, H, W)`` bool or 0/1 masks.
        masks_b (Tensor): ``(B, H, W)`` bool or 0/1 masks.
        empty_iou (float): IoU of two empty masks. Defaults to 0.

    Returns:
        Tensor: ``(A, B)`` float32 on the masks' device.
    """
    if masks_a.shape[1:] != masks_b.shape[1:]:
        raise ValueError('mask_iou_matrix: masks must share (H, W), got '
                         f'{tuple(masks_a.shape)} and {tuple(masks_b.shape)}')
    a = masks_a.flatten(1).float()
    area_a = a.sum(1)
    if masks_b is masks_a:  # self-IoU (mask NMS): convert and count once
        b, area_b = a, area_a
    else:
        b = masks_b.flatten(1).float()
        area_b = b.sum(1)
    inter = a @ b.t()
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / union.clamp(min=1.)
    if empty_iou != 0:
        iou = torch.where(union > 0, iou, iou.new_tensor(float(empty_iou)))
    return iou


# --------------------------------------------------------------------------
# resize
# --------------------------------------------------------------------------
def resize_masks_to_original(masks: Tensor,
                             img_shape: Sequence[int],
                             ori_shape: Sequence[int],
                             pad_shape: Optional[Sequence[int]] = None,
                             mask_thr: Optional[float] = None) -> Tensor:
    """Mask probabilities / logits of the network input -> original size.

    The online VIS models' resize (bilinear, ``align_corners=False``
    throughout):

    1. with ``pad_shape``: upsample the masks, which cover the padded batch
       input, to ``pad_shape`` (``batch_input_shape``); without it the masks
       are already at the input's resolution (``>= img_shape``);
    2. crop the padding: ``[:img_h, :img_w]``;
    3. resize to ``ori_shape`` (skipped when it is the crop's size, where
       the bilinear resize is the identity);
    4. with ``mask_thr``: binarise, ``> mask_thr``.

    Masks are resized as one ``(M, 1, h, w)`` batch (bit-identical to the
    ``(1, M, h, w)`` channels some callers used).

    Args:
        masks (Tensor): ``(M, h, w)`` float masks.
        img_shape (Sequence[int]): ``(img_h, img_w, ...)`` of the resized
            frame inside the padded input.
        ori_shape (Sequence[int]): ``(H0, W0, ...)`` output size (pass
            ``img_shape`` to stay at the input's scale).
        pad_shape (Sequence[int], optional): ``(pad_h, pad_w, ...)`` of the
            padded input to upsample to first.
        mask_thr (float, optional): Binarisation threshold.

    Returns:
        Tensor: ``(M, H0, W0)``: bool with ``mask_thr``, else ``masks``'
        dtype.
    """
    if masks.dim() != 3:
        raise ValueError('resize_masks_to_original: masks must be (M, h, w), '
                         f'got shape {tuple(masks.shape)}')
    img_h, img_w = (int(s) for s in img_shape[:2])
    out_h, out_w = (int(s) for s in ori_shape[:2])
    if masks.shape[0] == 0:
        return masks.new_zeros((0, out_h, out_w),
                               dtype=masks.dtype if mask_thr is None
                               else torch.bool)
    out = masks[:, None]
    if pad_shape is not None:
        out = F.interpolate(
            out, size=tuple(int(s) for s in pad_shape[:2]), mode='bilinear',
            align_corners=False)
    out = out[:, :, :img_h, :img_w]
    if (out_h, out_w) != tuple(out.shape[-2:]):
        out = F.interpolate(
            out, size=(out_h, out_w), mode='bilinear', align_corners=False)
    out = out[:, 0]
    return out if mask_thr is None else out > mask_thr


__all__ = [
    'BOX_FORMATS', 'decode_rle', 'encode_rle', 'mask_boxes',
    'mask_iou_matrix', 'resize_masks_to_original'
]
