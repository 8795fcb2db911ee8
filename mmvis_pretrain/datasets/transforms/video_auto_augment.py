"""CoSt: consistent video auto augmentation of pseudo-videos.

Video-pretraining paper, sec. 3.1.1 (after AugSeg): from a pool of 12 ops
(table 1) draw ``k ~ U{1..k_max}`` distinct ops and a magnitude for each,
**once per clip**, and apply them to all T frames alike,
so consecutive frames do not jump. The Rotation op is the exception that
makes the pseudo-video move: it turns the clip slowly and monotonically
within ``+-rotate_range`` degrees (:class:`ClipRotate`; table 2: +-15 is
best). ``per_frame=True`` draws ops and magnitudes independently for every
frame (and a free angle per frame): the "Image" rows of table 3, kept for
ablations.

Randomness comes from numpy's global RNG (``np.random``), like mmdet's
transforms, so ``mmengine.runner.set_random_seed`` makes the output
reproducible.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import merge_clip, split_clip
from .clip_rotate import ClipRotate
from .photometric import (FastColor, FastSharpness, GaussianBlur, Hue,
                          Identity, LutAutoContrast, LutBrightness,
                          LutContrast, LutEqualize, LutPosterize, LutSolarize)

#: Photometric ops of the pool: name -> mmdet-style ``ColorTransform``.
#: The 8 ops mmdet has are the fast versions of mmdet's ops of
#: :mod:`.photometric` (bit-identical on uint8 images, 2-15x faster).
COLOR_OPS = {
    'Identity': Identity,
    'AutoContrast': LutAutoContrast,
    'Equalize': LutEqualize,
    'GaussianBlur': GaussianBlur,
    'Contrast': LutContrast,
    'Sharpness': FastSharpness,
    'Color': FastColor,
    'Brightness': LutBrightness,
    'Hue': Hue,
    'Posterize': LutPosterize,
    'Solarize': LutSolarize,
}

#: The 12 ops of table 1, in the paper's order.
DEFAULT_POOL = ('Identity', 'AutoContrast', 'Equalize', 'GaussianBlur',
                'Contrast', 'Sharpness', 'Color', 'Brightness', 'Hue',
                'Posterize', 'Solarize', 'Rotation')

#: Magnitude ranges ``(low, high)`` (AugSeg's defaults); None: no magnitude.
#: Rotation is set by ``rotate_range`` instead.
DEFAULT_MAGNITUDES = {
    'Identity': None,
    'AutoContrast': None,
    'Equalize': None,
    'GaussianBlur': (0.1, 2.0),  # sigma in pixels
    'Contrast': (0.05, 0.95),  # enhancement factor, 1 = unchanged
    'Sharpness': (0.05, 0.95),
    'Color': (0.05, 0.95),
    'Brightness': (0.05, 0.95),
    'Hue': (-0.5, 0.5),  # fraction of the hue circle
    'Posterize': (4, 7),  # bits kept per channel, an integer
    'Solarize': (1.0, 256.0),  # threshold: pixels >= it are inverted
}

#: Ops whose magnitude is an integer drawn from ``low..high`` inclusive.
INTEGER_OPS = ('Posterize', )

#: One drawn op: name and magnitude (None; a float; Rotation: ``(T,)``).
Op = Tuple[str, Union[None, float, np.ndarray]]


@TRANSFORMS.register_module()
class VideoAutoAugment(BaseTransform):
    """Consistent (clip-level) auto augmentation of a clip.

    Input and output are the clip format of :mod:`.clip_format` (one dict,
    every value a T-list; images uint8 BGR ``(H, W, 3)``), so put it after
    :class:`ImageToClip` and before resizing / normalisation. Photometric ops
    change ``img`` only; Rotation also rotates ``gt_masks`` / ``gt_seg_map``
    and re-derives ``gt_bboxes`` (instances that leave a frame are absent
    from it, ids stay). The drawn ops are recorded per frame in
    ``auto_aug_ops``: a list of ``(name, magnitude)`` (Rotation: that
    frame's angle).

    Copy-on-write: frames may share arrays, this transform never writes into
    its inputs (the contract and its debug check: :mod:`.copy_on_write`).

    Args:
        k_max (int): Up to this many distinct ops per clip (k is uniform in
            ``1..k_max``, capped by the pool size). Defaults to 3.
        pool (Sequence[str]): Op names, a subset of :data:`DEFAULT_POOL`.
            Defaults to all 12.
        magnitudes (dict, optional): ``{name: (low, high)}`` overriding
            :data:`DEFAULT_MAGNITUDES`; a magnitude is uniform in the range
            (Posterize: integer). mmdet's ops round it to 0.1. Defaults to
            None.
        rotate_range (float): Rotation angles stay within ``+-rotate_range``
            degrees. Defaults to 15.
        rotate_max_step (float, optional): Largest angle change between two
            consecutive frames in clip mode; None: free start and end angle.
            Defaults to 5.
        per_frame (bool): Draw ops, magnitudes and angles independently for
            every frame (the "Image" ablation) instead of once per clip.
            Defaults to False.
        img_border_value (int | float | tuple): Fill of pixels uncovered by
            rotation. Defaults to 128.
        seg_ignore_label (int): Fill of uncovered ``gt_seg_map`` pixels.
            Defaults to 255.
    """

    def __init__(self,
                 k_max: int = 3,
                 pool: Sequence[str] = DEFAULT_POOL,
                 magnitudes: Optional[Dict[str, Tuple[float, float]]] = None,
                 rotate_range: float = 15.,
                 rotate_max_step: Optional[float] = 5.,
                 per_frame: bool = False,
                 img_border_value: Union[int, float, tuple] = 128,
                 seg_ignore_label: int = 255) -> None:
        self.pool = tuple(pool)
        _check_pool(self.pool)
        if k_max < 1:
            raise ValueError(f'k_max must be >= 1, got {k_max}')
        self.k_max = k_max
        self.magnitudes = _merge_magnitudes(magnitudes)
        self.per_frame = per_frame
        self.rotator = ClipRotate(
            max_angle=rotate_range, max_step=rotate_max_step,
            img_border_value=img_border_value,
            seg_ignore_label=seg_ignore_label)

    def sample_ops(self, num_frames: int) -> List[Op]:
        """Draw k distinct ops and their magnitudes for ``num_frames``.

        Returns:
            list[tuple]: ``(name, magnitude)`` in drawn order (``apply_ops``
            moves Rotation last); Rotation's magnitude is the
            ``(num_frames,)`` angle array.
        """
        k = np.random.randint(1, min(self.k_max, len(self.pool)) + 1)
        picks = np.random.choice(len(self.pool), size=k, replace=False)
        return [(self.pool[i], self._sample_magnitude(self.pool[i],
                                                      num_frames))
                for i in picks]

    def _sample_magnitude(self, name: str, num_frames: int):
        """Magnitude of op ``name`` (angles ``(T,)`` for Rotation)."""
        if name == 'Rotation':
            return self.rotator.sample_angles(num_frames)
        bounds = self.magnitudes[name]
        if bounds is None:
            return None
        low, high = bounds
        if name in INTEGER_OPS:
            return float(np.random.randint(int(low), int(high) + 1))
        return float(np.random.uniform(low, high))

    def transform(self, results: dict) -> dict:
        """Augment the clip ``results`` (every value a T-list)."""
        frames = split_clip(results)
        if self.per_frame:
            for frame in frames:
                self.apply_ops([frame], self.sample_ops(1))
            _complete_homography(frames)
        else:
            self.apply_ops(frames, self.sample_ops(len(frames)))
        return merge_clip(frames)

    def apply_ops(self, frames: List[dict], ops: List[Op]) -> List[dict]:
        """Apply ``ops`` to the frame dicts ``frames`` (in place).

        Photometric ops go first, in the drawn order and with one magnitude
        for all frames, so identical input frames get identical pixels;
        Rotation goes last (its ``(T,)`` angles give one angle per frame),
        so the image-adaptive ops (Equalize, AutoContrast) never see the
        rotation border and the border keeps its fill value.
        """
        color_ops = [op for op in ops if op[0] != 'Rotation']
        rotations = [op for op in ops if op[0] == 'Rotation']
        # The photometric result depends only on the frame's pixels: frames
        # sharing one image array (the frames of a fresh pseudo-video, see
        # ImageToClip) are augmented once and share the result.
        done: List[Tuple[np.ndarray, np.ndarray]] = []
        for t, frame in enumerate(frames):
            frame['auto_aug_ops'] = [
                (name, float(mag[t]) if name == 'Rotation' else mag)
                for name, mag in color_ops + rotations
            ]
            if color_ops:
                src = frame['img']
                hit = next((out for inp, out in done if inp is src), None)
                if hit is not None:
                    frame['img'] = hit
                else:
                    for name, mag in color_ops:
                        apply_color_op(name, frame, mag)
                    done.append((src, frame['img']))
            for _, mag in rotations:
                self.rotator.rotate_frame(frame, float(mag[t]))
        return frames

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(k_max={self.k_max}, '
                f'pool={list(self.pool)}, magnitudes={self.magnitudes}, '
                f'rotate_range={self.rotator.max_angle}, '
                f'rotate_max_step={self.rotator.max_step}, '
                f'per_frame={self.per_frame})')


def apply_color_op(name: str, frame: dict, mag: Optional[float]) -> dict:
    """Apply photometric op ``name`` at the fixed magnitude ``mag``.

    The mmdet-style op is built with ``prob=1`` and
    ``min_mag = max_mag = mag``, which makes it deterministic.
    """
    return build_color_op(name, mag)(frame)


def build_color_op(name: str, mag: Optional[float]):
    """``ColorTransform`` of op ``name`` that always applies ``mag``."""
    op_cls = COLOR_OPS[name]
    if mag is None:
        return op_cls(prob=1.0)
    return op_cls(prob=1.0, min_mag=float(mag), max_mag=float(mag))


def _complete_homography(frames: List[dict]) -> None:
    """Identity ``homography_matrix`` for the frames that were not rotated
    while others were (per-frame mode), so every frame has the key."""
    if any('homography_matrix' in frame for frame in frames):
        for frame in frames:
            frame.setdefault('homography_matrix', np.eye(3, dtype=np.float32))


def _check_pool(pool: Tuple[str, ...]) -> None:
    """Raise unless ``pool`` is a non-empty set of known op names."""
    unknown = [name for name in pool if name not in DEFAULT_POOL]
    if not pool or unknown or len(set(pool)) != len(pool):
        raise ValueError(f'pool must hold distinct names of {DEFAULT_POOL}; '
                         f'got {list(pool)}')


def _merge_magnitudes(overrides: Optional[dict]) -> dict:
    """Defaults updated by ``overrides``; every range checked by the op."""
    magnitudes = copy.deepcopy(DEFAULT_MAGNITUDES)
    for name, bounds in (overrides or {}).items():
        if name not in magnitudes:
            raise ValueError(f'no magnitude for {name!r}; known: '
                             f'{list(magnitudes)} (Rotation: rotate_range)')
        magnitudes[name] = None if bounds is None else tuple(bounds)
    for name, bounds in magnitudes.items():
        if bounds is None:
            continue
        if len(bounds) != 2 or bounds[0] > bounds[1]:
            raise ValueError(f'{name}: need (low, high), got {bounds}')
        for mag in bounds:  # the op asserts its valid range
            try:
                build_color_op(name, mag)
            except AssertionError as err:
                raise ValueError(f'{name}: bad magnitude {mag}: {err}')
    return magnitudes


__all__ = ['VideoAutoAugment', 'DEFAULT_POOL', 'DEFAULT_MAGNITUDES',
           'COLOR_OPS', 'INTEGER_OPS', 'apply_color_op', 'build_color_op']
