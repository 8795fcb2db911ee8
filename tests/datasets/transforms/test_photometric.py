"""The hand-written CoSt ops (Identity, GaussianBlur, Hue) and the fast
versions of mmdet's AutoContrast / Equalize / Contrast / Solarize /
Brightness / Posterize / Color / Sharpness (bit-identical to mmdet's)."""
import cv2
import numpy as np
import pytest
from mmdet.datasets.transforms import (AutoContrast, Brightness, Color,
                                       Contrast, Equalize, Posterize,
                                       Sharpness, Solarize)

from mmvis_pretrain.datasets.transforms import photometric
from mmvis_pretrain.datasets.transforms.photometric import (
    FastColor, FastSharpness, GaussianBlur, Hue, Identity, LutAutoContrast,
    LutBrightness, LutContrast, LutEqualize, LutPosterize, LutSolarize,
    channel_histograms, shift_hue)
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


# --- Lookup-table versions of mmdet's ops: bit-identical to mmdet ----------

#: (mmdet op, fast op, magnitudes; None: the op takes no magnitude)
LUT_OPS = [
    (AutoContrast, LutAutoContrast, [None]),
    (Equalize, LutEqualize, [None]),
    (Contrast, LutContrast,
     [0.0, 0.05, 0.1, 0.3, 0.5, 0.77, 0.95, 1.0, 1.3, 1.9, 2.0]),
    (Solarize, LutSolarize,
     [0.0, 1.0, 50.3, 127.9, 128.0, 128.1, 200.0, 255.0, 255.5, 256.0]),
    (Brightness, LutBrightness,
     [0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.77, 0.95, 1.0, 1.3, 1.9, 2.0]),
    (Posterize, LutPosterize, [0.0, 1.0, 2.5, 4.0, 5.0, 6.0, 7.0, 8.0]),
    (Color, FastColor,
     [0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.77, 0.95, 1.0, 1.3, 1.9, 2.0]),
    (Sharpness, FastSharpness,
     [0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.77, 0.95, 1.0, 1.3, 1.9, 2.0]),
]


def build_pair(ref_cls, fast_cls, mag):
    kwargs = dict(prob=1.0)
    if mag is not None:
        kwargs.update(min_mag=float(mag), max_mag=float(mag))
    return ref_cls(**kwargs), fast_cls(**kwargs)


def smooth_image(rng, h, w, noise=0.0):
    """Natural-ish: bicubic upsampling of a coarse random image + noise."""
    coarse = rng.randint(0, 256, (4, 5, 3)).astype(np.uint8)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    if noise:
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255)
    return img.astype(np.uint8)


def varied_images(seed=0, num=120):
    """uint8 (H, W, 3) images of every kind the ops must get right."""
    rng = np.random.RandomState(seed)
    yield np.zeros((1, 1, 3), np.uint8)
    yield np.full((1, 1, 3), 255, np.uint8)
    yield np.array([[[0, 128, 255]]], np.uint8)
    full = np.arange(256 * 3, dtype=np.int64).reshape(16, 16, 3) % 256
    yield full.astype(np.uint8)  # every value in every channel
    for i in range(num):
        h, w = rng.randint(1, 40), rng.randint(1, 40)
        kind = i % 7
        if kind == 0:  # uniform noise, full range
            img = rng.randint(0, 256, (h, w, 3))
        elif kind == 1:  # constant
            img = np.full((h, w, 3), rng.randint(0, 256))
        elif kind == 2:  # only two values
            img = rng.choice(rng.randint(0, 256, 2), (h, w, 3))
        elif kind == 3:  # narrow range (low contrast)
            low = rng.randint(0, 250)
            img = rng.randint(low, low + rng.randint(1, 7), (h, w, 3))
        elif kind == 4:  # per-channel: one constant, others noisy
            img = rng.randint(0, 256, (h, w, 3))
            img[..., rng.randint(3)] = rng.randint(0, 256)
        elif kind == 5:  # bimodal, lots of 0 / 255
            img = rng.beta(0.3, 0.3, (h, w, 3)) * 255.999
        else:
            img = smooth_image(rng, h, w, noise=rng.choice([0.0, 5.0]))
        yield img.astype(np.uint8)
    # larger odd sizes (vector tails of the cv2 kernels)
    for h, w in [(97, 131), (201, 333), (480, 641)]:
        yield smooth_image(rng, h, w)
        yield smooth_image(rng, h, w, noise=8.0)


def test_bincount_equals_numpy_histogram():
    rng = np.random.RandomState(0)
    values = np.arange(256, dtype=np.uint8)
    assert np.array_equal(np.histogram(values, 256, (0, 255))[0],
                          np.bincount(values, minlength=256))
    for img in [rng.randint(0, 256, (37, 41, 3)).astype(np.uint8),
                smooth_image(rng, 50, 70)]:
        expected = np.stack([np.histogram(img[..., c], 256, (0, 255))[0]
                             for c in range(3)])
        hists = channel_histograms(img)
        assert hists.dtype == np.int64 and np.array_equal(hists, expected)
        # non-contiguous views
        view = img[::2, ::-1]
        expected = np.stack([np.histogram(view[..., c], 256, (0, 255))[0]
                             for c in range(3)])
        assert np.array_equal(channel_histograms(view), expected)


@pytest.mark.parametrize('ref_cls,fast_cls,mags', LUT_OPS,
                         ids=[pair[1].__name__ for pair in LUT_OPS])
