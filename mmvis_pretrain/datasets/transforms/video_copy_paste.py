"""VMoSp: video copy & paste of one pivot instance along a smooth trajectory.

Section 3.1.2 of the video pre-training paper (eq. 1-2). A pseudo-video ``V``
(``T`` copies of one image ``I``, see :class:`ImageToClip`) receives a copy of
one *pivot* instance ``i`` (mask ``m``) of ``I``; in frame ``t`` the copy is
transformed by a small affine ``A_t`` (flip, scale, rotation, translation of
the instance centre)::

    V_t     = V_t * (1 - A_t(m)) + A_t(I * m)          (eq. 1)
    m_hat_t = m_hat * (1 - A_t(m))                      (eq. 2, every other
                                                         instance)

``A_t``'s parameters are drawn once per clip (a start and an end value) and
interpolated linearly over ``t``, so the copy glides instead of jumping.
"""
from dataclasses import dataclass, field
from functools import cached_property
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.mask import BitmapMasks

from mmvis_pretrain.registry import TRANSFORMS
from mmvis_pretrain.structures.mask_ops import mask_boxes
from .clip_format import (as_box_array, clip_image_buffer, merge_clip,
                          select_instances, split_clip, wrap_bitmap_masks)

INTERPOLATIONS = ('nearest', 'bilinear')


