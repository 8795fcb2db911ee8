"""Photometric ops of the CoSt pool that mmdet does not ship.

mmdet's ``RandAugment`` space (``mmdet.datasets.transforms.colorspace``) has
AutoContrast, Equalize, Color, Brightness, Contrast, Sharpness, Posterize and
Solarize, but the video auto augmentation pool of the paper (table 1, after
AugSeg) also needs **Identity**, **GaussianBlur** and **Hue**. They are
written here as mmdet ``ColorTransform`` subclasses, so they take the same
``prob`` / ``level`` / ``min_mag`` / ``max_mag`` arguments and compose with
mmdet's ops (``RandAugment``, ``TransformBroadcaster``) in the same way.

``mmcv.adjust_hue`` exists but overflows for a negative hue shift under
numpy 2 (``np.uint8(-25)`` raises), so :class:`Hue` does its own modular
shift.

All ops work on one ``(H, W, 3)`` BGR image in ``results['img']`` (uint8
values; other dtypes are rounded to uint8 and cast back) and leave boxes and
masks untouched.
"""
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmdet.datasets.transforms import ColorTransform

from mmvis_pretrain.registry import TRANSFORMS


class ExactColorTransform(ColorTransform):
    """``ColorTransform`` whose magnitude is not rounded.

    mmdet's ``level_to_mag`` rounds every magnitude to one decimal, which
    would turn a hue shift of 0.04 (14 degrees) into 0. Here a magnitude is
    drawn uniformly from ``[min_mag, max_mag]`` (or mapped linearly from
    ``level``) and used as is; ``min_mag == max_mag`` applies that exact
    magnitude.
    """

    @cache_randomness
    def _get_mag(self) -> float:
        """Magnitude in ``[min_mag, max_mag]`` (no rounding)."""
        if self.level is None:
            frac = np.random.rand()
        else:
            frac = self.level / 10.
        return float(self.min_mag + frac * (self.max_mag - self.min_mag))


def _as_uint8(img: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` image -> uint8 copy (values rounded and clipped)."""
    if img.dtype == np.uint8:
        return img
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class Identity(ExactColorTransform):
    """Leave the image as it is (the "no-op" entry of the CoSt pool).

    Hand-written because mmdet has no identity transform; drawing it uses up
    one of the k slots of the clip, i.e. it makes weaker augmentations more
    likely (as in AugSeg / RandAugment).
    """

    def _transform_img(self, results: dict, mag: float) -> None:
        """Nothing to do."""


@TRANSFORMS.register_module()
class GaussianBlur(ExactColorTransform):
    """Blur the image with a Gaussian kernel of standard deviation ``mag``.

    Hand-written because mmdet has no blur transform. The magnitude is
    sigma in pixels (AugSeg draws it from ``[0.1, 2.0]``); the kernel size
    follows from sigma (``cv2.GaussianBlur`` with ``ksize=(0, 0)``), borders
    are reflected. Sigma below about 0.3 hardly changes a uint8 image.

    Args:
        prob (float): Probability of blurring. Defaults to 1.0.
        level (int, optional): Fixed level in ``[0, 10]``; None draws the
            magnitude uniformly. Defaults to None.
        min_mag (float): Smallest sigma. Defaults to 0.1.
        max_mag (float): Largest sigma. Defaults to 2.0.
    """

    def __init__(self,
                 prob: float = 1.0,
                 level: Optional[int] = None,
                 min_mag: float = 0.1,
                 max_mag: float = 2.0) -> None:
        if min_mag <= 0:
            raise ValueError(f'GaussianBlur needs sigma > 0, got {min_mag}')
        super().__init__(prob=prob, level=level, min_mag=min_mag,
                         max_mag=max_mag)

    def _transform_img(self, results: dict, mag: float) -> None:
        """Blur ``results['img']`` ``(H, W, C)`` with sigma ``mag``."""
        img = results['img']
        blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=mag, sigmaY=mag)
        results['img'] = blurred.astype(img.dtype)


@TRANSFORMS.register_module()
class Hue(ExactColorTransform):
    """Rotate the hue of a BGR image by the fraction ``mag`` of the circle.

    Hand-written because mmdet has no hue transform (and ``mmcv.adjust_hue``
    fails for negative shifts under numpy 2). The image goes to HSV with the
    full 8-bit hue range (``COLOR_BGR2HSV_FULL``: 256 steps per turn), the
    hue channel is shifted by ``round(mag * 256)`` modulo 256 and the image
    comes back; saturation and value are kept (up to the 8-bit round trip).
    ``mag`` is in ``[-0.5, 0.5]``: 0 keeps the colours, +-0.5 gives the
    complementary ones.

    Args:
        prob (float): Probability of the shift. Defaults to 1.0.
        level (int, optional): Fixed level in ``[0, 10]``; None draws the
            magnitude uniformly. Defaults to None.
        min_mag (float): Smallest shift (fraction of a turn). Defaults to -0.5.
        max_mag (float): Largest shift. Defaults to 0.5.
    """

    def __init__(self,
                 prob: float = 1.0,
                 level: Optional[int] = None,
                 min_mag: float = -0.5,
                 max_mag: float = 0.5) -> None:
        if not -0.5 <= min_mag <= max_mag <= 0.5:
            raise ValueError('Hue shifts must lie in [-0.5, 0.5], got '
                             f'[{min_mag}, {max_mag}]')
        super().__init__(prob=prob, level=level, min_mag=min_mag,
                         max_mag=max_mag)

    def _transform_img(self, results: dict, mag: float) -> None:
        """Shift the hue of ``results['img']`` ``(H, W, 3)`` by ``mag``."""
        img = results['img']
        results['img'] = shift_hue(_as_uint8(img), mag).astype(img.dtype)


def shift_hue(img: np.ndarray, fraction: float) -> np.ndarray:
    """Rotate the hue of a uint8 BGR image ``(H, W, 3)`` by ``fraction``.

    Returns:
        np.ndarray: uint8 ``(H, W, 3)`` BGR image.
    """
    steps = int(round(fraction * 256)) % 256
    if steps == 0:
        return img.copy()
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    hue = hsv[..., 0].astype(np.int32)
    hsv[..., 0] = ((hue + steps) % 256).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


__all__ = ['ExactColorTransform', 'Identity', 'GaussianBlur', 'Hue',
           'shift_hue']
