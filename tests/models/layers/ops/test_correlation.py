"""Tests of the CPU-capable drop-in for ``mmcv.ops.Correlation``."""
import importlib

import pytest
import torch

from mmvis_pretrain.models.layers.ops import Correlation, correlation
from mmvis_pretrain.models.layers.ops.correlation import (correlation_output_size,
                                                      correlation_pytorch)


def naive_correlation(input1, input2, kernel_size, max_displacement, stride,
                      padding, dilation, dilation_patch):
    """Straight from the definition: loops over batch, displacement, output
    pixel, kernel window and channel; zero outside the images."""
    n_batch, channels, height, width = input1.shape
    a, b = input1.double().tolist(), input2.double().tolist()
    k, d, s, p = kernel_size, dilation, stride, padding
    out_h = (height + 2 * p - (k - 1) * d - 1) // s + 1
    out_w = (width + 2 * p - (k - 1) * d - 1) // s + 1
    size = 2 * max_displacement + 1
    out = torch.zeros(n_batch, size, size, out_h, out_w, dtype=torch.float64)
    for n in range(n_batch):
        for ph in range(size):
            dy = (ph - max_displacement) * dilation_patch
            for pw in range(size):
                dx = (pw - max_displacement) * dilation_patch
                for y in range(out_h):
                    for x in range(out_w):
                        total = 0.0
                        for i in range(k):
                            y1 = y * s - p + i * d
                            y2 = y1 + dy
                            if not (0 <= y1 < height and 0 <= y2 < height):
                                continue
                            for j in range(k):
                                x1 = x * s - p + j * d
                                x2 = x1 + dx
                                if not (0 <= x1 < width and 0 <= x2 < width):
                                    continue
                                for c in range(channels):
                                    total += a[n][c][y1][x1] * b[n][c][y2][x2]
                        out[n, ph, pw, y, x] = total
    return out


# (kernel_size, max_displacement, stride, padding, dilation, dilation_patch)
SETTINGS = [
    (1, 1, 1, 0, 1, 1),
    (1, 3, 1, 0, 1, 1),
    (1, 2, 2, 0, 1, 2),
    (1, 1, 2, 1, 1, 1),
    (3, 1, 1, 0, 1, 1),
    (3, 1, 1, 1, 1, 1),
    (3, 2, 2, 1, 1, 1),
    (3, 1, 1, 2, 2, 1),
    (3, 2, 1, 1, 2, 2),
    (3, 3, 2, 2, 2, 2),
    (2, 1, 1, 0, 1, 1),  # even window
]


@pytest.mark.parametrize('setting', SETTINGS)
def test_matches_naive_definition(setting):
    torch.manual_seed(0)
    input1 = torch.randn(2, 3, 6, 9)  # H != W
    input2 = torch.randn(2, 3, 6, 9)
    expected = naive_correlation(input1, input2, *setting)
    out = Correlation(*setting)(input1, input2)
    assert out.dtype == torch.float32
    assert out.shape == expected.shape
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        correlation(input1, input2, *setting), out, rtol=0, atol=0)


def test_tuple_arguments_match_naive():
    """Pair-valued arguments as mmcv's ``_pair`` accepts them."""
    torch.manual_seed(1)
    input1, input2 = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    out = correlation(input1, input2, kernel_size=(3, 3), max_displacement=2,
                      stride=(2, 2), padding=(1, 1), dilation=(1, 1),
                      dilation_patch=(2, 2))
    expected = naive_correlation(input1, input2, 3, 2, 2, 1, 1, 2)
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)


def test_no_normalisation_and_centre_is_zero_displacement():
    """C=1, max_displacement=0 gives the plain product (mmcv's own test
    case); summing over channels is not divided by C."""
    input1 = torch.tensor([[[[1., 2., 3.], [0., 1., 2.], [3., 5., 2.]]]])
    input2 = torch.tensor([[[[2., 2., 1.], [3., 1., 4.], [1., 0., 2.]]]])
    out = Correlation(max_displacement=0)(input1, input2)
    assert out.shape == (1, 1, 1, 3, 3)
    torch.testing.assert_close(out[0, 0, 0], (input1 * input2)[0, 0])

    ones = torch.ones(1, 4, 5, 5)
    out = Correlation(kernel_size=3, max_displacement=1)(ones, ones)
    # interior: 4 channels * 3x3 window, centre displacement
    assert out[0, 1, 1, 1, 1].item() == 36.0
    # displacement (dy, dx) = (-1, -1) at output (0, 0): window rows 0..2,
    # displaced rows -1..1 -> 2x2 valid terms per channel
    assert out[0, 0, 0, 0, 0].item() == 16.0


def test_displacement_axes():
    """``out[:, ph, pw]`` compares input1 at (y, x) with input2 at
    (y + dy, x + dx): ph is the vertical, pw the horizontal displacement."""
    input1 = torch.zeros(1, 1, 5, 5)
    input2 = torch.zeros(1, 1, 5, 5)
    input1[0, 0, 2, 2] = 1.
    input2[0, 0, 1, 3] = 1.  # dy = -1, dx = +1
    out = correlation(input1, input2, max_displacement=1)
    nonzero = out.nonzero().tolist()
    assert nonzero == [[0, 0, 2, 2, 2]]