@dataclass
class PasteSource:
    """The cut-out to paste.

    Attributes:
        img (np.ndarray): The source image ``I``, ``(H_s, W_s, C)``.
        mask (np.ndarray): The pivot's mask ``m``, bool ``(H_s, W_s)``,
            not empty.
        label (int): The pivot's class.
        base_scale (float): Scale that fits ``I`` into the destination
            frames (1 for ``source='same'``).
        centre (np.ndarray): ``(2,)`` float ``(x, y)`` centroid of the
            mask's pixels (computed).
        box (tuple): ``x0, y0, x1, y1`` of the mask with a 1 pixel margin,
            inside the image (computed).
    """
    img: np.ndarray
    mask: np.ndarray
    label: int
    base_scale: float = 1.0
    centre: np.ndarray = field(init=False)
    box: Tuple[int, int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        # the mask's pixels are read on its bounding box only
        mask = np.ascontiguousarray(self.mask, dtype=bool)
        x0, y0, w, h = cv2.boundingRect(mask.view(np.uint8))
        if w == 0:
            raise ValueError('PasteSource needs a non-empty mask')
        ys, xs = np.nonzero(mask[y0:y0 + h, x0:x0 + w])
        num = len(xs)
        # integer sums are exact: the same float64 centroid as the mean of
        # the image coordinates
        self.centre = np.array([(int(xs.sum()) + x0 * num) / num,
                                (int(ys.sum()) + y0 * num) / num],
                               dtype=np.float64)
        height, width = mask.shape
        self.box = (max(x0 - 1, 0), max(y0 - 1, 0), min(x0 + w + 1, width),
                    min(y0 + h + 1, height))

    @cached_property
    def patches(self) -> Tuple[np.ndarray, np.ndarray]:
        """``I`` (C-contiguous ``(h, w, C)``) and ``m`` (uint8 ``(h, w)``) on
        :attr:`box`: what every frame's warp reads (cut once per clip)."""
        x0, y0, x1, y1 = self.box
        return (np.ascontiguousarray(self.img[y0:y1, x0:x1]),
                np.ascontiguousarray(self.mask[y0:y1, x0:x1], np.uint8))

    @cached_property
    def premultiplied(self) -> Tuple[np.ndarray, np.ndarray]:
        """float32 ``I * m`` ``(h, w, C)`` and ``m`` ``(h, w)`` on
        :attr:`box`, the inputs of every frame's bilinear warp (computed
        once per clip)."""
        img, mask = self.patches
        alpha = mask.astype(np.float32)
        colour = img.astype(np.float32)
        colour *= alpha[..., None] if colour.ndim == 3 else alpha
        return colour, alpha


@dataclass
class PasteTrajectory:
    """Clip-level parameters of ``A_t``: one flip, start / end of the rest.

    Attributes:
        flip (bool): Mirror the copy horizontally (about its centre), the
            same in every frame.
        scales (np.ndarray): ``(2,)`` start / end scale factors.
        angles (np.ndarray): ``(2,)`` start / end rotations in degrees,
            counter-clockwise on screen (as ``mmcv.imrotate``).
        shifts (np.ndarray): ``(2, 2)`` start / end ``(dx, dy)`` shifts of
            the centre, in fractions of the destination width / height.
    """
    flip: bool
    scales: np.ndarray
    angles: np.ndarray
    shifts: np.ndarray

    def at(self, t: int, num_frames: int) -> Tuple[float, float, np.ndarray]:
        """``(scale, angle, shift (2,))`` of frame ``t`` (linear in ``t``)."""
        alpha = t / (num_frames - 1) if num_frames > 1 else 0.0
        scale = (1 - alpha) * self.scales[0] + alpha * self.scales[1]
        angle = (1 - alpha) * self.angles[0] + alpha * self.angles[1]
        shift = (1 - alpha) * self.shifts[0] + alpha * self.shifts[1]
        return float(scale), float(angle), shift


def paste_matrix(centre: np.ndarray, dst_centre: np.ndarray, scale: float,
                 angle: float, flip: bool) -> np.ndarray:
    """Affine ``(2, 3)`` matrix of ``A_t``, source -> destination pixels.

    ``centre`` goes to ``dst_centre``; around it the copy is mirrored
    (``flip``), scaled and rotated by ``angle`` degrees counter-clockwise.
    """
    rad = np.deg2rad(angle)
    cos, sin = np.cos(rad), np.sin(rad)
    linear = scale * np.array([[cos, sin], [-sin, cos]])
    if flip:
        linear = linear @ np.diag([-1.0, 1.0])
    offset = dst_centre - linear @ centre
    return np.concatenate([linear, offset[:, None]], axis=1)


def warp_cutout(source: PasteSource, matrix: np.ndarray,
                out_hw: Tuple[int, int],
                interpolation: str) -> Tuple[np.ndarray, np.ndarray]:
    """``A_t(I * m)`` and ``A_t(m)`` on a destination frame of ``out_hw``.

    The mask is warped with nearest neighbours (bool ``(H, W)``, clipped to
    the frame by construction). The pixels come from inside ``m`` only:
    ``'nearest'`` samples the pixel the mask sample comes from;
    ``'bilinear'`` interpolates ``I * m`` and divides by the interpolated
    ``m`` (premultiplied alpha), so the copy's border neither darkens
    towards the black outside of ``I * m`` nor picks up the source's
    background. Only the pivot's box is warped, into the part of the frame
    it can reach (:func:`warp_cutout_window`).

    Returns:
        tuple: ``img (H, W, C)`` of ``source.img``'s dtype (meaningful
        inside the mask, 0 elsewhere), ``mask`` bool ``(H, W)``.
    """
    img = np.zeros(out_hw + source.img.shape[2:], source.img.dtype)
    mask = np.zeros(out_hw, bool)
    window = warp_cutout_window(source, matrix, out_hw, interpolation)
    if window is not None:
        img_win, mask_win, (x0, y0) = window
        height, width = mask_win.shape
        img[y0:y0 + height, x0:x0 + width] = img_win
        mask[y0:y0 + height, x0:x0 + width] = mask_win
    return img, mask


def warp_cutout_window(
    source: PasteSource, matrix: np.ndarray, out_hw: Tuple[int, int],
    interpolation: str
) -> Optional[Tuple[np.ndarray, np.ndarray, Tuple[int, int]]]:
    """:func:`warp_cutout` on the window of the frame the copy can reach.

    Returns:
        tuple | None: ``img (h, w, C)`` and bool ``mask (h, w)`` of the
        window (what :func:`warp_cutout` gives there; the frame outside it
        is 0) and the window's top-left corner ``(x0, y0)`` in the frame;
        None when the copy cannot reach the frame.
    """
    img_patch, mask_patch = source.patches
    matrix = _patch_matrix(source, matrix)
    x0, y0, x1, y1 = _reachable_box(mask_patch.shape, matrix, out_hw)
    if x1 <= x0 or y1 <= y0:
        return None
    matrix[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    mask = cv2.warpAffine(
        mask_patch, matrix, size, flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    if interpolation == 'nearest':
        img = cv2.warpAffine(img_patch, matrix, size,
                             flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_REPLICATE)
    else:
        img = _warp_premultiplied(*source.premultiplied, img_patch.dtype,
                                  matrix, size)
    return img.reshape((y1 - y0, x1 - x0) + source.img.shape[2:]), mask, \
        (x0, y0)


def _patch_matrix(source: PasteSource, matrix: np.ndarray) -> np.ndarray:
    """The matrix that maps pixels of the pivot's box (:attr:`PasteSource.
    patches`) where ``matrix`` maps image pixels (a new array)."""
    x0, y0, _, _ = source.box
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ (x0, y0)
    return shifted


def _reachable_box(patch_hw: Tuple[int, int], matrix: np.ndarray,
                   out_hw: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """``x0, y0, x1, y1``: the frame pixels a warped patch can cover."""
    height, width = patch_hw
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]],
                       dtype=np.float64) - 0.5
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + 2
    return (max(x0, 0), max(y0, 0), min(x1, out_hw[1]), min(y1, out_hw[0]))


def _premultiplied_warp(img: np.ndarray, mask: np.ndarray,
                        matrix: np.ndarray,
                        size: Tuple[int, int]) -> np.ndarray:
    """Bilinear ``A_t(I * m) / A_t(m)``, cast back to ``img``'s dtype.

    Every pixel of the nearest-warped mask has its nearest source pixel in
    ``m``, so its bilinear weight of ``m`` is at least 1/4: no division by
    zero where the result is used. The float arithmetic runs in place: a
    fresh temporary of the patch's size costs page faults worth more than
    the arithmetic.
    """
    alpha = mask.astype(np.float32)
    colour = img.astype(np.float32)
    colour *= alpha[..., None] if colour.ndim == 3 else alpha
    return _warp_premultiplied(colour, alpha, img.dtype, matrix, size)


def _warp_premultiplied(colour: np.ndarray, alpha: np.ndarray, dtype,
                        matrix: np.ndarray,
                        size: Tuple[int, int]) -> np.ndarray:
    """:func:`_premultiplied_warp` from float32 ``colour = I * m`` and
    ``alpha = m`` (left untouched), cast to ``dtype``."""
    kwargs = dict(flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                  borderValue=0)
    colour = cv2.warpAffine(colour, matrix, size, **kwargs)
    weight = cv2.warpAffine(alpha, matrix, size, **kwargs)
    np.maximum(weight, 1e-6, out=weight)
    colour /= weight[..., None] if colour.ndim == 3 else weight
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        np.rint(colour, out=colour)
        np.clip(colour, info.min, info.max, out=colour)
    return colour.astype(dtype)


def paste_into_frame(frame: dict, img: np.ndarray, pasted: np.ndarray,
                     label: int, new_id: int) -> dict:
    """Apply eq. 1-2 to one frame and append the copy as an instance.

    Args:
        frame (dict): One frame (``img``, ``gt_masks`` ``BitmapMasks (n, H,
            W)`` and the other instance keys).
        img (np.ndarray): ``A_t(I * m)``, ``(H, W, C)`` (used inside
            ``pasted`` only).
        pasted (np.ndarray): ``A_t(m)``, bool ``(H, W)``.
        label (int): Class of the copy.
        new_id (int): Instance id of the copy.

    Returns:
        dict: ``frame`` (new arrays; the inputs are not modified). Boxes
        are re-derived from masks; instances left with an empty mask (fully
        covered, or the copy outside the frame) are absent from it.
    """
    return paste_window_into_frame(frame, img, pasted, (0, 0), label, new_id)


def paste_window_into_frame(frame: dict,
                            img: np.ndarray,
                            pasted: np.ndarray,
                            origin: Tuple[int, int],
                            label: int,
                            new_id: int,
                            out: Optional[np.ndarray] = None) -> dict:
    """:func:`paste_into_frame` with the copy given on a window only.

    ``img`` ``(h, w, C)`` and ``pasted`` bool ``(h, w)`` are ``A_t(I * m)``
    and ``A_t(m)`` on the window of the frame whose top-left corner is
    ``origin`` ``(x0, y0)``; the frame outside the window gets no copy
    pixel. The window must lie inside the frame. Only the new image and
    mask arrays are full-size; the copy's box is found on the window.

    Args:
        out (np.ndarray, optional): Array of the frame image's shape and
            dtype that receives the new image (e.g. a slice of a
            :func:`clip_image_buffer`); None: a new array. Untouched when
            the copy misses the frame.

    Returns:
        dict: ``frame``, as :func:`paste_into_frame` returns it.
    """
    bx, by, bw, bh = cv2.boundingRect(pasted.view(np.uint8))
    if bw == 0:  # the copy is outside this frame
        return frame
    # eq. 1 and eq. 2 only change pixels inside the copy's box
    ox, oy = origin
    x0, y0, x1, y1 = ox + bx, oy + by, ox + bx + bw, oy + by + bh
    region = np.s_[y0:y1, x0:x1]
    cover = pasted[by:by + bh, bx:bx + bw]
    if out is None:
        dst = frame['img'].copy()
    else:
        dst = out
        np.copyto(dst, frame['img'])
    np.copyto(dst[region], img[by:by + bh, bx:bx + bw], casting='unsafe',
              where=cover[..., None] if dst.ndim == 3 else cover)  # eq. 1
    frame['img'] = dst

    old = frame['gt_masks'].masks
    height, width = dst.shape[:2]
    masks = np.empty((len(old) + 1, height, width), dtype=np.uint8)
    masks[:-1] = old
    masks[:-1, y0:y1, x0:x1] *= ~cover  # eq. 2
    masks[-1] = 0
    masks[-1, y0:y1, x0:x1] = cover
    boxes = _boxes_after_paste(frame, masks, (x0, y0, x1, y1))
    frame['gt_masks'] = wrap_bitmap_masks(masks)
    _append_instance_fields(frame, label, new_id)
    if 'gt_bboxes' in frame:
        frame['gt_bboxes'] = boxes
    visible = boxes[:, 2] > boxes[:, 0]
    if not visible.all():
        select_instances(frame, visible)
    return frame


def _boxes_after_paste(frame: dict, masks: np.ndarray,
                       region: Tuple[int, int, int, int]) -> np.ndarray:
    """Tight boxes of ``masks`` ``(n + 1, H, W)`` after a paste in ``region``
    (``x0, y0, x1, y1``), ``(n + 1, 4)`` float32, zeros for empty masks.

    eq. 2 only removes pixels inside ``region``, so an instance whose box
    misses it keeps its box, and the others shrink within their old box:
    only those boxes are recomputed, on their old box's window. Relies on
    the clip invariant that ``gt_bboxes`` are the tight boxes of
    ``gt_masks`` (:class:`ImageToClip` establishes it, the clip transforms
    keep it).
    """
    x0, y0, x1, y1 = region
    old_boxes = as_box_array(frame['gt_bboxes']) if 'gt_bboxes' in frame \
        else mask_boxes(masks[:-1])
    boxes = np.zeros((len(masks), 4), np.float32)
    boxes[:-1] = old_boxes
    for i, (bx0, by0, bx1, by1) in enumerate(old_boxes):
        if bx1 <= x0 or bx0 >= x1 or by1 <= y0 or by0 >= y1:
            continue
        wx0, wy0 = int(max(bx0, 0)), int(max(by0, 0))
        window = masks[i, wy0:int(np.ceil(by1)), wx0:int(np.ceil(bx1))]
        boxes[i] = _tight_box(window, wx0, wy0)
    boxes[-1] = _tight_box(masks[-1][y0:y1, x0:x1], x0, y0)
    return boxes


def _tight_box(window: np.ndarray, ox: int, oy: int) -> np.ndarray:
    """x1y1x2y2 box of the non-zero pixels of ``window`` placed at
    ``(ox, oy)``; zeros when it has none."""
    ys = np.nonzero(window.any(axis=1))[0]
    if len(ys) == 0:
        return np.zeros(4, np.float32)
    xs = np.nonzero(window.any(axis=0))[0]
    return np.array([ox + xs[0], oy + ys[0], ox + xs[-1] + 1,
                     oy + ys[-1] + 1], np.float32)


def _append_instance_fields(frame: dict, label: int, new_id: int) -> None:
    """Append the copy's box (placeholder), label, id and crowd flag."""
    if 'gt_bboxes' in frame:
        frame['gt_bboxes'] = np.concatenate(
            [as_box_array(frame['gt_bboxes']),
             np.zeros((1, 4), np.float32)])
    appended = dict(gt_bboxes_labels=label, gt_instances_ids=new_id,
                    gt_ignore_flags=False)
    for key, value in appended.items():
        if key in frame:
            old = np.asarray(frame[key])
            frame[key] = np.concatenate(
                [old, np.array([value], dtype=old.dtype)])


def _as_frame(sample: dict) -> dict:
    """A mixed-in sample (an image sample or a clip) -> its first frame."""
    if isinstance(sample.get('img'), list):
        return split_clip(sample)[0]
    return sample


def _mask_rows(masks) -> np.ndarray:
    """``BitmapMasks`` / ``PolygonMasks`` -> ``(n, H, W)`` array (no copy
    for bitmaps: only the pivot's row is turned into a bool mask)."""
    return masks.masks if isinstance(masks, BitmapMasks) \
        else masks.to_ndarray()


@TRANSFORMS.register_module()
class VideoCopyPaste(BaseTransform):
    """VMoSp: paste a copy of one instance that moves smoothly over a clip.

    Input and output are clips in the format of :mod:`.clip_format` (one
    dict, every value a list with one entry per frame), e.g. after
    :class:`ImageToClip`. With probability ``prob``:

    1. a pivot is drawn uniformly among the instances of frame 0 (``source=
       'same'``, the paper) or of another data set sample (``source=
       'other'``, through ``MultiImageMixDataset``: :meth:`get_indexes`,
       ``results['mix_results']``) that are not crowd and cover at least
       ``min_area`` pixels;
    2. a clip-level trajectory is drawn: flip once (``flip_prob``); start
       and end scale in ``scale_range``, rotation in ``[-max_rotation,
       max_rotation]`` degrees and centre shift in ``[-max_translation,
       max_translation]`` x (W, H); frame ``t`` interpolates them linearly
       (``t / (T - 1)``, T = 1 uses the start);
    3. every frame gets the pivot's cut-out pasted on top (eq. 1), every
       existing instance (the pivot's original included, crowd included)
       loses the pixels the copy covers (eq. 2), boxes are re-derived from
       masks, instances left empty are absent from that frame;
    4. the copy is appended with id ``max(existing ids) + 1``, the pivot's
       label, not crowd, in every frame where its mask is non-empty.

    Clips without an eligible pivot (no instance, only crowd, only smaller
    than ``min_area``) are returned unchanged. Randomness comes from
    ``np.random`` (seeded by ``mmengine``'s ``set_random_seed``).

    Required keys (per frame): ``img``, ``gt_masks`` (``BitmapMasks``),
    ``gt_instances_ids``; optional ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``. Modified keys: ``img`` and the instance keys.

    Copy-on-write: frames may share arrays, this transform never writes into
    its inputs (the contract and its debug check: :mod:`.copy_on_write`).

    Args:
        prob (float): Probability to paste. Defaults to 0.5.
        scale_range (tuple[float, float]): Range of the start / end scale of
            the copy. Defaults to (0.8, 1.2).
        max_rotation (float): Max absolute start / end rotation in degrees.
            Defaults to 15 (the paper's best clip rotation, tab. 2).
        max_translation (float | tuple[float, float]): Max absolute start /
            end shift of the copy's centre, fraction of the frame (W, H).
            Defaults to 0.2.
        flip_prob (float): Probability to mirror the copy (whole clip).
            Defaults to 0.5.
        min_area (int): Minimum mask area, in pixels of frame 0 when the
            transform runs, of an eligible pivot. Defaults to 32 * 32 (COCO's
            small / medium boundary).
        source (str): ``'same'`` (pivot from frame 0 of the clip) or
            ``'other'`` (from ``results['mix_results'][0]``, fitted into the
            frame by an aspect-preserving scale). Defaults to ``'same'``.
        interpolation (str): ``'bilinear'`` or ``'nearest'`` for the pasted
            pixels (masks always use nearest). Defaults to ``'bilinear'``.
        per_frame (bool): The "Image" setting of the paper's table 3, for
            ablations: every frame independently draws its own pivot and its
            own (static) transform, and each frame's copy is a separate
            instance with its own new id, present in that frame only.
            Defaults to False (one copy moving smoothly through the clip).
    """

    def __init__(self,
                 prob: float = 0.5,
                 scale_range: Sequence[float] = (0.8, 1.2),
                 max_rotation: float = 15.0,
                 max_translation: Union[float, Sequence[float]] = 0.2,
                 flip_prob: float = 0.5,
                 min_area: int = 32 * 32,
                 source: str = 'same',
                 interpolation: str = 'bilinear',
                 per_frame: bool = False) -> None:
        if not 0 <= prob <= 1 or not 0 <= flip_prob <= 1:
            raise ValueError(f'prob and flip_prob must be in [0, 1], got '
                             f'{prob}, {flip_prob}')
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f'scale_range must be (lo, hi) with 0 < lo <= '
                             f'hi, got {scale_range}')
        if source not in ('same', 'other'):
            raise ValueError(f"source must be 'same' or 'other', got {source}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of '
                             f'{INTERPOLATIONS}, got {interpolation}')
        self.prob = prob
        self.scale_range = tuple(float(s) for s in scale_range)
        self.max_rotation = abs(float(max_rotation))
        self.max_translation = self._pair(max_translation)
        self.flip_prob = flip_prob
        self.min_area = min_area
        self.source = source
        self.interpolation = interpolation
        self.per_frame = per_frame

    @staticmethod
    def _pair(value: Union[float, Sequence[float]]) -> np.ndarray:
        """``v`` or ``(vx, vy)`` -> float ``(2,)`` of absolute values."""
        pair = np.broadcast_to(np.asarray(value, dtype=np.float64), (2, ))
        return np.abs(pair).copy()

    def get_indexes(self, dataset) -> List[int]:
        """Indexes of the samples ``MultiImageMixDataset`` mixes in.

        One random index for ``source='other'``; none (nothing is loaded)
        for ``'same'``.
        """
        if self.source == 'same':
            return []
        return [int(np.random.randint(0, len(dataset)))]

    def transform(self, results: dict) -> dict:
        """Paste (with probability ``prob``) into the clip ``results``."""
        mix_results = results.pop('mix_results', None)
        if np.random.rand() >= self.prob:
            return results
        frames = split_clip(results)
        if self.per_frame:
            return merge_clip(self._paste_per_frame(frames, mix_results))
        source = self._pick_source(frames[0], mix_results)
        if source is None:
            return results
        trajectory = self._draw_trajectory()
        new_id = self._new_id(frames)
        # every frame gets a new image: one (T, H, W, C) buffer for them
        # spares the packer its copy (clip_format.stack_frames)
        buffer = clip_image_buffer([frame['img'] for frame in frames])
        for t, frame in enumerate(frames):
            self._paste_frame(frame, source, trajectory, t, len(frames),
                              new_id, None if buffer is None else buffer[t])
        return merge_clip(frames)

    def _paste_per_frame(self, frames: List[dict],
                         mix_results: Optional[list]) -> List[dict]:
        """``per_frame=True``: an independent paste in every frame."""
        next_id = self._new_id(frames)
        for frame in frames:
            source = self._pick_source(frame, mix_results)
            if source is None:
                continue
            self._paste_frame(frame, source, self._draw_trajectory(), 0, 1,
                              next_id)
            next_id += 1
        return frames

    def _pick_source(self, first: dict,
                     mix_results: Optional[list]) -> Optional[PasteSource]:
        """The pivot's cut-out, or None when no instance is eligible."""
        if 'gt_masks' not in first or 'gt_instances_ids' not in first:
            raise KeyError('VideoCopyPaste needs a clip with gt_masks and '
                           'gt_instances_ids: put ImageToClip (after '
                           'LoadAnnotations(with_mask=True)) before it')
        if not isinstance(first['gt_masks'], BitmapMasks):
            raise TypeError('VideoCopyPaste needs BitmapMasks: use '
                            'LoadAnnotations(with_mask=True, poly2mask=True)')
        sample = first
        if self.source == 'other':
            if not mix_results:
                raise KeyError("VideoCopyPaste(source='other') needs "
                               "results['mix_results']: wrap the data set "
                               'in MultiImageMixDataset')
            sample = _as_frame(mix_results[0])
        pivot = self._choose_pivot(sample)
        if pivot is None:
            return None
        mask = _mask_rows(sample['gt_masks'])[pivot].astype(bool)
        label = int(np.asarray(sample['gt_bboxes_labels'])[pivot]) \
            if 'gt_bboxes_labels' in sample else 0
        return PasteSource(
            img=sample['img'], mask=mask, label=label,
            base_scale=self._fit_scale(sample['img'], first['img']))

    def _choose_pivot(self, sample: dict) -> Optional[int]:
        """Uniform index among the non-crowd instances of ``min_area``."""
        masks = _mask_rows(sample['gt_masks'])
        if len(masks) == 0:
            return None
        # per mask: count_nonzero over an axis converts to bool first (10x
        # slower than counting each mask on its own)
        areas = np.array([np.count_nonzero(mask) for mask in masks])
        eligible = areas >= max(self.min_area, 1)
        if 'gt_ignore_flags' in sample:
            eligible &= ~np.asarray(sample['gt_ignore_flags'], dtype=bool)
        candidates = np.flatnonzero(eligible)
        if len(candidates) == 0:
            return None
        return int(np.random.choice(candidates))

    @staticmethod
    def _fit_scale(src_img: np.ndarray, dst_img: np.ndarray) -> float:
        """Aspect-preserving scale that fits ``src_img`` into ``dst_img``."""
        (src_h, src_w), (dst_h, dst_w) = src_img.shape[:2], dst_img.shape[:2]
        return min(dst_h / src_h, dst_w / src_w)

    def _draw_trajectory(self) -> PasteTrajectory:
        """Draw the clip's flip and start / end scale, angle and shift."""
        flip = bool(np.random.rand() < self.flip_prob)
        scales = np.random.uniform(*self.scale_range, size=2)
        angles = np.random.uniform(
            -self.max_rotation, self.max_rotation, size=2)
        shifts = np.random.uniform(-1, 1, size=(2, 2)) * self.max_translation
        return PasteTrajectory(flip, scales, angles, shifts)

    @staticmethod
    def _new_id(frames: List[dict]) -> int:
        """``max`` of the clip's instance ids + 1 (1 for an empty clip)."""
        ids = [np.asarray(f['gt_instances_ids']) for f in frames]
        ids = np.concatenate(ids) if ids else np.zeros(0)
        return int(ids.max()) + 1 if ids.size else 1

    def _paste_frame(self,
                     frame: dict,
                     source: PasteSource,
                     trajectory: PasteTrajectory,
                     t: int,
                     num_frames: int,
                     new_id: int,
                     out: Optional[np.ndarray] = None) -> None:
        """Warp the cut-out to frame ``t`` and paste it (eq. 1-2); with
        ``out``, the frame's new image is ``out`` (also when the copy misses
        the frame: then the old image is copied into it)."""
        height, width = frame['img'].shape[:2]
        scale, angle, shift = trajectory.at(t, num_frames)
        centre = source.centre
        dst_centre = centre * source.base_scale + shift * (width, height)
        matrix = paste_matrix(centre, dst_centre,
                              scale * source.base_scale, angle,
                              trajectory.flip)
        window = warp_cutout_window(source, matrix, (height, width),
                                    self.interpolation)
        if window is not None:
            img, pasted, origin = window
            paste_window_into_frame(frame, img, pasted, origin,
                                    source.label, new_id, out)
        if out is not None and frame['img'] is not out:
            np.copyto(out, frame['img'])
            frame['img'] = out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'scale_range={self.scale_range}, '
                f'max_rotation={self.max_rotation}, '
                f'max_translation={tuple(self.max_translation)}, '
                f'flip_prob={self.flip_prob}, min_area={self.min_area}, '
                f"source='{self.source}', "
                f"interpolation='{self.interpolation}', "
                f'per_frame={self.per_frame})')


__all__ = ['VideoCopyPaste', 'PasteSource', 'PasteTrajectory',
           'paste_matrix', 'warp_cutout', 'warp_cutout_window',
           'paste_into_frame', 'paste_window_into_frame']
