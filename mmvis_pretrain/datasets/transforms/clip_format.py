"""The clip format of mmdet's video pipelines, and the bridge from images.

mmdet's video pipelines (``UniformRefFrameSample`` -> ``TransformBroadcaster``
-> ``PackTrackInputs``) carry a clip as **one results dict whose every value
is a list with one entry per frame** (``img``: T arrays ``(H, W, 3)``,
``gt_bboxes``: T float32 arrays ``(n_t, 4)`` x1y1x2y2 (as
``LoadTrackAnnotations`` gives them; mmdet's transforms accept them through
``autocast_box_type``), ``gt_masks``: T ``BitmapMasks
(n_t, H, W)``, ``gt_bboxes_labels`` / ``gt_instances_ids`` /
``gt_ignore_flags``: T arrays ``(n_t,)``, ``frame_id``: T ints, ...). Each
frame may hold a different subset of the instances; ``gt_instances_ids``
links them across frames.

:class:`~.image_to_clip.ImageToClip` turns one decoded image sample (after
``LoadImageFromFile`` + ``LoadAnnotations``) into that format, so every
video transform of mmdet (``TransformBroadcaster(share_random_params=True)``
with ``Resize`` / ``RandomFlip`` ...) and of this package applies, and
``PackTrackInputs`` yields a ``TrackDataSample``. The image is decoded and its
annotations parsed once per clip, not per frame.

:func:`split_clip` / :func:`merge_clip` convert between the clip dict and a
list of per-frame dicts (what ``TransformBroadcaster`` does internally);
:func:`sync_instances_to_masks` re-derives boxes from masks and drops the
instances a frame no longer shows; :func:`clip_image_buffer` /
:func:`stack_frames` let a transform write the frames' new images into one
``(T, H, W, C)`` array that the packer then uses without copying.
"""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmvis_pretrain.structures.mask_ops import mask_boxes

#: Per-instance keys of a frame: their first axis indexes the instances.
INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks',
                 'gt_instances_ids', 'gt_ignore_flags')


def split_clip(results: Dict[str, list]) -> List[dict]:
    """Clip dict (every value a T-list) -> T per-frame dicts.

    Raises:
        ValueError: if the values are not lists of one common length.
    """
    lengths = {k: len(v) for k, v in results.items()}
    bad = [k for k, v in results.items() if not isinstance(v, list)]
    if bad or len(set(lengths.values())) != 1:
        raise ValueError(
            'a clip needs every value to be a list with one entry per frame; '
            f'got lengths {lengths}' + (f', non-lists {bad}' if bad else ''))
    num_frames = next(iter(lengths.values()))
    return [{k: v[t] for k, v in results.items()} for t in range(num_frames)]


def merge_clip(frames: List[dict]) -> Dict[str, list]:
    """T per-frame dicts -> clip dict (the inverse of :func:`split_clip`)."""
    keys = frames[0].keys()
    return {k: [f[k] for f in frames] for k in keys}


def select_instances(frame: dict, keep: np.ndarray) -> dict:
    """Keep the instances ``keep`` (bool ``(n,)`` or indices) of a frame."""
    keep = np.asarray(keep)
    if keep.dtype == bool:
        keep = np.flatnonzero(keep)
    for key in INSTANCE_KEYS:
        if key not in frame:
            continue
        value = frame[key]
        frame[key] = wrap_bitmap_masks(value.masks[keep]) \
            if isinstance(value, BitmapMasks) else value[keep]
    return frame


def sync_instances_to_masks(frame: dict) -> dict:
    """Boxes from masks; instances with an empty mask leave the frame.

    After geometry (rotation, crop, paste) a mask is the truth: its tight box
    becomes ``gt_bboxes`` and an instance whose mask is empty is absent from
    this frame (its id lives on in the other frames).

    Args:
        frame (dict): One frame with ``gt_masks`` (``BitmapMasks``) and the
            other :data:`INSTANCE_KEYS`.

    Returns:
        dict: ``frame``, updated in place.
    """
    masks = frame.get('gt_masks')
    if masks is None:
        return frame
    if isinstance(masks, PolygonMasks):
        raise TypeError('clip transforms need BitmapMasks: use '
                        'LoadAnnotations(with_mask=True, poly2mask=True)')
    boxes = mask_boxes(masks)
    visible = boxes[:, 2] > boxes[:, 0]  # an empty mask has a zero box
    if not visible.all():
        select_instances(frame, visible)
        boxes = boxes[visible]
    if 'gt_bboxes' in frame:
        frame['gt_bboxes'] = boxes
    return frame