def test_lut_ops_equal_mmdet_exactly(ref_cls, fast_cls, mags):
    num = 0
    for img in varied_images():
        for mag in mags:
            ref, fast = build_pair(ref_cls, fast_cls, mag)
            expected = ref(dict(img=img.copy()))['img']
            src = img.copy()
            out = fast(dict(img=src))['img']
            assert out.dtype == expected.dtype == np.uint8
            assert out.shape == expected.shape
            assert np.array_equal(out, expected), (fast_cls.__name__, mag,
                                                   img.shape)
            assert np.array_equal(src, img)  # input untouched
            num += 1
    assert num > 100


@pytest.mark.parametrize('ref_cls,fast_cls,mags', LUT_OPS,
                         ids=[pair[1].__name__ for pair in LUT_OPS])
def test_lut_ops_equal_mmdet_on_views_and_big_images(ref_cls, fast_cls,
                                                     mags, monkeypatch):
    rng = np.random.RandomState(5)
    img = smooth_image(rng, 203, 157, noise=6.0)
    for view in (img[:, ::-1], img[1::2, ::3], img[..., ::-1]):
        for mag in mags[::3]:
            ref, fast = build_pair(ref_cls, fast_cls, mag)
            assert np.array_equal(fast(dict(img=view))['img'],
                                  ref(dict(img=view))['img'])
    # the np.bincount path of images over 2 ** 24 pixels
    monkeypatch.setattr(photometric, '_CALCHIST_MAX_PIXELS', 0)
    for mag in mags[::3]:
        ref, fast = build_pair(ref_cls, fast_cls, mag)
        assert np.array_equal(fast(dict(img=img))['img'],
                              ref(dict(img=img))['img'])


@pytest.mark.parametrize('ref_cls,fast_cls,mags', LUT_OPS,
                         ids=[pair[1].__name__ for pair in LUT_OPS])
def test_lut_ops_fall_back_for_float_images(ref_cls, fast_cls, mags):
    """float32 images go to mmdet's code: same result, or the same error
    (mmcv's AutoContrast / Equalize index a table with the image and fail
    for float images)."""
    rng = np.random.RandomState(1)
    img = smooth_image(rng, 23, 31, noise=4.0).astype(np.float32)
    img[0, 0, 0] = 12.5  # not an integer
    for mag in mags[::2]:
        ref, fast = build_pair(ref_cls, fast_cls, mag)
        try:
            expected = ref(dict(img=img.copy()))['img']
        except Exception as err:  # mmdet fails: so must the fast op
            with pytest.raises(type(err)):
                fast(dict(img=img.copy()))
            continue
        out = fast(dict(img=img.copy()))['img']
        assert out.dtype == expected.dtype == np.float32
        assert np.array_equal(out, expected)


def test_lut_ops_registered_and_random_magnitude_like_mmdet():
    for name in ('LutAutoContrast', 'LutEqualize', 'LutContrast',
                 'LutSolarize', 'LutBrightness', 'LutPosterize', 'FastColor',
                 'FastSharpness'):
        op = TRANSFORMS.build(dict(type=name, prob=1.0))
        assert isinstance(op, photometric.ColorTransform)
    img = smooth_image(np.random.RandomState(2), 30, 40, noise=5.0)
    for ref_cls, fast_cls, _ in LUT_OPS:
        for seed in range(5):
            np.random.seed(seed)
            expected = ref_cls(prob=0.6)(dict(img=img.copy()))['img']
            np.random.seed(seed)
            out = fast_cls(prob=0.6)(dict(img=img.copy()))['img']
            assert np.array_equal(out, expected)


def test_video_auto_augment_uses_the_lut_ops():
    from mmvis_pretrain.datasets.transforms.video_auto_augment import \
        COLOR_OPS
    assert COLOR_OPS['AutoContrast'] is LutAutoContrast
    assert COLOR_OPS['Equalize'] is LutEqualize
    assert COLOR_OPS['Contrast'] is LutContrast
    assert COLOR_OPS['Solarize'] is LutSolarize
    assert COLOR_OPS['Brightness'] is LutBrightness
    assert COLOR_OPS['Posterize'] is LutPosterize
    assert COLOR_OPS['Color'] is FastColor
    assert COLOR_OPS['Sharpness'] is FastSharpness


@pytest.mark.filterwarnings("ignore:Only use 'alpha' for pillow")
@pytest.mark.parametrize('ref_cls,fast_cls', [(Contrast, LutContrast),
                                              (Brightness, LutBrightness),
                                              (Color, FastColor)])
def test_fast_ops_follow_mmcv_pillow_backend(ref_cls, fast_cls,
                                             monkeypatch):
    """With mmcv's pillow backend, mmcv computes these ops with PIL (other
    numbers): the fast ops must then defer to mmdet's op."""
    monkeypatch.setattr(photometric.mmcv_photometric, 'imread_backend',
                        'pillow')
    img = smooth_image(np.random.RandomState(4), 29, 35, noise=7.0)
    ref, fast = build_pair(ref_cls, fast_cls, 0.35)
    expected = ref(dict(img=img.copy()))['img']
    assert np.array_equal(fast(dict(img=img.copy()))['img'], expected)


@pytest.mark.parametrize('fraction', [0.1, -0.1, 0.04, -0.37, 0.5, 0.99])
def test_shift_hue_is_the_modular_shift_of_the_hsv_hue(fraction):
    """Hue channel ``(h + round(256 f)) mod 256``, saturation and value
    kept, computed here the slow way (int64 arithmetic)."""
    rng = np.random.RandomState(6)
    img = rng.randint(0, 256, (19, 23, 3)).astype(np.uint8)
    hsv_img = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    steps = int(round(fraction * 256))
    hsv_img[..., 0] = (hsv_img[..., 0].astype(np.int64) + steps) % 256
    expected = cv2.cvtColor(hsv_img, cv2.COLOR_HSV2BGR_FULL)
    src = img.copy()
    assert np.array_equal(shift_hue(src, fraction), expected)
    assert np.array_equal(src, img)
