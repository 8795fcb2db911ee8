"""CTVIS-style pseudo-video geometry: a crop window that pans over the clip.

CTVIS turns one image into a pseudo-video with clip-level parameters: one
shortest-edge resize, one flip decision, a rotation ramp and a crop whose
origin moves along a line over the ``T`` frames (a camera pan). The
clip-level resize and flip need no new code: mmdet's
``TransformBroadcaster(share_random_params=True)`` draws ``RandomFlip`` /
``RandomChoiceResize`` / ``RandomResize`` parameters once and applies them
to every frame of this package's clip format::

    dict(type='TransformBroadcaster', share_random_params=True,
         transforms=[
             dict(type='RandomChoiceResize',
                  scales=[(1333, 320), (1333, 480), (1333, 640)],
                  keep_ratio=True),
             dict(type='RandomFlip', prob=0.5)]),

:class:`ClipPanCrop` adds the moving crop, which per-frame broadcasting
cannot express (its offset differs per frame).
"""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import (as_box_array, merge_clip, select_instances,
                          split_clip, sync_instances_to_masks)

CROP_TYPES = ('absolute', 'absolute_range', 'relative', 'relative_range')


def draw_crop_size(img_hw: Tuple[int, int], crop_size: Sequence,
                   crop_type: str) -> Tuple[int, int]:
    """Absolute ``(crop_h, crop_w)`` for an image of ``img_hw``, capped by it.

    ``crop_type`` as in mmdet's ``RandomCrop``: ``'absolute'`` (``crop_size``
    = (h, w) pixels), ``'absolute_range'`` (h and w each uniform integers in
    ``[crop_size[0], crop_size[1]]``), ``'relative'`` (fractions (h, w) of
    the image), ``'relative_range'`` (fractions drawn uniformly in
    ``[crop_size[i], 1]``).
    """
    height, width = img_hw
    if crop_type == 'absolute':
        crop_h, crop_w = crop_size
    elif crop_type == 'absolute_range':
        low, high = crop_size
        crop_h = np.random.randint(min(height, low), min(height, high) + 1)
        crop_w = np.random.randint(min(width, low), min(width, high) + 1)
    else:
        fractions = np.asarray(crop_size, dtype=np.float64)
        if crop_type == 'relative_range':
            fractions = fractions + np.random.rand(2) * (1 - fractions)
        crop_h, crop_w = (int(height * fractions[0] + 0.5),
                          int(width * fractions[1] + 0.5))
    return (max(1, min(int(crop_h), height)), max(1, min(int(crop_w), width)))


def pan_origins(start: np.ndarray, end: np.ndarray, num_frames: int,
                spacing: str = 'uniform') -> np.ndarray:
    """Integer ``(T, 2)`` ``(x, y)`` crop origins on the segment start->end.

    ``'uniform'``: frame ``t`` at ``t / (T - 1)`` of the way (constant
    speed, first frame at ``start``, last at ``end``; T = 1 at ``start``).
    ``'random'``: sorted uniform fractions (CTVIS: monotonic, uneven speed).
    """
    if spacing == 'uniform':
        fractions = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 \
            else np.zeros(1)
    else:
        fractions = np.sort(np.random.rand(num_frames))
    origins = start[None] + fractions[:, None] * (end - start)[None]
    return np.round(origins).astype(np.int64)


def crop_frame(frame: dict, x: int, y: int, crop_h: int,
               crop_w: int) -> dict:
    """Crop one frame to ``[y, y + crop_h) x [x, x + crop_w)``.

    Crops ``img`` (and ``gt_seg_map``), ``gt_masks`` (``BitmapMasks.crop``),
    updates ``img_shape`` and ``homography_matrix`` (as mmdet's
    ``RandomCrop``); boxes come from the cropped masks and instances with an
    empty crop leave the frame. Without masks, boxes are shifted and clipped
    and boxes with no area left leave the frame.
    """
    frame['img'] = frame['img'][y:y + crop_h, x:x + crop_w, ...]
    frame['img_shape'] = frame['img'].shape[:2]
    if frame.get('gt_seg_map') is not None:
        frame['gt_seg_map'] = frame['gt_seg_map'][y:y + crop_h,
                                                  x:x + crop_w]
    shift = np.array([[1, 0, -x], [0, 1, -y], [0, 0, 1]], dtype=np.float32)
    previous = frame.get('homography_matrix')
    frame['homography_matrix'] = shift if previous is None \
        else shift @ previous
    if frame.get('gt_masks') is not None:
        frame['gt_masks'] = frame['gt_masks'].crop(
            np.array([x, y, x + crop_w, y + crop_h]))
        return sync_instances_to_masks(frame)
    if frame.get('gt_bboxes') is not None:
        _crop_boxes(frame, x, y, crop_h, crop_w)
    return frame


def _crop_boxes(frame: dict, x: int, y: int, crop_h: int,
                crop_w: int) -> None:
    """Shift and clip ``gt_bboxes``; drop the boxes left without area."""
    boxes = as_box_array(frame['gt_bboxes']) - np.array(
        [x, y, x, y], dtype=np.float32)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, crop_w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, crop_h)
    frame['gt_bboxes'] = boxes
    select_instances(frame, (boxes[:, 2] > boxes[:, 0]) &
                     (boxes[:, 3] > boxes[:, 1]))