@pytest.mark.parametrize('setting', [(1, 1, 1, 0, 1, 1), (3, 1, 2, 1, 2, 2),
                                     (2, 1, 1, 1, 1, 1)])
def test_gradcheck(setting):
    torch.manual_seed(0)
    input1 = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    input2 = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: Correlation(*setting)(a, b), (input1, input2))
    # second order (the pure-PyTorch path is twice differentiable)
    assert torch.autograd.gradgradcheck(
        lambda a, b: Correlation(*setting)(a, b), (input1, input2),
        fast_mode=True)


@pytest.mark.parametrize('size', [(7, 10), (8, 5), (1, 1)])
@pytest.mark.parametrize('setting', SETTINGS)
def test_output_shape(setting, size):
    kernel_size, max_displacement, stride, padding, dilation, _ = setting
    height, width = size
    out_h = (height + 2 * padding - dilation * (kernel_size - 1) - 1) \
        // stride + 1
    out_w = (width + 2 * padding - dilation * (kernel_size - 1) - 1) \
        // stride + 1
    assert correlation_output_size(size, kernel_size, stride, padding,
                                   dilation) == (out_h, out_w)
    inputs = torch.rand(2, 3, height, width), torch.rand(2, 3, height, width)
    if out_h < 1 or out_w < 1:
        with pytest.raises(ValueError, match='empty'):
            Correlation(*setting)(*inputs)
        return
    patch = 2 * max_displacement + 1
    assert Correlation(*setting)(*inputs).shape == (2, patch, patch, out_h,
                                                     out_w)


def test_invalid_inputs():
    with pytest.raises(ValueError, match='same shape'):
        correlation(torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 5))
    with pytest.raises(ValueError, match='same shape'):
        correlation(torch.rand(2, 4, 4), torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match='max_displacement'):
        correlation(torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 4),
                    max_displacement=-1)
    with pytest.raises(ValueError, match='stride'):
        correlation(torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 4), stride=0)


def test_repr_and_signature_match_mmcv():
    import inspect

    from mmcv.ops import Correlation as MMCVCorrelation
    assert (inspect.signature(Correlation.__init__) == inspect.signature(
        MMCVCorrelation.__init__))
    args = dict(kernel_size=3, max_displacement=2, stride=2, padding=1,
                dilation=2, dilation_patch=2)
    assert repr(Correlation(**args)) == repr(MMCVCorrelation(**args))


def test_dispatch_to_mmcv(monkeypatch):
    """Where mmcv has a kernel, the arguments reach mmcv's
    ``CorrelationFunction`` in its order; elsewhere the PyTorch path runs."""
    from mmcv.ops.correlation import CorrelationFunction

    # the package's ``correlation`` attribute is the function
    module = importlib.import_module('mmvis_pretrain.models.layers.ops.correlation')
    calls = []
    monkeypatch.setattr(CorrelationFunction, 'apply',
                        lambda *args: calls.append(args) or 'mmcv')
    input1, input2 = torch.rand(1, 2, 5, 5), torch.rand(1, 2, 5, 5)
    layer = Correlation(3, 2, 2, 1, 2, 2)
    assert torch.is_tensor(layer(input1, input2)) and not calls
    monkeypatch.setattr(module, '_use_mmcv', lambda tensor: True)
    assert layer(input1, input2) == 'mmcv'
    assert calls == [(input1, input2, 3, 2, 2, 1, 2, 2)]


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='requires CUDA (mmcv kernel)')
@pytest.mark.parametrize('setting', SETTINGS)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_matches_mmcv_on_cuda(setting, dtype):
    from mmcv.ops import Correlation as MMCVCorrelation
    torch.manual_seed(0)
    input1 = torch.randn(2, 5, 7, 11, device='cuda', dtype=dtype)
    input2 = torch.randn(2, 5, 7, 11, device='cuda', dtype=dtype)
    patch = 2 * setting[1] + 1
    out_size = correlation_output_size((7, 11), setting[0], *setting[2:5])
    grad = torch.randn(2, patch, patch, *out_size, device='cuda', dtype=dtype)

    results = []
    for fn in (MMCVCorrelation(*setting),
               lambda a, b: correlation_pytorch(a, b, *setting),
               Correlation(*setting)):
        a = input1.clone().requires_grad_()
        b = input2.clone().requires_grad_()
        out = fn(a, b)
        out.backward(grad)
        results.append((out.detach(), a.grad, b.grad))
    # mmcv reduces its per-lane partial sums through a float32 warp
    # shuffle, so even in float64 it is only float32-accurate.
    tol = dict(rtol=1e-4, atol=1e-4)
    for other in results[1:]:
        for ref, got in zip(results[0], other):
            torch.testing.assert_close(got, ref, **tol)