#: Tight ``(n, 4)`` float32 x1y1x2y2 boxes of ``BitmapMasks`` (empty: 0s),
#: the numbers of mmdet's ``BitmapMasks.get_bboxes`` (``x2`` / ``y2`` = last
#: column / row + 1): :func:`mmvis_pretrain.structures.mask_ops.mask_boxes`,
#: kept under this module's public name.
boxes_of_masks = mask_boxes


def as_box_array(boxes) -> np.ndarray:
    """``HorizontalBoxes`` / array-like -> float32 ``(n, 4)`` array."""
    if isinstance(boxes, BaseBoxes):
        boxes = boxes.numpy()
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def _frame_copy(value):
    """An independent copy of ``value`` for another frame (``copy=True``):
    images, masks, boxes and per-instance arrays are copied, read-only
    metadata (paths, shapes, the raw ``instances`` annotations) is shared."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, BitmapMasks):
        return wrap_bitmap_masks(value.masks.copy())
    if isinstance(value, (BaseBoxes, PolygonMasks)):
        return copy.deepcopy(value)
    return value


def wrap_bitmap_masks(masks: np.ndarray) -> BitmapMasks:
    """``BitmapMasks`` around a ``(n, H, W)`` array without copying it.

    mmdet's constructor always re-stacks the array (a full copy); on the
    per-frame hot path of clip transforms that copy is pure overhead.
    """
    if masks.ndim != 3:
        raise ValueError(f'masks must be (n, H, W), got {masks.shape}')
    out = BitmapMasks.__new__(BitmapMasks)
    out.height, out.width = masks.shape[1:]
    out.masks = masks
    return out


def clip_image_buffer(images: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """An uninitialised ``(T, H, W, C)`` buffer for new images of the T
    frames ``images`` (same shape and dtype), or None if their shapes or
    dtypes differ.

    A transform that gives every frame a new image writes frame ``t`` into
    ``buffer[t]`` instead of a separate array: the packer then takes the
    buffer as the stacked clip (:func:`stack_frames`) instead of copying
    the T images into a new one.
    """
    first = images[0]
    if any(img.shape != first.shape or img.dtype != first.dtype
           for img in images[1:]):
        return None
    return np.empty((len(images), ) + first.shape, first.dtype)


def stack_frames(images: Sequence[np.ndarray]) -> np.ndarray:
    """``np.stack(images)``, without the copy when it can.

    When ``images`` are exactly the slices ``buffer[0], ..., buffer[T - 1]``
    of one C-contiguous array ``buffer`` of shape ``(T, *images[0].shape)``
    (see :func:`clip_image_buffer`), that array is returned: it holds the
    same values, shape, dtype and layout as ``np.stack(images)`` (and shares
    memory with the frames). Otherwise ``np.stack(images)``.

    Args:
        images (Sequence[np.ndarray]): T arrays of one shape.

    Returns:
        np.ndarray: ``(T, *shape)``, C-contiguous.
    """
    first = images[0]
    buffer = first.base
    if (isinstance(buffer, np.ndarray) and buffer.flags.c_contiguous
            and buffer.dtype == first.dtype
            and buffer.shape == (len(images), ) + first.shape):
        start = buffer.__array_interface__['data'][0]
        step = first.nbytes
        if all(img.base is buffer and img.flags.c_contiguous
               and img.shape == first.shape and img.dtype == first.dtype
               and img.__array_interface__['data'][0] == start + t * step
               for t, img in enumerate(images)):
            return buffer
    return np.stack(images, axis=0)


__all__ = [
    'split_clip', 'merge_clip', 'select_instances',
    'sync_instances_to_masks', 'boxes_of_masks', 'as_box_array',
    'wrap_bitmap_masks', 'INSTANCE_KEYS', 'clip_image_buffer', 'stack_frames'
]
