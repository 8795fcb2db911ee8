"""DVIS++-style temporal refiner with Object Masked Attention (OMA)."""
import pytest
import torch

from mmvis_pretrain.models.tracking_heads import (TemporalRefiner,
                                                  oma_background)
from mmvis_pretrain.registry import MODELS

B, T, Q, QS, C, K, H, W = 1, 4, 5, 6, 32, 3, 8, 8


def _refiner(**kwargs):
    # scoped: another test may have left mmdet as the default scope
    cfg = dict(type='mmvis_pretrain.TemporalRefiner',
               num_classes=K,
               embed_dims=C,
               num_layers=2,
               num_heads=4,
               feedforward_channels=64,
               mask_dims=16)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    assert isinstance(model, TemporalRefiner)
    model.init_weights()
    return model


def _logits(bg):
    """Class logits (B, T, QS, K+1): no-object prob ~0.99 where ``bg``,
    ~0.01 (class 0 wins) elsewhere."""
    logits = torch.zeros(B, T, QS, K + 1)
    logits[..., -1] = torch.where(bg, 8., -8.)
    logits[..., 0] = torch.where(bg, 0., 4.)
    return logits


def _inputs(bg=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    if bg is None:
        bg = torch.rand(B, T, QS, generator=g) < 0.5
    return (torch.randn(B, T, Q, C,
                        generator=g), torch.randn(B, T, QS, C, generator=g),
            torch.randn(B, T, 16, H, W, generator=g), _logits(bg))


def _capture_kpm(model):
    """Record the key_padding_mask given to each layer's cross-attention."""
    seen = []

    def hook(module, args, kwargs):
        seen.append(kwargs.get('key_padding_mask'))

    for layer in model.layers:
        layer.cross_attn.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def test_shapes_of_every_layer():
    torch.manual_seed(0)
    model = _refiner().train()
    cls, masks = model(*_inputs())
    assert len(cls) == len(masks) == 2
    for c, m in zip(cls, masks):
        assert c.shape == (B, Q, K + 1)
        assert m.shape == (B, Q, T, H, W)
        assert torch.isfinite(c).all() and torch.isfinite(m).all()


def test_class_logit_is_softmax_weighted_mean_over_time():
    model = _refiner().eval()
    slots, seg_q, feats, logits = _inputs()
    captured = {}
    model.layers[-1].register_forward_hook(
        lambda mod, args, out: captured.__setitem__('x', out))
    with torch.no_grad():
        cls, masks = model(slots, seg_q, feats, logits)
        normed = model.decoder_norm(captured['x'])  # (B, T, Q, C)
        slot = 2
        emb = normed[0, :, slot]  # (T, C)
        weights = model.activation_proj(emb).squeeze(-1).softmax(0)
        assert torch.allclose(weights.sum(), torch.tensor(1.))
        expected = model.class_embed((weights[:, None] * emb).sum(0))
        assert torch.allclose(cls[-1][0, slot], expected, atol=1e-5)
        # masks: mask embedding of frame t dotted with frame t's features
        m = model.mask_embed(emb[1])
        assert torch.allclose(masks[-1][0, slot, 1],
                              torch.einsum('c,chw->hw', m, feats[0, 1]),
                              atol=1e-4)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = _refiner().train()
    cls, masks = model(*_inputs())
    loss = sum(c.sum() for c in cls) + sum(m.square().mean() for m in masks)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        if name == 'activation_proj.bias':
            continue  # a softmax over T is shift-invariant: zero gradient
        assert p.grad.abs().sum() > 0, name


def test_eval_mode_drops_nothing():
    slots, seg_q, feats, logits = _inputs()
    torch.manual_seed(0)
    a = _refiner(oma_drop_prob=0.).eval()
    b = _refiner(oma_drop_prob=0.5).eval()
    b.load_state_dict(a.state_dict())
    seen = _capture_kpm(b)
    with torch.no_grad():
        out_a, out_b = a(slots, seg_q, feats,
                         logits), b(slots, seg_q, feats, logits)
    assert seen == [None, None]
    for x, y in zip(out_a[0] + out_a[1], out_b[0] + out_b[1]):
        assert torch.equal(x, y)
    # training with drop prob 0: no mask either
    a.train()
    seen = _capture_kpm(a)
    a(slots, seg_q, feats, logits)
    assert seen == [None, None]


def test_mask_is_per_frame_and_resampled_per_layer():
    bg = torch.zeros(B, T, QS, dtype=torch.bool)
    bg[0, 0, :4] = True  # frame 0: keys 0-3 background
    bg[0, 2, 3:] = True  # frame 2: keys 3-5 background
    model = _refiner(oma_drop_prob=1.0).train()
    seen = _capture_kpm(model)
    model(*_inputs(bg))
    assert len(seen) == 2
    for kpm in seen:
        # (B*T, Q'), row b*T+t built from frame t's logits only
        assert kpm.shape == (B * T, QS) and kpm.dtype == torch.bool
        assert torch.equal(kpm, bg.reshape(B * T, QS))
    # with p=0.5 the draws differ between layers (per-layer resampling)
    bg_all = torch.ones(B, T, QS, dtype=torch.bool)
    bg_all[..., 0] = False
    model = _refiner(oma_drop_prob=0.5, num_layers=6).train()
    seen = _capture_kpm(model)
    torch.manual_seed(1)
    model(*_inputs(bg_all))
    assert len({tuple(k.flatten().tolist()) for k in seen}) > 1
    # seeded runs are repeatable (global torch RNG)
    seen.clear()
    torch.manual_seed(1)
    model(*_inputs(bg_all))
    first = [k.clone() for k in seen]
    seen.clear()
    torch.manual_seed(1)
    model(*_inputs(bg_all))
    assert all(torch.equal(x, y) for x, y in zip(first, seen))


def test_cross_attention_is_strictly_per_frame():
    """With one layer, nothing mixes frames after the cross-attention, so
    frame 0's masks ignore frame 2's segmenter queries."""
    model = _refiner(num_layers=1).eval()
    slots, seg_q, feats, logits = _inputs()
    seg_q2 = seg_q.clone()
    seg_q2[:, 2] += 5 * torch.randn_like(seg_q2[:, 2])
    with torch.no_grad():
        _, m1 = model(slots, seg_q, feats, logits)
        _, m2 = model(slots, seg_q2, feats, logits)
    assert torch.allclose(m1[0][:, :, 0], m2[0][:, :, 0], atol=1e-5)
    assert not torch.allclose(m1[0][:, :, 2], m2[0][:, :, 2], atol=1e-3)


def test_only_background_dropped_at_about_drop_prob():
    model = _refiner(oma_drop_prob=0.5).train()
    g = torch.Generator().manual_seed(0)
    bg = torch.rand(64, QS, generator=g) < 0.5
    bg[:, 0] = False  # every row has a foreground key: never all dropped
    score = torch.randn(64, QS, generator=g)
    dropped = torch.zeros(64, QS)
    n = 300
    for _ in range(n):
        kpm = model.oma_key_padding_mask(bg, score, generator=g)
        assert not (kpm & ~bg).any()  # foreground never dropped
        dropped += kpm.float()
    frac = dropped[bg].sum() / (bg.sum() * n)
    # ~ bg.sum()*n >= 15000 Bernoulli(0.5): std < 0.005
    assert abs(frac.item() - 0.5) < 0.03


def test_never_all_keys_of_a_frame():
    bg = torch.ones(B, T, QS, dtype=torch.bool)
    slots, seg_q, feats, logits = _inputs(bg)
    # make key (t % QS) the least background one in frame t
    for t in range(T):
        logits[0, t, t % QS, -1] = 6.
    model = _refiner(oma_drop_prob=1.0).train()
    seen = _capture_kpm(model)
    cls, masks = model(slots, seg_q, feats, logits)
    for kpm in seen:
        assert ((~kpm).sum(-1) == 1).all()
        for t in range(T):
            assert not kpm[t, t % QS]
    for x in cls + masks:
        assert torch.isfinite(x).all()
    # p=0.5 with all-background input: finite too, never an empty row
    model = _refiner(oma_drop_prob=0.5, num_layers=6).train()
    seen = _capture_kpm(model)
    torch.manual_seed(0)
    cls, masks = model(slots, seg_q, feats, logits)
    assert all(((~k).sum(-1) >= 1).all() for k in seen)
    assert all(torch.isfinite(x).all() for x in cls + masks)


def test_rules_on_hand_made_logits():
    # K = 3 classes + no-object; probabilities given directly as logs
    probs = torch.tensor([
        [0.05, 0.05, 0.10, 0.80],  # no-obj .8: bg by all three rules
        [0.30, 0.04, 0.04, 0.62],  # no-obj .62 >= .6: bg; max cls .3
        [0.70, 0.05, 0.05, 0.20],  # clear foreground by all rules
        [0.40, 0.05, 0.05, 0.50],  # no-obj .5 < .6: fg; max .4: bg; argmax bg
        [0.50, 0.02, 0.03, 0.45],  # argmax class 0: fg; max .5 <= .6: bg
        [0.62, 0.00, 0.00, 0.38],  # max .62 > .6: fg for max_class_prob
    ])
    logits = probs.clamp_min(1e-6).log()
    assert oma_background(logits, 'no_object_prob', 0.6).tolist() == [
        True, True, False, False, False, False
    ]
    assert oma_background(logits, 'max_class_prob', 0.6).tolist() == [
        True, True, False, True, True, False
    ]
    assert oma_background(
        logits, 'argmax').tolist() == [True, True, False, True, False, False]
    with pytest.raises(ValueError):
        oma_background(logits, 'nope')
    with pytest.raises(ValueError):
        _refiner(oma_rule='nope')
