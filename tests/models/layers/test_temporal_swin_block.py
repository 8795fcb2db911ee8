"""Tests of the MSTM short-term layer (temporal Swin block)."""
import pytest
import torch
from mmdet.models.backbones.swin import ShiftWindowMSA

from mmvis_pretrain.models.layers import (ShiftWindowCrossMSA,
                                          TemporalSwinBlock, temporal_split)


def _block(c=32, heads=2, ws=4, shift=False):
    torch.manual_seed(0)
    block = TemporalSwinBlock(c, heads, 2 * c, window_size=ws, shift=shift)
    block.init_weights()
    return block.eval()


@pytest.mark.parametrize('T', [1, 2, 3, 10])
@pytest.mark.parametrize('shift', [False, True])
def test_block_shapes(T, shift):
    block = _block(shift=shift)
    x = torch.randn(2, T, 32, 13, 17)
    out = block(x)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


def test_temporal_split():
    x = torch.arange(5).view(1, 5)
    f1, f2 = temporal_split(x)
    assert f1.tolist() == [[0, 1, 2, 3, 4]]
    assert f2.tolist() == [[2, 3, 4, 0, 1]]  # f1 = [0, 1], f2 = [2, 3, 4]
    assert temporal_split(torch.arange(3).view(1, 3))[1].tolist() == [[1, 2,
                                                                       0]]
    assert temporal_split(torch.arange(4).view(1, 4))[1].tolist() == [[2, 3,
                                                                       0, 1]]
    one = torch.arange(1).view(1, 1)
    assert torch.equal(temporal_split(one)[1], one)  # T = 1: F2 == F1


@pytest.mark.parametrize('shift_size', [0, 2])
def test_self_attention_matches_mmdet(shift_size):
    """Without key_value, ShiftWindowCrossMSA is mmdet's ShiftWindowMSA; with
    key_value == query, the cross path gives the same result."""
    torch.manual_seed(0)
    ours = ShiftWindowCrossMSA(32, 2, 4, shift_size=shift_size)
    ref = ShiftWindowMSA(32, 2, 4, shift_size=shift_size)
    with torch.no_grad():
        ours.w_msa.relative_position_bias_table.normal_()
    ref.load_state_dict(ours.state_dict())
    q = torch.randn(3, 13 * 17, 32)
    expected = ref(q, (13, 17))
    assert torch.allclose(ours(q, (13, 17)), expected, atol=1e-6)
    assert torch.allclose(
        ours(q, (13, 17), key_value=q.clone()), expected, atol=1e-5)


def _capture(block, x):
    """Outputs of the self- and cross-attention branches, (N, T, HW, C)."""
    got = {}

    def hook(name):
        def fn(module, args, output):
            got[name] = output.detach().clone()
        return fn

    handles = [
        block.self_attn.register_forward_hook(hook('self')),
        block.cross_attn.register_forward_hook(hook('cross'))
    ]
    with torch.no_grad():
        block(x)
    for h in handles:
        h.remove()
    N, T = x.shape[:2]
    return {k: v.view(N, T, *v.shape[1:]) for k, v in got.items()}


@pytest.mark.parametrize('shift', [False, True])
def test_self_vs_cross_key_value_sources(shift):
    """Self-attention at frame t only sees frame t (F1); cross-attention at
    frame t takes keys / values from F2[t] = frame (t + T // 2) % T.

    T = 3: F2 = [f1, f2, f0]. Changing only frame 1 must change the self
    branch at frame 1 only, and the cross branch at frame 0 (whose keys come
    from frame 1) and frame 1 (its query), but not at frame 2 (query frame 2,
    keys frame 0). Swapping the key/value sources of the two branches, or
    taking cross keys from F1, fails these checks.
    """
    block = _block(shift=shift)
    x = torch.randn(1, 3, 32, 9, 10)
    x2 = x.clone()
    x2[:, 1] += torch.randn_like(x2[:, 1])
    a, b = _capture(block, x), _capture(block, x2)

    def changed(name, t):
        return not torch.allclose(a[name][:, t], b[name][:, t], atol=1e-6)

    assert [changed('self', t) for t in range(3)] == [False, True, False]
    assert [changed('cross', t) for t in range(3)] == [True, True, False]


def test_cross_attention_uses_paired_frame_even_T():
    """T = 4: F2[t] = frame (t + 2) % 4; perturbing frame 3 reaches the cross
    branch of frame 1 (and frame 3 through its query) only."""
    block = _block()
    x = torch.randn(1, 4, 32, 8, 8)
    x2 = x.clone()
    x2[:, 3] += 1.0 + torch.randn_like(x2[:, 3])
    a, b = _capture(block, x), _capture(block, x2)
    changed = [
        not torch.allclose(a['cross'][:, t], b['cross'][:, t], atol=1e-6)
        for t in range(4)
    ]
    assert changed == [False, True, False, True]


def test_cross_attention_is_windowed():
    """Unshifted windows of 4 on 8x8: a change at pixel (0, 0) of the paired
    frame only reaches the cross output inside the top-left window."""
    block = _block(ws=4)
    x = torch.randn(1, 2, 32, 8, 8)
    x2 = x.clone()
    x2[0, 1, :, 0, 0] += 3.0
    a, b = _capture(block, x), _capture(block, x2)
    diff = (a['cross'][0, 0] - b['cross'][0, 0]).abs().sum(-1).view(8, 8)
    assert (diff[:4, :4] > 0).all()
    diff[:4, :4] = 0
    assert (diff == 0).all()


def test_T1_cross_degenerates_to_self():
    """T = 1: the cross-attention keys / values are the self-attention's."""
    block = _block()
    seen = {}
    block.self_attn.register_forward_pre_hook(
        lambda m, args: seen.__setitem__('self_kv', args[0].clone()))
    block.cross_attn.register_forward_pre_hook(
        lambda m, args, kwargs: seen.__setitem__('cross_kv',
                                                 kwargs['key_value'].clone()),
        with_kwargs=True)
    x = torch.randn(2, 1, 32, 5, 6)
    assert block(x).shape == x.shape
    assert torch.equal(seen['self_kv'], seen['cross_kv'])


def test_block_autocast_bf16():
    block = _block()
    x = torch.randn(1, 3, 32, 5, 6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
        lin = block.ffn.layers[1](torch.randn(2, 64))
    assert out.shape == x.shape
    # residual stream: fp32 input + bf16 branches -> what fp32 + linear gives
    assert out.dtype == torch.result_type(x, lin)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert block(x.bfloat16()).dtype == torch.bfloat16