@TRANSFORMS.register_module()
class ClipPanCrop(BaseTransform):
    """Crop a clip with a fixed-size window that pans linearly over time.

    With probability ``prob``, per clip: a crop size is drawn (``crop_type``,
    ``crop_size``, capped by the image), a start origin uniformly among the
    valid ones and an end origin uniformly at or below-right of it (as
    CTVIS's ``RandomCropClip``); frame ``t``'s origin lies on the segment
    (``spacing``), and the whole motion is reversed with ``reverse_prob``.
    Every frame is cropped to the same size; masks / boxes follow
    (``BitmapMasks.crop``, boxes from masks) and an instance outside a
    frame's window is absent from that frame (its id lives on elsewhere).

    All frames must share one image size (true after :class:`ImageToClip`
    and shared resizes). Randomness comes from ``np.random``.

    Required keys (per frame): ``img``; optional ``gt_masks``
    (``BitmapMasks``), ``gt_bboxes``, the other instance keys,
    ``gt_seg_map``. Modified keys: ``img``, ``img_shape``, the instance keys,
    ``gt_seg_map``; added: ``homography_matrix``.

    Copy-on-write: frames may share arrays, this transform never writes into
    its inputs (the contract and its debug check: :mod:`.copy_on_write`).
    The cropped images are views of the input images (no copy).

    Args:
        crop_size (tuple): ``(h, w)`` pixels or fractions, or ``(min, max)``
            pixels for ``'absolute_range'``. Defaults to (384, 600)
            (Mask2Former's video crop).
        crop_type (str): One of ``'absolute'``, ``'absolute_range'``,
            ``'relative'``, ``'relative_range'`` (see
            :func:`draw_crop_size`). Defaults to ``'absolute_range'``.
        prob (float): Probability to crop the clip. Defaults to 0.5 (CTVIS
            applies its crop with ``RandomApplyClip``'s default 0.5).
        reverse_prob (float): Probability to reverse the pan (the window
            then moves up-left). Defaults to 0.5.
        spacing (str): ``'uniform'`` (constant speed, frame 0 at the start,
            frame T-1 at the end) or ``'random'`` (sorted random positions
            on the segment, CTVIS). Defaults to ``'uniform'``.
    """

    def __init__(self,
                 crop_size: Sequence = (384, 600),
                 crop_type: str = 'absolute_range',
                 prob: float = 0.5,
                 reverse_prob: float = 0.5,
                 spacing: str = 'uniform') -> None:
        _check_crop_size(crop_size, crop_type)
        if not 0 <= prob <= 1 or not 0 <= reverse_prob <= 1:
            raise ValueError(f'prob and reverse_prob must be in [0, 1], got '
                             f'{prob}, {reverse_prob}')
        if spacing not in ('uniform', 'random'):
            raise ValueError(f"spacing must be 'uniform' or 'random', got "
                             f'{spacing}')
        self.crop_size = tuple(crop_size)
        self.crop_type = crop_type
        self.prob = prob
        self.reverse_prob = reverse_prob
        self.spacing = spacing

    def transform(self, results: dict) -> dict:
        """Crop every frame of the clip ``results`` along the pan."""
        if np.random.rand() >= self.prob:
            return results
        frames = split_clip(results)
        img_hw = _common_size(frames)
        crop_h, crop_w = draw_crop_size(img_hw, self.crop_size,
                                        self.crop_type)
        origins = self._draw_origins(img_hw, (crop_h, crop_w), len(frames))
        for frame, (x, y) in zip(frames, origins):
            crop_frame(frame, int(x), int(y), crop_h, crop_w)
        return merge_clip(frames)

    def _draw_origins(self, img_hw: Tuple[int, int],
                      crop_hw: Tuple[int, int],
                      num_frames: int) -> np.ndarray:
        """``(T, 2)`` integer ``(x, y)`` origins of the clip's windows."""
        margin = np.array([img_hw[1] - crop_hw[1], img_hw[0] - crop_hw[0]])
        start = np.array([np.random.randint(0, m + 1) for m in margin])
        end = np.array([np.random.randint(s, m + 1)
                        for s, m in zip(start, margin)])
        origins = pan_origins(start.astype(np.float64),
                              end.astype(np.float64), num_frames,
                              self.spacing)
        if np.random.rand() < self.reverse_prob:
            origins = origins[::-1]
        return origins

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f"crop_type='{self.crop_type}', prob={self.prob}, "
                f'reverse_prob={self.reverse_prob}, '
                f"spacing='{self.spacing}')")


def _check_crop_size(crop_size: Sequence, crop_type: str) -> None:
    """Raise ``ValueError`` for an invalid ``crop_size`` / ``crop_type``."""
    if crop_type not in CROP_TYPES:
        raise ValueError(f'crop_type must be one of {CROP_TYPES}, got '
                         f'{crop_type}')
    if len(crop_size) != 2:
        raise ValueError(f'crop_size must have 2 values, got {crop_size}')
    if crop_type.startswith('relative'):
        if not all(0 < s <= 1 for s in crop_size):
            raise ValueError(f'relative crop_size must be in (0, 1], got '
                             f'{crop_size}')
    elif not all(int(s) == s and s > 0 for s in crop_size):
        raise ValueError(f'absolute crop_size must be positive integers, '
                         f'got {crop_size}')
    if crop_type == 'absolute_range' and crop_size[0] > crop_size[1]:
        raise ValueError(f'absolute_range needs min <= max, got {crop_size}')


def _common_size(frames: list) -> Tuple[int, int]:
    """The ``(H, W)`` all frames share; ``ValueError`` if they differ."""
    sizes = {tuple(f['img'].shape[:2]) for f in frames}
    if len(sizes) != 1:
        raise ValueError(f'ClipPanCrop needs frames of one size, got {sizes}')
    return sizes.pop()


__all__ = ['ClipPanCrop', 'draw_crop_size', 'pan_origins', 'crop_frame']
