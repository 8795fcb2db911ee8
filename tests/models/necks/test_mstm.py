"""Tests of the MSTM neck (paper sec. 3.2, eq. 3)."""
import pytest
import torch

import mmvis_pretrain.models.necks  # noqa: F401  (registers MSTM)
from mmvis_pretrain.models.necks import MSTM
from mmvis_pretrain.models.necks.mstm import default_num_heads
from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils import register_all_modules

SIZES = [(13, 17), (7, 9)]  # not multiples of the window


def _feats(n, T, channels=(32, 64), sizes=SIZES, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(n * T, c, h, w, generator=g)
        for c, (h, w) in zip(channels, sizes))


def _neck(**kwargs):
    torch.manual_seed(0)
    cfg = dict(in_channels=[32, 64], num_frames=3, window_size=4)
    cfg.update(kwargs)
    neck = MSTM(**cfg)
    neck.init_weights()
    return neck


@pytest.mark.parametrize('T', [1, 2, 3, 10])
def test_shapes(T):
    neck = _neck(num_frames=T)
    feats = _feats(2, T)
    outs = neck(feats)
    assert isinstance(outs, tuple) and len(outs) == 2
    for o, f in zip(outs, feats):
        assert o.shape == f.shape and o.dtype == f.dtype
        assert torch.isfinite(o).all()
    # the per-call override gives the same result
    outs2 = _neck(num_frames=3)(feats, num_frames=T)
    assert all(torch.allclose(a, b) for a, b in zip(outs, outs2))


def test_defaults_and_heads():
    neck = MSTM(in_channels=[32, 64, 256])
    assert neck.num_frames == 3 and neck.scales == [0, 1, 2]
    level = neck.levels[2]
    assert len(level.swin_layers) == 2 and len(level.gru_layers) == 1
    assert level.swin_layers[0].self_attn.window_size == 7
    assert level.swin_layers[0].self_attn.shift_size == 0
    assert level.swin_layers[1].self_attn.shift_size == 3
    assert [lv.swin_layers[0].self_attn.w_msa.num_heads
            for lv in neck.levels] == [1, 2, 8]
    assert default_num_heads(16) == 1 and default_num_heads(96) == 3
    assert default_num_heads(100) == 2  # 100 // 32 = 3 does not divide 100


def test_gradients_reach_every_parameter():
    neck = _neck(num_frames=3)
    neck.train()
    outs = neck(_feats(1, 3))
    sum(o.sum() for o in outs).backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_zeroed_candidate_conv_gives_identity():
    """With the last ConvGRU's candidate conv zeroed, c = tanh(0) = 0, so the
    hidden state stays h0 = 0 and eq. (3) returns f unchanged."""
    neck = _neck(num_frames=3)
    for level in neck.levels:
        conv = level.gru_layers[-1].candidate.conv
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    feats = _feats(2, 3)
    for o, f in zip(neck(feats), feats):
        assert torch.equal(o, f)


def test_scales_subset_passes_others_through():
    neck = _neck(scales=[1])
    assert len(neck.levels) == 1
    feats = _feats(1, 3)
    outs = neck(feats)
    assert outs[0] is feats[0]
    assert not torch.allclose(outs[1], feats[1])


def test_clips_are_independent():
    """Frames of clip 0 do not influence clip 1 (reshape is clip-major)."""
    neck = _neck(num_frames=3).eval()
    feats = _feats(2, 3)
    moved = tuple(f.clone() for f in feats)
    for f in moved:
        f[:3] += 1.0  # clip 0 only
    with torch.no_grad():
        a, b = neck(feats), neck(moved)
    for x, y in zip(a, b):
        assert torch.allclose(x[3:], y[3:], atol=1e-6)
        assert not torch.allclose(x[:3], y[:3])


def test_input_checks():
    neck = _neck(num_frames=3)
    with pytest.raises(ValueError, match='not divisible by num_frames=3'):
        neck(_feats(1, 4))
    with pytest.raises(ValueError, match='levels'):
        neck(_feats(1, 3)[:1])
    with pytest.raises(ValueError, match='expected'):
        neck(_feats(1, 3, channels=(32, 48)))
    bad = list(_feats(1, 3))
    bad[1] = bad[1][:2]
    with pytest.raises(ValueError, match='batch'):
        neck(tuple(bad))


