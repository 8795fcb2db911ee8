"""FCB (STMask sec. 3.1.2): adaptive offsets start at zero (the plain
convolution), aligned offsets follow the box geometry; the PyTorch
deformable convolution matches mmcv's."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import deform_conv2d as mmcv_deform_conv2d

from mmvis_pretrain.models.layers import FeatureCalibration, aligned_offsets
from mmvis_pretrain.models.layers.ops import (DeformConv2d,
                                              deform_conv2d_pytorch)


def _plain(fcb, x):
    """The FCB branch with the deformable conv replaced by a plain conv
    with the same weights."""
    pad = fcb.padding
    y = F.relu(F.conv2d(x, fcb.conv_adaption.weight, padding=pad))
    return F.conv2d(y, fcb.conv.weight, fcb.conv.bias, padding=pad)


@pytest.mark.parametrize('kernel', [(3, 3), (3, 5), (5, 3)])
def test_adaptive_zero_init_is_plain_convolution(kernel):
    torch.manual_seed(0)
    fcb = FeatureCalibration(6, 4, kernel, mode='adaptive')
    fcb.init_weights()
    assert fcb.conv_offset.weight.abs().sum() == 0
    x = torch.randn(2, 6, 7, 9)
    deltas = torch.randn(2, 4, 7, 9) * 3  # arbitrary regression
    out = fcb(x, deltas)
    assert out.shape == (2, 4, 7, 9)
    assert torch.allclose(out, _plain(fcb, x), atol=1e-5)
    # the offsets are trainable from the start, the deltas are not touched
    deltas.requires_grad_(True)
    fcb(x, deltas).square().sum().backward()
    assert fcb.conv_offset.weight.grad.abs().sum() > 0
    assert deltas.grad is None


def test_mode_none_is_the_prediction_conv():
    fcb = FeatureCalibration(6, 4, (5, 3), mode=None)
    x = torch.randn(1, 6, 5, 5)
    assert torch.equal(
        fcb(x), F.conv2d(x, fcb.conv.weight, fcb.conv.bias, padding=(2, 1)))
    assert not hasattr(fcb, 'conv_adaption')


def test_aligned_offsets_translation_is_uniform():
    # kernel 3x5 with its FCA anchor (3x5 cells), stds 0.1 / 0.2:
    # dx = 4 -> 4 * 0.1 * 5 = 2 cells; dy = -5 -> -5 * 0.1 * 3 = -1.5 cells
    deltas = torch.zeros(1, 4, 2, 3)
    deltas[:, 0] = 4.0
    deltas[:, 1] = -5.0
    off = aligned_offsets(deltas, (3, 5))
    assert off.shape == (1, 30, 2, 3)
    assert torch.allclose(off[:, 0::2], torch.full((1, 15, 2, 3), -1.5))
    assert torch.allclose(off[:, 1::2], torch.full((1, 15, 2, 3), 2.0))


def test_aligned_offsets_scale_grows_with_tap_index():
    # width doubled (exp(0.2 * dw) = 2): tap column j of a 3x3 kernel moves
    # by (j - 1) * (2 - 1); height unchanged
    deltas = torch.zeros(1, 4, 1, 1)
    deltas[:, 2] = math.log(2.0) / 0.2
    off = aligned_offsets(deltas, 3)[0, :, 0, 0].view(9, 2)
    assert torch.allclose(off[:, 0], torch.zeros(9), atol=1e-6)
    assert torch.allclose(off[:, 1],
                          torch.tensor([-1., 0., 1.] * 3), atol=1e-6)
    # height x1.5 on a 5x3 kernel: tap row i moves by (i - 2) * 0.5
    deltas = torch.zeros(1, 4, 1, 1)
    deltas[:, 3] = math.log(1.5) / 0.2
    off = aligned_offsets(deltas, (5, 3))[0, :, 0, 0].view(5, 3, 2)
    rows = torch.tensor([-1., -.5, 0., .5, 1.]).view(5, 1).expand(5, 3)
    assert torch.allclose(off[..., 0], rows, atol=1e-6)
    # explicit anchor size in cells scales the translation only
    deltas = torch.zeros(1, 4, 1, 1)
    deltas[:, 0] = 1.0
    off = aligned_offsets(deltas, 3, anchor_cells=(6.0, 6.0))
    assert torch.allclose(off[:, 1::2], torch.full((1, 9, 1, 1), 0.6))


def test_aligned_translation_shifts_the_features():
    """A box shifted by exactly one cell to the right: the calibrated branch
    reads the features one column to the right (interior columns)."""
    torch.manual_seed(0)
    fcb = FeatureCalibration(3, 2, 3, mode='aligned')
    fcb.init_weights()
    x = torch.randn(1, 3, 6, 8)
    deltas = torch.zeros(1, 4, 6, 8)
    deltas[:, 0] = 1 / (0.1 * 3)  # one cell
    out = fcb(x, deltas)
    shifted = torch.zeros_like(x)
    shifted[..., :-1] = x[..., 1:]
    expected = _plain(fcb, shifted)
    # the first layer differs at column 0 (the shifted map has no column -1
    # of x), the second 3x3 conv spreads that to column 1
    assert torch.allclose(out[..., 2:], expected[..., 2:], atol=1e-5)
    assert not torch.allclose(out, _plain(fcb, x), atol=1e-3)


def test_aligned_needs_one_anchor_and_modes_are_checked():
    with pytest.raises(ValueError, match='one anchor'):
        FeatureCalibration(4, 4, 3, mode='aligned', num_anchors=3)
    with pytest.raises(ValueError, match='mode'):
        FeatureCalibration(4, 4, 3, mode='deformable')
    with pytest.raises(ValueError, match='deltas'):
        FeatureCalibration(4, 4, 3, mode='adaptive')(torch.zeros(1, 4, 3, 3))
    # adaptive with A anchors reads 4 * A deltas
    fcb = FeatureCalibration(4, 6, 3, mode='adaptive', num_anchors=3)
    assert fcb.conv_offset.in_channels == 12
    assert fcb(torch.randn(1, 4, 5, 5), torch.randn(1, 12, 5,
                                                    5)).shape == (1, 6, 5, 5)


@pytest.mark.parametrize('kernel,stride,padding,dilation,groups', [
    ((3, 5), 1, (1, 2), 1, 1),
    ((3, 3), 2, 1, 1, 2),
    ((3, 3), 1, 2, 2, 1),
])
def test_pytorch_deform_conv_matches_mmcv(kernel, stride, padding, dilation,
                                          groups):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 7, 9, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 4, *kernel, dtype=torch.float64,
                         requires_grad=True)
    ho = (7 + 2 * torch.nn.modules.utils._pair(padding)[0] - dilation *
          (kernel[0] - 1) - 1) // stride + 1
    wo = (9 + 2 * torch.nn.modules.utils._pair(padding)[1] - dilation *
          (kernel[1] - 1) - 1) // stride + 1
    # offsets reaching outside the image too
    offset = (torch.randn(2, groups * 2 * kernel[0] * kernel[1], ho, wo,
                          dtype=torch.float64) * 3).requires_grad_(True)
    ours = deform_conv2d_pytorch(x, offset, weight, stride, padding,
                                 dilation, groups)
    theirs = mmcv_deform_conv2d(x, offset, weight, stride, padding, dilation,
                                1, groups)
    assert torch.allclose(ours, theirs, atol=1e-10)
    g1 = torch.autograd.grad(ours.sin().sum(), (x, offset, weight))
    g2 = torch.autograd.grad(theirs.sin().sum(), (x, offset, weight))
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-8)


def test_deform_conv_module_is_a_drop_in():
    conv = DeformConv2d(4, 3, (3, 5), padding=(1, 2))
    x = torch.randn(1, 4, 5, 6)
    offset = torch.randn(1, 30, 5, 6)
    assert torch.allclose(
        conv(x, offset),
        mmcv_deform_conv2d(x, offset, conv.weight, 1, (1, 2)),
        atol=1e-5)
    assert set(conv.state_dict()) == {'weight'}


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_uses_mmcv_and_agrees_with_the_pytorch_path():
    torch.manual_seed(0)
    conv = DeformConv2d(4, 3, (5, 3), padding=(2, 1)).cuda()
    x = torch.randn(2, 4, 6, 7, device='cuda')
    offset = torch.randn(2, 30, 6, 7, device='cuda') * 2
    out = conv(x, offset)
    assert out.is_cuda
    assert torch.allclose(
        out,
        deform_conv2d_pytorch(x, offset, conv.weight, 1, (2, 1)),
        atol=1e-4)
