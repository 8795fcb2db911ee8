"""The hand-written CoSt ops: Identity, GaussianBlur, Hue."""
import cv2
import numpy as np
import pytest

from mmvis_pretrain.datasets.transforms.photometric import (GaussianBlur, Hue,
                                                            Identity,
                                                            shift_hue)
from mmvis_pretrain.registry import TRANSFORMS


def colourful_image(h=16, w=24):
    """Saturated colours (hue well defined) plus some noise."""
    rng = np.random.RandomState(3)
    img = rng.randint(0, 255, (h, w, 3)).astype(np.uint8)
    img[:, :, 0] = 30  # keep every pixel saturated
    img[:, :, 2] = np.maximum(img[:, :, 2], 200)
    return img


def test_registered_with_mmdet_signature():
    for name in ('Identity', 'GaussianBlur', 'Hue'):
        op = TRANSFORMS.build(dict(type=name, prob=1.0))
        assert hasattr(op, 'min_mag') and hasattr(op, 'max_mag')


def test_identity_keeps_the_image():
    img = colourful_image()
    out = Identity()(dict(img=img.copy()))['img']
    assert np.array_equal(out, img)


def laplacian_energy(img):
    return np.abs(cv2.Laplacian(img.astype(np.float32), -1)).mean()


def test_gaussian_blur_uses_the_exact_sigma():
    img = colourful_image()
    out = GaussianBlur(min_mag=0.73, max_mag=0.73)(dict(img=img))['img']
    expected = cv2.GaussianBlur(img, (0, 0), sigmaX=0.73, sigmaY=0.73)
    assert np.array_equal(out, expected) and out.dtype == np.uint8
    # blurring smooths: less high-frequency energy
    assert laplacian_energy(out) < 0.7 * laplacian_energy(img)
    with pytest.raises(ValueError):
        GaussianBlur(min_mag=0.0)


def hsv(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL).astype(np.int32)


@pytest.mark.parametrize('fraction', [0.1, -0.1, 0.04, -0.37])
def test_hue_rotates_hue_and_keeps_value(fraction):
    img = colourful_image()
    out = Hue(min_mag=fraction, max_mag=fraction)(dict(img=img))['img']
    assert out.dtype == np.uint8 and out.shape == img.shape
    steps = int(round(fraction * 256)) % 256
    delta = (hsv(out)[..., 0] - hsv(img)[..., 0]) % 256
    # hue moved by the requested fraction (8-bit round trip: +-3 steps)
    err = np.minimum(np.abs(delta - steps), 256 - np.abs(delta - steps))
    assert np.median(err) <= 1 and err.max() <= 4
    # value (max channel) is kept up to rounding
    assert np.abs(out.max(-1).astype(int) - img.max(-1)).max() <= 1
    assert not np.array_equal(out, img)


def test_hue_zero_and_half_turns():
    img = colourful_image()
    assert np.array_equal(shift_hue(img, 0.0), img)
    # +0.5 and -0.5 both give the complementary hue
    assert np.array_equal(shift_hue(img, 0.5), shift_hue(img, -0.5))
    with pytest.raises(ValueError):
        Hue(min_mag=-0.6, max_mag=0.1)


def test_exact_magnitude_is_not_rounded():
    """mmdet's ColorTransform rounds to 0.1; ours draws the exact value."""
    np.random.seed(0)
    op = Hue(min_mag=0.01, max_mag=0.04)
    mags = [op._get_mag() for _ in range(20)]
    assert all(0.01 <= m <= 0.04 for m in mags)
    assert len(set(mags)) == 20
    assert Hue(level=5, min_mag=0.0, max_mag=0.2)._get_mag() == \
        pytest.approx(0.1)