def test_autocast_bf16():
    neck = _neck(num_frames=3)
    feats = _feats(1, 3)
    conv = torch.nn.Conv2d(32, 32, 3, padding=1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = neck(feats)
        # eq. (3): GRU branch (bf16, like any conv) + fp32 input
        expected = (conv(feats[0]) + feats[0]).dtype
        outs_bf16 = neck(tuple(f.bfloat16() for f in feats))
    assert all(o.dtype == expected for o in outs)
    assert all(o.dtype == torch.bfloat16 for o in outs_bf16)
    assert all(torch.isfinite(o.float()).all() for o in outs + outs_bf16)


def test_registry_build():
    register_all_modules()
    neck = MODELS.build(dict(type='MSTM', in_channels=[32, 64], num_frames=3))
    assert isinstance(neck, MSTM)
    outs = neck(_feats(1, 3))
    assert [o.shape for o in outs] == [f.shape for f in _feats(1, 3)]


# ------------------------------------------------- embed_dims / gru_ratio
def _num_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('T', [1, 3])
def test_embed_dims_and_half_gru_shapes_and_gradients(T):
    neck = _neck(num_frames=T, embed_dims=16, gru_ratio=0.5)
    for level, c in zip(neck.levels, (32, 64)):
        assert level.proj_in.weight.shape == (16, c, 1, 1)
        assert level.proj_out.weight.shape == (c, 16, 1, 1)
        assert level.swin_layers[0].self_attn.w_msa.embed_dims == 16
        assert level.gru_layers[0].channels == 16
        assert level.gru_layers[0].gru_channels == 8
    neck.train()
    feats = tuple(f.requires_grad_() for f in _feats(2, T))
    outs = neck(feats)
    for o, f in zip(outs, feats):
        assert o.shape == f.shape and o.dtype == f.dtype
        assert torch.isfinite(o).all()
    sum((o * o).sum() for o in outs).backward()
    for f in feats:
        assert f.grad is not None and f.grad.abs().sum() > 0
    for name, p in neck.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_embed_dims_residual_on_original_features():
    """out = f + proj_out(ConvGRU(Swin(proj_in(f)))): zeroing proj_out gives
    back f exactly, and the level equals that expression computed by hand."""
    neck = _neck(embed_dims=16, gru_ratio=0.5).eval()
    feats = _feats(1, 3)
    level = neck.levels[0]
    with torch.no_grad():
        x = feats[0].reshape(1, 3, 32, 13, 17)
        y = level.proj_in(feats[0]).reshape(1, 3, 16, 13, 17)
        for layer in level.swin_layers:
            y = layer(y)
        y = level.gru_layers[0](y)
        y = level.proj_out(y.flatten(0, 1)) + x.flatten(0, 1)
        assert torch.allclose(neck(feats)[0], y, atol=1e-5)
        for lv in neck.levels:
            torch.nn.init.zeros_(lv.proj_out.weight)
            torch.nn.init.zeros_(lv.proj_out.bias)
        for o, f in zip(neck(feats), feats):
            assert torch.equal(o, f)


def test_half_gru_untouched_channels_equal_input():
    """With gru_ratio=0.5 the second half of the ConvGRU's channels is its
    input exactly (checked through a hook inside the neck)."""
    neck = _neck(gru_ratio=0.5).eval()
    seen = {}

    def hook(module, args, out):
        seen[module.channels] = (args[0], out)

    for level in neck.levels:
        level.gru_layers[0].register_forward_hook(hook)
    with torch.no_grad():
        neck(_feats(2, 3))
    assert sorted(seen) == [32, 64]
    for c, (inp, out) in seen.items():
        g = c // 2
        assert torch.equal(out[:, :, g:], inp[:, :, g:])
        assert not torch.allclose(out[:, :, :g], inp[:, :, :g])


def test_default_keeps_full_width_without_projection():
    neck = _neck()
    assert neck.embed_dims is None and neck.gru_ratio == 1.0
    for level, c in zip(neck.levels, (32, 64)):
        assert not hasattr(level, 'proj_in') and not hasattr(level, 'proj_out')
        assert level.gru_layers[0].gru_channels == c
    # the heads follow the working width
    neck = MSTM(in_channels=[512, 2048], embed_dims=256)
    assert [lv.swin_layers[0].self_attn.w_msa.num_heads
            for lv in neck.levels] == [8, 8]


def test_r50_parameter_budget():
    """Issue 4: MSTM on R50 adds <= 12 M parameters (paper tab. 9: +10 M)."""
    neck = MSTM(
        in_channels=[256, 512, 1024, 2048],
        embed_dims=256,
        gru_ratio=0.5,
        scales=[1, 2, 3])
    n = _num_params(neck)
    per_level = [_num_params(lv) for lv in neck.levels]
    print(f'\nMSTM R50 (embed_dims=256, gru_ratio=0.5, scales=[1, 2, 3]): '
          f'{n / 1e6:.2f} M parameters; per level '
          f'{[round(p / 1e6, 3) for p in per_level]} M')
    assert n < 12e6
    assert n == sum(per_level)
