"""Tests of :class:`mmvis_pretrain.models.layers.ConvGRU`."""
import pytest
import torch

from mmvis_pretrain.models.layers import ConvGRU


def test_conv_gru_shapes_and_h0_zero():
    gru = ConvGRU(4)
    x = torch.randn(2, 3, 4, 5, 6)
    out = gru(x)
    assert out.shape == x.shape
    # step 1 from h0 = 0 equals an explicit step from zeros
    assert torch.allclose(out[:, 0], gru.step(x[:, 0], torch.zeros_like(
        x[:, 0])))
    # T = 1
    assert gru(x[:, :1]).shape == (2, 1, 4, 5, 6)


def _centre_only(conv, weight_1x1, bias):
    """Make a 3x3 conv act as the given 1x1 conv (out, in)."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :, 1, 1] = weight_1x1
        conv.bias.copy_(bias)


def test_conv_gru_hand_computed_two_steps():
    """C = 1: the gates conv maps [x, h] -> [r, z], the candidate conv maps
    [x, r*h] -> c, all as 1x1 (centre tap) convolutions with known weights."""
    gru = ConvGRU(1)
    # r = sigmoid(0.5 x - 1.0 h + 0.1), z = sigmoid(-0.3 x + 2.0 h - 0.2)
    _centre_only(gru.gates.conv, torch.tensor([[0.5, -1.0], [-0.3, 2.0]]),
                 torch.tensor([0.1, -0.2]))
    # c = tanh(1.5 x + 0.7 (r h) + 0.05)
    _centre_only(gru.candidate.conv, torch.tensor([[1.5, 0.7]]),
                 torch.tensor([0.05]))
    xs = torch.tensor([0.8, -1.2])  # x_1, x_2 (constant over 2x3 pixels)
    x = xs.view(1, 2, 1, 1, 1).expand(1, 2, 1, 2, 3).contiguous()

    def sig(v):
        return 1 / (1 + torch.exp(-v))

    h = torch.tensor(0.)
    expected = []
    for xt in xs:
        r = sig(0.5 * xt - 1.0 * h + 0.1)
        z = sig(-0.3 * xt + 2.0 * h - 0.2)
        c = torch.tanh(1.5 * xt + 0.7 * (r * h) + 0.05)
        h = (1 - z) * h + z * c
        expected.append(h)
    # explicit values of step 1 (h0 = 0): h1 = z1 * tanh(1.5 * 0.8 + 0.05)
    h1 = sig(torch.tensor(-0.3 * 0.8 - 0.2)) * torch.tanh(
        torch.tensor(1.5 * 0.8 + 0.05))
    assert torch.allclose(expected[0], h1)

    out = gru(x)
    assert out.shape == (1, 2, 1, 2, 3)
    for t in range(2):
        assert torch.allclose(out[0, t], expected[t].expand(1, 2, 3),
                              atol=1e-6), (t, out[0, t], expected[t])


def test_conv_gru_uses_spatial_context():
    """The 3x3 kernels mix neighbouring pixels (not a per-pixel GRU)."""
    torch.manual_seed(0)
    gru = ConvGRU(2)
    x = torch.zeros(1, 1, 2, 5, 5)
    base = gru(x)
    x[0, 0, :, 2, 2] = 1.0
    diff = (gru(x) - base).abs()[0, 0].sum(0)
    assert diff[2, 1] > 0 and diff[1, 2] > 0 and diff[0, 0] == 0


def test_conv_gru_autocast_bf16():
    gru = ConvGRU(4)
    x = torch.randn(1, 3, 4, 5, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = gru(x)
        ref = gru.candidate.conv(torch.cat([x[:, 0], x[:, 0]], 1))
    assert out.dtype == ref.dtype == torch.bfloat16


def test_conv_gru_ratio_half_passes_rest_through():
    """``ratio=0.5`` (RVM): the recurrence runs on the first half of the
    channels, the second half is returned exactly."""
    torch.manual_seed(0)
    gru = ConvGRU(6, ratio=0.5)
    assert gru.gru_channels == 3
    assert gru.gates.conv.weight.shape == (6, 6, 3, 3)
    assert gru.candidate.conv.weight.shape == (3, 6, 3, 3)
    x = torch.randn(2, 3, 6, 5, 4, requires_grad=True)
    out = gru(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, :, 3:], x[:, :, 3:])
    # the recurrent half is a full-width GRU with the same weights on x[:, :3]
    full = ConvGRU(3)
    full.load_state_dict(gru.state_dict())
    assert torch.allclose(out[:, :, :3], full(x[:, :, :3]))
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for name, p in gru.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # h0 lives on the recurrent channels
    h0 = torch.randn(2, 3, 5, 4)
    assert torch.allclose(
        gru(x, h0)[:, 0, :3], gru.step(x[:, 0, :3], h0), atol=1e-6)


def test_conv_gru_ratio_rounding_and_checks():
    assert ConvGRU(5, ratio=0.5).gru_channels == 2  # round(2.5), banker's
    assert ConvGRU(7, ratio=0.5).gru_channels == 4
    assert ConvGRU(4).gru_channels == 4
    for bad in (0.0, 0.1, 1.5):
        with pytest.raises(ValueError, match='recurrent'):
            ConvGRU(4, ratio=bad)


def test_conv_gru_ratio_autocast_bf16():
    gru = ConvGRU(4, ratio=0.5)
    x = torch.randn(1, 2, 4, 5, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = gru(x)
        out_bf16 = gru(x.bfloat16())
    # fp32 input: the pass-through half keeps fp32, the result is fp32
    assert out.dtype == torch.float32
    assert torch.equal(out[:, :, 2:], x[:, :, 2:])
    assert out_bf16.dtype == torch.bfloat16
