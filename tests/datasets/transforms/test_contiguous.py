"""contiguous_image: fast C-contiguous copies of mirrored image views."""
import numpy as np
import pytest

from mmvis_pretrain.datasets.transforms.contiguous import contiguous_image


def views(img):
    """Mirrored views of ``img`` (as mmcv's imflip gives), crops of them
    and other non-contiguous views."""
    yield img[:, ::-1]  # horizontal flip
    yield img[::-1]  # vertical flip
    yield img[::-1, ::-1]  # diagonal flip
    yield img[:, ::-1][2:-1, 1:-3]  # flip, then a crop (RandomCrop)
    yield img[::-1][1:, :-2]
    yield img[::2, ::-1]  # strided rows: not cv2-readable as is
    yield img[:, ::2]
    yield img[1:-1, 2:]  # a plain crop
    if img.ndim == 3:
        yield img[..., ::-1]  # BGR -> RGB
        yield img[:, ::-1, :1]  # a channel of a flipped view


@pytest.mark.parametrize('shape,dtype', [
    ((17, 23, 3), np.uint8), ((17, 23), np.uint8), ((9, 11, 4), np.float32),
    ((9, 11, 1), np.uint16), ((8, 6, 3), np.int64), ((8, 6, 3), bool),
    ((6, 5, 5), np.uint8)])
def test_contiguous_copy_has_the_same_values(shape, dtype):
    rng = np.random.RandomState(0)
    img = (rng.rand(*shape) * 200).astype(dtype)
    for view in views(img):
        out = contiguous_image(view)
        assert out.flags.c_contiguous
        assert out.shape == view.shape and out.dtype == view.dtype
        assert np.array_equal(out, view)
        if view.flags.c_contiguous:  # e.g. [..., ::-1] of one channel
            assert out is view
        else:
            assert not np.shares_memory(out, img)


def test_contiguous_image_is_kept():
    img = np.zeros((4, 5, 3), np.uint8)
    assert contiguous_image(img) is img


def test_mirrored_views_take_cv2_flip(monkeypatch):
    """Flips (and crops of flips, and every other row of one) of rows of
    contiguous pixels are copied by cv2.flip; other views by numpy."""
    from mmvis_pretrain.datasets.transforms import contiguous
    calls = []
    real = contiguous.cv2.flip
    monkeypatch.setattr(contiguous.cv2, 'flip',
                        lambda src, code: calls.append(code) or
                        real(src, code))
    img = np.arange(7 * 9 * 3, dtype=np.uint8).reshape(7, 9, 3)
    expected_codes = [(img[:, ::-1], 1), (img[::-1], 0),
                      (img[::-1, ::-1], -1), (img[:, ::-1][1:5, 2:6], 1),
                      (img[::2, ::-1], 1), (img[:, ::-2], None),
                      (img[1:3, 1:], None)]
    for view, code in expected_codes:
        calls.clear()
        assert np.array_equal(contiguous_image(view), view)
        assert calls == ([] if code is None else [code])
