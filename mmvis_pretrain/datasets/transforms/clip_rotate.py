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
the masks (as :func:`sync_instances_to_masks` would), and an instance
rotated out of a frame is absent from that frame only (its id lives on in
the others). Masks rotate instance by instance on the window each can reach
(:func:`rotate_mask_array`), with the same pixels as a full-frame
``mmcv.imrotate``.
Without masks, the rotated box corners give the new box, clipped to the
image. Angles follow mmcv: degrees, positive = clockwise on screen.
"""
import threading
from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import (as_box_array, merge_clip, select_instances,
                          split_clip, wrap_bitmap_masks)
from .contiguous import contiguous_image


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


#: Frames up to this side length rotate masks through an int16 sampling map.
_MAX_MAP_SIDE = 32767
#: Extra destination pixels around a window: the sampling runs in float32,
#: so a pixel may round to a source pixel a hair outside the exact bound.
_WINDOW_MARGIN = 2
#: ``(H, W, 4)`` uint8 view of ``(H, W, 2)`` uint16 ``(x, y)`` pixel
#: coordinates, grown on demand; frames use its top-left corner.
_coords = np.zeros((0, 0, 4), np.uint8)
#: Per-thread memory reused by the sampling maps (a fresh map per frame
#: costs page faults worth a full-frame warp).
_scratch = threading.local()


def rotation_matrix(img_shape: Tuple[int, int], angle: float) -> np.ndarray:
    """``(2, 3)`` affine matrix of ``mmcv.imrotate(img, angle)``.

    Args:
        img_shape (tuple[int, int]): ``(h, w)``.
        angle (float): Degrees, positive = clockwise (mmcv's convention).
    """
    h, w = img_shape
    center = ((w - 1) * 0.5, (h - 1) * 0.5)
    return cv2.getRotationMatrix2D(center, -angle, 1.0)


def _coordinate_image(h: int, w: int) -> np.ndarray:
    """``(h, w, 4)`` uint8 image whose pixel ``(y, x)`` holds the uint16
    pair ``(x, y)`` (a view into a cache shared by all frame sizes)."""
    global _coords
    if _coords.shape[0] < h or _coords.shape[1] < w:
        big_h, big_w = max(h, _coords.shape[0]), max(w, _coords.shape[1])
        pairs = np.empty((big_h, big_w, 2), np.uint16)
        pairs[..., 0] = np.arange(big_w, dtype=np.uint16)
        pairs[..., 1] = np.arange(big_h, dtype=np.uint16)[:, None]
        _coords = pairs.view(np.uint8)
    return _coords[:h, :w]


def _scratch_array(name: str, shape: Tuple[int, ...]) -> np.ndarray:
    """An uninitialised uint8 array of ``shape`` in this thread's scratch
    memory ``name`` (grown on demand, reused by the next call: a fresh
    frame-sized array per frame costs page faults worth a warp)."""
    size = int(np.prod(shape))
    buffer = getattr(_scratch, name, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, np.uint8)
        setattr(_scratch, name, buffer)
    return buffer[:size].reshape(shape)


def _sampling_map(matrix: np.ndarray, img_shape: Tuple[int, int],
                  rows: int) -> np.ndarray:
    """Source pixel that ``cv2.warpAffine(img, matrix, (w, h),
    INTER_NEAREST)`` copies into each destination pixel of rows ``[0, rows)``
    as an ``(rows, w, 2)`` int16 ``(x, y)`` map (``-1``: border), the
    ``CV_16SC2`` map of ``cv2.remap``.

    It is that warp itself, applied to an image of pixel coordinates: OpenCV
    computes the sampled position of a destination pixel from the matrix,
    its row, its column and the destination width only (the same code for
    every depth with 1, 3 or 4 channels), so the map is exact for this
    OpenCV build whatever its rounding details; a map of the first ``rows``
    rows equals those rows of the full one.
    """
    h, w = img_shape
    out = _scratch_array('map_buffer', (rows, w, 4))
    sampled = cv2.warpAffine(
        _coordinate_image(h, w), matrix, (w, rows), dst=out,
        flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255, 255))
    return sampled.reshape(rows, w, 4).view(np.int16)


def _source_boxes(masks: np.ndarray,
                  boxes: Optional[np.ndarray]) -> np.ndarray:
    """``(n, 4)`` int64 pixel ranges ``[x1, x2) x [y1, y2)`` that hold every
    nonzero pixel of ``masks``: ``boxes`` rounded outwards and clipped to the
    masks, or, without ``boxes``, the tight boxes found by scanning."""
    n, h, w = masks.shape
    if boxes is None:
        out = np.zeros((n, 4), np.int64)
        for i in range(n):
            x, y, bw, bh = cv2.boundingRect(_as_uint8(masks[i]))
            out[i] = (x, y, x + bw, y + bh)
        return out
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(boxes) != n:
        raise ValueError(f'{len(boxes)} boxes for {n} masks')
    out = np.concatenate([np.floor(boxes[:, :2]), np.ceil(boxes[:, 2:])], 1)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    return out.astype(np.int64)


def _as_uint8(mask: np.ndarray) -> np.ndarray:
    """A uint8 array that is nonzero where ``mask`` is (a view if it can)."""
    if mask.dtype == np.uint8:
        return mask
    if mask.dtype in (np.bool_, np.int8):
        return mask.view(np.uint8)
    return (mask != 0).view(np.uint8)


def _destination_windows(src_boxes: np.ndarray, matrix: np.ndarray,
                         img_shape: Tuple[int, int]) -> np.ndarray:
    """``(n, 4)`` int64 destination windows ``[x1, x2) x [y1, y2)``, clipped
    to the frame, outside which the rotation of ``src_boxes`` puts nothing.

    A destination pixel samples the source pixel nearest to its
    pre-image, so it can only sample inside ``[x1, x2) x [y1, y2)`` if it
    lies in the image of ``[x1 - .5, x2 - .5] x [y1 - .5, y2 - .5]``; the
    window is the bounding box of that parallelogram plus a margin.
    """
    h, w = img_shape
    x1, y1, x2, y2 = src_boxes.T.astype(np.float64) - 0.5
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1),
                        np.stack([x1, y2], -1), np.stack([x2, y2], -1)], 1)
    moved = corners @ matrix[:, :2].T + matrix[:, 2]  # (n, 4, 2)
    low = np.floor(moved.min(1)) - _WINDOW_MARGIN
    high = np.ceil(moved.max(1)) + _WINDOW_MARGIN + 1
    out = np.concatenate([low, high], -1)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    empty = (src_boxes[:, 2] <= src_boxes[:, 0]) | \
        (src_boxes[:, 3] <= src_boxes[:, 1])
    out[empty] = 0
    return out.astype(np.int64)


def rotate_mask_array(
        masks: np.ndarray,
        angle: float,
        boxes: Optional[np.ndarray] = None
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotate ``(n, H, W)`` masks instance by instance, on windows.

    The result equals ``cv2.warpAffine(mask, rotation_matrix((H, W), angle),
    (W, H), flags=INTER_NEAREST, borderValue=0)`` of every mask (what
    ``mmcv.imrotate(mask, angle, interpolation='nearest')`` gives) exactly,
    but only the destination window an instance can reach is computed: the
    rotated corners of its source box, plus a margin, clipped to the frame.
    Binary masks (0 / 1, the masks of the pipelines) are rotated 8 per byte
    of one warped image (:func:`_rotate_bit_planes`); other masks sample
    every window through one exact sampling map of the frame (see
    :func:`_sampling_map`). Either way no full-frame pass per instance is
    made, and the new tight boxes are read from the windows.

    Args:
        masks (np.ndarray): ``(n, H, W)`` masks (uint8 or bool usually).
        angle (float): Degrees, positive = clockwise (mmcv's convention).
        boxes (np.ndarray, optional): ``(n, 4)`` x1y1x2y2 boxes that hold
            every nonzero pixel of their mask (the tight boxes, or larger);
            None: found by scanning the masks.

    Returns:
        tuple: ``rotated`` ``(n, H, W)`` (dtype of ``masks``), ``boxes``
        ``(n, 4)`` float32 tight x1y1x2y2 boxes of ``rotated`` (``x2`` = last
        column + 1, as ``BitmapMasks.get_bboxes``; 0s for an empty mask) and
        ``visible`` ``(n,)`` bool (the rotated mask is not empty).
    """
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f'masks must be (n, H, W), got {masks.shape}')
    n, h, w = masks.shape
    rotated = np.zeros((n, h, w), masks.dtype)
    new_boxes = np.zeros((n, 4), np.float32)
    visible = np.zeros(n, bool)
    if n == 0 or h == 0 or w == 0:
        return rotated, new_boxes, visible
    matrix = rotation_matrix((h, w), angle)
    source_boxes = _source_boxes(masks, boxes)
    windows = _destination_windows(source_boxes, matrix, (h, w))
    reached = np.flatnonzero((windows[:, 2] > windows[:, 0])
                             & (windows[:, 3] > windows[:, 1]))
    if not len(reached):
        return rotated, new_boxes, visible
    # OpenCV has no bool images: bool masks are read and written as uint8
    src, dst = (masks.view(np.uint8), rotated.view(np.uint8)) \
        if masks.dtype == np.bool_ else (masks, rotated)
    if _binary_in_boxes(src, source_boxes, reached):
        _rotate_bit_planes(src, dst, source_boxes, windows, reached, matrix)
    elif max(h, w) > _MAX_MAP_SIDE:  # beyond int16 coordinates: whole frames
        for i in reached:
            dst[i] = cv2.warpAffine(
                src[i], matrix, (w, h), flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        windows[reached] = (0, 0, w, h)
    else:
        sampling = _sampling_map(matrix, (h, w),
                                 int(windows[reached, 3].max()))
        for i in reached:
            x1, y1, x2, y2 = windows[i]
            window = dst[i, y1:y2, x1:x2]
            out = cv2.remap(src[i], sampling[y1:y2, x1:x2], None,
                            cv2.INTER_NEAREST, dst=window,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            if out is not window:  # OpenCV chose new memory
                window[...] = out
    for i in reached:
        x1, y1, x2, y2 = windows[i]
        bx, by, bw, bh = cv2.boundingRect(
            _as_uint8(rotated[i, y1:y2, x1:x2]))
        if bw:
            visible[i] = True
            new_boxes[i] = (x1 + bx, y1 + by, x1 + bx + bw, y1 + by + bh)
    return rotated, new_boxes, visible


#: Instances rotated by one warp of bit planes: 8 per uint8 channel, up to
#: 4 channels (OpenCV's limit for a warp).
_PLANE_INSTANCES = 32
#: Channels of the bit-plane image for 1-4 needed ones: OpenCV samples
#: 2-channel images along another code path whose positions differ from
#: those of 1-channel masks in some pixels, so 2 becomes 3 (1, 3 and 4
#: channels sample exactly as 1; the tests check it).
_PLANE_CHANNELS = {1: 1, 2: 3, 3: 3, 4: 4}


def _binary_in_boxes(masks: np.ndarray, boxes: np.ndarray,
                     indices: np.ndarray) -> bool:
    """Whether every ``masks[i]``, ``i`` in ``indices``, holds only 0 and 1
    inside ``boxes[i]`` (``(n, H, W)`` masks, ``(n, 4)`` int pixel ranges
    outside which the masks are 0)."""
    if masks.dtype != np.uint8:
        return False
    for i in indices:
        x1, y1, x2, y2 = boxes[i]
        if masks[i, y1:y2, x1:x2].max(initial=0) > 1:
            return False
    return True


def _rotate_bit_planes(src: np.ndarray, dst: np.ndarray,
                       source_boxes: np.ndarray, windows: np.ndarray,
                       reached: np.ndarray, matrix: np.ndarray) -> None:
    """Nearest-neighbour warp of binary uint8 masks, 8 per image byte.

    Nearest-neighbour sampling copies every destination pixel from one
    source pixel, the same for every channel and every bit, so warping an
    image whose bit ``b`` of channel ``c`` holds mask ``8 c + b`` and
    reading that bit back gives each mask's own warp exactly (for 1, 3 and
    4 channels, see :data:`_PLANE_CHANNELS`). Up to 32
    masks share one warp (1-4 uint8 channels) instead of a sampling map and
    a remap per mask; only the masks' boxes are packed and only their
    destination windows read back.

    Args:
        src (np.ndarray): ``(n, H, W)`` uint8 masks of 0 / 1, 0 outside
            ``source_boxes``.
        dst (np.ndarray): ``(n, H, W)`` uint8 zeros; the rotated masks are
            written into the ``windows`` of the ``reached`` instances.
        source_boxes (np.ndarray): ``(n, 4)`` int pixel ranges x1y1x2y2.
        windows (np.ndarray): ``(n, 4)`` int destination windows.
        reached (np.ndarray): Indices of the instances to rotate.
        matrix (np.ndarray): ``(2, 3)`` affine matrix.
    """
    _, h, w = src.shape
    for start in range(0, len(reached), _PLANE_INSTANCES):
        group = reached[start:start + _PLANE_INSTANCES]
        channels = _PLANE_CHANNELS[(len(group) + 7) // 8]
        packed = _scratch_array('plane_in', (h, w, channels))
        packed.fill(0)
        for k, i in enumerate(group):
            x1, y1, x2, y2 = source_boxes[i]
            plane = packed[y1:y2, x1:x2, k // 8]
            plane |= src[i, y1:y2, x1:x2] << (k % 8)
        shape = (h, w) if channels == 1 else (h, w, channels)
        warped = cv2.warpAffine(
            packed.reshape(shape), matrix, (w, h),
            dst=_scratch_array('plane_out', shape), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        warped = warped.reshape(h, w, channels)
        for k, i in enumerate(group):
            x1, y1, x2, y2 = windows[i]
            out = dst[i, y1:y2, x1:x2]
            np.right_shift(warped[y1:y2, x1:x2, k // 8], k % 8, out=out)
            np.bitwise_and(out, 1, out=out)


def rotate_masks(masks: BitmapMasks, angle: float,
                 boxes: Optional[np.ndarray] = None) -> BitmapMasks:
    """Rotate ``(n, H, W)`` bitmap masks (nearest neighbour, border 0).

    Exactly ``mmcv.imrotate(mask, angle, interpolation='nearest')`` of every
    mask, for any ``n`` (see :func:`rotate_mask_array`; ``boxes``: optional
    boxes holding every nonzero pixel of their mask).
    """
    return wrap_bitmap_masks(rotate_mask_array(masks.masks, angle, boxes)[0])


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


def _box_hint(boxes, num: int) -> Optional[np.ndarray]:
    """``gt_bboxes`` as the source boxes of :func:`rotate_mask_array`.

    A clip keeps ``gt_bboxes`` equal to the tight boxes of ``gt_masks`` (the
    invariant of :class:`ImageToClip` and of every clip transform of this
    package), so the masks need not be scanned for them. Boxes that cannot
    be such boxes (missing, another count, not whole pixels, empty) give
    None: the masks are scanned.
    """
    if boxes is None:
        return None
    boxes = as_box_array(boxes)
    if len(boxes) != num or not np.isfinite(boxes).all() \
            or not np.array_equal(boxes, np.round(boxes)) \
            or not ((boxes[:, 2] > boxes[:, 0])
                    & (boxes[:, 3] > boxes[:, 1])).all():
        return None
    return boxes


@TRANSFORMS.register_module()
class ClipRotate(BaseTransform):
    """Rotate a clip with slowly, monotonically changing angles.

    Input is the clip format of :mod:`.clip_format` (one dict, every value a
    T-list). Per frame ``t`` with angle ``a_t`` (see
    :func:`sample_clip_angles`):

    * ``img`` ``(H, W, C)``: rotated (``interpolation``), border
      ``img_border_value``; size unchanged;
    * ``gt_masks`` ``BitmapMasks (n_t, H, W)``: rotated (nearest, exactly
      as ``mmcv.imrotate`` of each mask, computed on per-instance windows
      found from the incoming ``gt_bboxes``, which a clip keeps equal to the
      tight boxes of its masks; see :func:`rotate_mask_array`); instances
      whose mask became empty leave this frame, ``gt_bboxes`` become the
      tight boxes of the masks;
    * without ``gt_masks``: ``gt_bboxes`` ``(n_t, 4)`` become the clipped
      enclosing boxes of the rotated corners (empty ones leave the frame);
    * ``gt_seg_map`` ``(H, W)``: rotated (nearest), border
      ``seg_ignore_label``;
    * ``homography_matrix`` ``(3, 3)``: the rotation is composed into it
      (added if absent), as mmdet's ``Rotate`` does;
    * ``rotate_angle``: ``a_t`` is recorded (a new T-list key).

    Copy-on-write: frames may share arrays, this transform never writes into
    its inputs (the contract and its debug check: :mod:`.copy_on_write`).

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
            contiguous_image(img), angle, border_value=self.img_border_value,
            interpolation=self.interpolation).astype(img.dtype, copy=False)
        if 'gt_seg_map' in frame:
            frame['gt_seg_map'] = mmcv.imrotate(
                frame['gt_seg_map'], angle, border_value=self.seg_ignore_label,
                interpolation='nearest')
        if 'gt_masks' in frame:
            self._rotate_instances(frame, angle)
        elif 'gt_bboxes' in frame:
            self._rotate_boxes_only(frame, angle, img_shape)
        record_homography(frame, rotation_matrix(img_shape, angle))
        return frame

    @staticmethod
    def _rotate_instances(frame: dict, angle: float) -> None:
        """Masks of a frame, then their tight boxes; instances whose mask
        became empty leave the frame (as :func:`sync_instances_to_masks`)."""
        masks = frame['gt_masks']
        if isinstance(masks, PolygonMasks):
            raise TypeError('clip transforms need BitmapMasks: use '
                            'LoadAnnotations(with_mask=True, poly2mask=True)')
        rotated, boxes, visible = rotate_mask_array(
            masks.masks, angle, _box_hint(frame.get('gt_bboxes'), len(masks)))
        frame['gt_masks'] = wrap_bitmap_masks(rotated)
        if 'gt_bboxes' in frame:
            frame['gt_bboxes'] = boxes
        if not visible.all():
            select_instances(frame, visible)

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
           'rotate_mask_array', 'rotate_boxes', 'rotation_matrix',
           'record_homography']
