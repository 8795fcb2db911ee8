"""Slow, smooth rotation of a whole clip (the Rotation op of CoSt).

Rotating every frame of a pseudo-video by its own random angle makes the
frames jump (paper, table 2: +-45 / +-60 degrees hurt); one angle for all
frames gives no motion at all. :class:`ClipRotate` draws a start and an end
angle within ``+-max_angle`` once per clip and rotates frame ``t`` by the
linearly interpolated angle, so the clip turns slowly and monotonically, at
most ``max_step`` degrees from one frame to the next.

Geometry: the canvas keeps its size, the rotation centre is the image centre
(``((w - 1) / 2, (h - 1) / 2)``, as ``mmcv.imrotate``), uncovered pixels get
``img_border_value``. Masks are rotated with nearest-neighbour sampling, so
they stay binary and never leave the image; boxes are then re-derived from
the masks (:func:`sync_instances_to_masks`), and an instance rotated out of
a frame is absent from that frame only (its id lives on in the others).
Without masks, the rotated box corners give the new box, clipped to the
image. Angles follow mmcv: degrees, positive = clockwise on screen.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.mask import BitmapMasks

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import (as_box_array, merge_clip, select_instances,
                          split_clip, sync_instances_to_masks,
                          wrap_bitmap_masks)

#: cv2.warpAffine (OpenCV 5) takes at most this many channels at once.
_MAX_CHANNELS = 128


def sample_clip_angles(num_frames: int, max_angle: float,
                       max_step: Optional[float] = None) -> np.ndarray:
    """Monotonic per-frame angles of one clip (uses ``np.random``).

    The start angle ``a0`` is uniform in ``[-max_angle, max_angle]``; the end
    angle ``a1`` is uniform in that range intersected with
    ``a0 +- max_step * (T - 1)``; frame ``t`` gets ``linspace(a0, a1, T)[t]``.

    Args:
        num_frames (int): T >= 1.
        max_angle (float): Bound on ``|angle|`` in degrees.
        max_step (float, optional): Bound on the change between consecutive
            frames in degrees; None: only ``max_angle`` bounds it.

    Returns:
        np.ndarray: ``(T,)`` float64 angles in degrees.
    """
    start = np.random.uniform(-max_angle, max_angle)
    if num_frames == 1:
        return np.array([start])
    span = np.inf if max_step is None else max_step * (num_frames - 1)
    low, high = max(-max_angle, start - span), min(max_angle, start + span)
    end = np.random.uniform(low, high)
    return np.linspace(start, end, num_frames)


def rotation_matrix(img_shape: Tuple[int, int], angle: float) -> np.ndarray:
    """``(2, 3)`` affine matrix of ``mmcv.imrotate(img, angle)``.

    Args:
        img_shape (tuple[int, int]): ``(h, w)``.
        angle (float): Degrees, positive = clockwise (mmcv's convention).
    """
    h, w = img_shape
    center = ((w - 1) * 0.5, (h - 1) * 0.5)
    return cv2.getRotationMatrix2D(center, -angle, 1.0)


def rotate_masks(masks: BitmapMasks, angle: float) -> BitmapMasks:
    """Rotate ``(n, H, W)`` bitmap masks (nearest neighbour, border 0).

    Works for any ``n`` (cv2.warpAffine takes at most 128 channels per
    call; mmdet's ``BitmapMasks.rotate`` fails beyond that).
    """
    h, w = masks.height, masks.width
    if len(masks) == 0:
        return BitmapMasks(np.zeros((0, h, w), np.uint8), h, w)
    chunks = []
    for start in range(0, len(masks), _MAX_CHANNELS):
        chunk = masks.masks[start:start + _MAX_CHANNELS].transpose(1, 2, 0)
        rotated = mmcv.imrotate(np.ascontiguousarray(chunk), angle,
                                border_value=0, interpolation='nearest')
        chunks.append(rotated.reshape(h, w, -1).transpose(2, 0, 1))
    return wrap_bitmap_masks(
        np.ascontiguousarray(np.concatenate(chunks), masks.masks.dtype))


def rotate_boxes(boxes: np.ndarray, matrix: np.ndarray,
                 img_shape: Tuple[int, int]) -> np.ndarray:
    """Enclosing boxes of the rotated corners, clipped to the image.

    Args:
        boxes (np.ndarray): ``(n, 4)`` x1y1x2y2.
        matrix (np.ndarray): ``(2, 3)`` affine matrix.
        img_shape (tuple[int, int]): ``(h, w)``.

    Returns:
        np.ndarray: ``(n, 4)`` float32 x1y1x2y2.
    """
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1),
                        np.stack([x1, y2], -1), np.stack([x2, y2], -1)], 1)
    ones = np.ones((*corners.shape[:2], 1))
    moved = np.concatenate([corners, ones], -1) @ matrix.T  # (n, 4, 2)
    h, w = img_shape
    out = np.concatenate([moved.min(1), moved.max(1)], -1)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    return out.astype(np.float32).reshape(-1, 4)


def record_homography(frame: dict, affine: np.ndarray) -> None:
    """Compose the ``(2, 3)`` ``affine`` into ``frame['homography_matrix']``
    (float32 ``(3, 3)``, as mmdet's geometric transforms record it)."""
    matrix = np.vstack([affine, [0., 0., 1.]]).astype(np.float32)
    previous = frame.get('homography_matrix')
    frame['homography_matrix'] = matrix if previous is None \
        else matrix @ previous


@TRANSFORMS.register_module()
class ClipRotate(BaseTransform):
    """Rotate a clip with slowly, monotonically changing angles.

    Input is the clip format of :mod:`.clip_format` (one dict, every value a
    T-list). Per frame ``t`` with angle ``a_t`` (see
    :func:`sample_clip_angles`):

    * ``img`` ``(H, W, C)``: rotated (``interpolation``), border
      ``img_border_value``; size unchanged;
    * ``gt_masks`` ``BitmapMasks (n_t, H, W)``: rotated (nearest); instances
      whose mask became empty leave this frame, ``gt_bboxes`` become the
      tight boxes of the masks;
    * without ``gt_masks``: ``gt_bboxes`` ``(n_t, 4)`` become the clipped
      enclosing boxes of the rotated corners (empty ones leave the frame);
    * ``gt_seg_map`` ``(H, W)``: rotated (nearest), border
      ``seg_ignore_label``;
    * ``homography_matrix`` ``(3, 3)``: the rotation is composed into it
      (added if absent), as mmdet's ``Rotate`` does;
    * ``rotate_angle``: ``a_t`` is recorded (a new T-list key).

    Args:
        max_angle (float): Angles stay in ``[-max_angle, max_angle]``
            degrees. Defaults to 15 (paper, table 2).
        max_step (float, optional): Largest change of the angle between two
            consecutive frames, in degrees; None: start and end angles are
            independent within ``max_angle``. Defaults to 5.
        prob (float): Probability to rotate a clip. Defaults to 1.0.
        img_border_value (int | float | tuple): Fill of the uncovered image
            pixels; a number fills every channel. Defaults to 128 (as
            mmdet's geometric transforms).
        seg_ignore_label (int): Fill of uncovered ``gt_seg_map`` pixels.
            Defaults to 255.
        interpolation (str): Image interpolation of ``mmcv.imrotate``.
            Defaults to 'bilinear'.
    """

    def __init__(self,
                 max_angle: float = 15.,
                 max_step: Optional[float] = 5.,
                 prob: float = 1.0,
                 img_border_value: Union[int, float, tuple] = 128,
                 seg_ignore_label: int = 255,
                 interpolation: str = 'bilinear') -> None:
        if max_angle < 0 or (max_step is not None and max_step < 0):
            raise ValueError('max_angle and max_step must be >= 0, got '
                             f'{max_angle}, {max_step}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.max_angle = float(max_angle)
        self.max_step = None if max_step is None else float(max_step)
        self.prob = prob
        if isinstance(img_border_value, (int, float)):
            img_border_value = (float(img_border_value), ) * 3
        self.img_border_value = tuple(img_border_value)
        self.seg_ignore_label = seg_ignore_label
        self.interpolation = interpolation

    def sample_angles(self, num_frames: int) -> np.ndarray:
        """``(T,)`` monotonic angles of one clip, within ``+-max_angle``."""
        return sample_clip_angles(num_frames, self.max_angle, self.max_step)

    def transform(self, results: dict) -> dict:
        """Rotate the clip ``results`` (every value a T-list)."""
        if self.prob < 1 and np.random.rand() > self.prob:
            return results
        num_frames = len(results['img'])
        return self.rotate_clip(results, self.sample_angles(num_frames))

    def rotate_clip(self, results: dict, angles: Sequence[float]) -> dict:
        """Rotate frame ``t`` of the clip by ``angles[t]`` degrees."""
        frames = split_clip(results)
        if len(angles) != len(frames):
            raise ValueError(f'{len(angles)} angles for {len(frames)} frames')
        clip = merge_clip([
            self.rotate_frame(frame, float(angle))
            for frame, angle in zip(frames, angles)
        ])
        clip['rotate_angle'] = [float(angle) for angle in angles]
        return clip

    def rotate_frame(self, frame: dict, angle: float) -> dict:
        """Rotate one frame dict (not a clip) by ``angle`` degrees."""
        img = frame['img']
        img_shape = img.shape[:2]
        frame['img'] = mmcv.imrotate(
            img, angle, border_value=self.img_border_value,
            interpolation=self.interpolation).astype(img.dtype)
        if 'gt_seg_map' in frame:
            frame['gt_seg_map'] = mmcv.imrotate(
                frame['gt_seg_map'], angle, border_value=self.seg_ignore_label,
                interpolation='nearest')
        if 'gt_masks' in frame:
            frame['gt_masks'] = rotate_masks(frame['gt_masks'], angle)
            sync_instances_to_masks(frame)
        elif 'gt_bboxes' in frame:
            self._rotate_boxes_only(frame, angle, img_shape)
        record_homography(frame, rotation_matrix(img_shape, angle))
        return frame

    @staticmethod
    def _rotate_boxes_only(frame: dict, angle: float,
                           img_shape: Tuple[int, int]) -> None:
        """Boxes of a frame without masks; empty boxes leave the frame."""
        boxes = rotate_boxes(as_box_array(frame['gt_bboxes']),
                             rotation_matrix(img_shape, angle), img_shape)
        frame['gt_bboxes'] = boxes
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        select_instances(frame, keep)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_angle={self.max_angle}, '
                f'max_step={self.max_step}, prob={self.prob}, '
                f'img_border_value={self.img_border_value}, '
                f'seg_ignore_label={self.seg_ignore_label}, '
                f'interpolation={self.interpolation!r})')


__all__ = ['ClipRotate', 'sample_clip_angles', 'rotate_masks',
           'rotate_boxes', 'rotation_matrix', 'record_homography']
