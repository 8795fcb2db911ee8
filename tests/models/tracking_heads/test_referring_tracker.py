"""ReferringTracker: referring cross-attention wiring, slot alignment,
denoising, clip forward / online tracking, losses."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmvis_pretrain.models.tracking_heads.referring_tracker import (
    ReferringCrossAttention, ReferringTracker, gather_slots)

K, Q, C, CM = 3, 6, 16, 8


def _tracker(**kwargs):
    torch.manual_seed(0)
    cfg = dict(num_classes=K, embed_dims=C, num_layers=2, num_heads=2,
               feedforward_channels=32, mask_dims=CM,
               loss=dict(type='SetMaskLoss', num_points=64),
               matcher=dict(type='FirstAppearanceMatcher',
                            match_cost=dict(type='MaskMatchCost',
                                            num_points=64)))
    cfg.update(kwargs)
    return ReferringTracker(**cfg)


def test_referring_residual_comes_from_identity_not_query():
    torch.manual_seed(0)
    layer = ReferringCrossAttention(C, 2)
    identity, query, key = (torch.randn(2, Q, C) for _ in range(3))
    out = layer(identity, query, key)
    # mmcv's batch_first wrapper: torch's attention runs sequence-first
    attn = layer.attn.attn(query.transpose(0, 1), key.transpose(0, 1),
                           key.transpose(0, 1),
                           need_weights=False)[0].transpose(0, 1)
    assert torch.allclose(out, layer.norm(identity + attn), atol=1e-6)
    # swapping identity and query changes the result (fails if the residual
    # were the attention query)
    assert not torch.allclose(out, layer.norm(query + attn), atol=1e-3)
    # the identity enters only through the residual
    out2 = layer(identity + 1.0, query, key)
    assert torch.allclose(out2, layer.norm(identity + 1.0 + attn), atol=1e-6)


def test_alignment_recovers_a_permutation():
    torch.manual_seed(0)
    prev = torch.randn(3, Q, C)
    perms = torch.stack([torch.randperm(Q) for _ in range(3)])
    # frame t: the same objects, shuffled and slightly changed
    cur = torch.empty_like(prev)
    for b in range(3):
        cur[b, perms[b]] = prev[b] + 0.01 * torch.randn(Q, C)
    index = ReferringTracker.align(prev, cur)
    # slot k takes the query that holds object k
    assert torch.equal(index, perms)
    assert torch.allclose(gather_slots(cur, index), prev, atol=0.05)


def test_tracking_keeps_identities_under_a_permuted_input():
    tracker = _tracker(noise_ratio=0.).eval()
    torch.manual_seed(1)
    queries = torch.randn(1, Q, C)
    feats = torch.randn(1, CM, 4, 4)
    tracker.reset()
    first = tracker.track(queries, queries, feats)
    perm = torch.randperm(Q)
    second = tracker.track(queries[:, perm], queries[:, perm], feats)
    # each slot took back its own query
    assert torch.equal(perm[second['sources'][0]], torch.arange(Q))
    assert torch.equal(first['sources'][0], torch.arange(Q))


def test_wa_noise_source_indices_are_consistent():
    tracker = _tracker(noise_ratio=1.0, noise_mode='wa')
    g = torch.Generator().manual_seed(0)
    queries = torch.randn(4, Q, C)
    index = torch.stack([torch.randperm(Q) for _ in range(4)])
    aligned = gather_slots(queries, index)
    g2 = torch.Generator().manual_seed(0)
    init, source = tracker.denoise_init(queries, aligned, index, g)
    # redraw the same random numbers to recover w and the permutation
    perm = torch.stack([torch.randperm(Q, generator=g2) for _ in range(4)])
    w = torch.rand((4, Q, 1), generator=g2)
    expected = w * queries + (1 - w) * gather_slots(queries, perm)
    assert torch.allclose(init, expected)
    # the source is the query with the larger weight (native order)
    own = torch.arange(Q).expand(4, Q)
    assert torch.equal(source, torch.where(w[..., 0] < 0.5, perm, own))
    # and the initialisation is closest to that source's query
    heavier = gather_slots(queries, source)
    other = gather_slots(queries, torch.where(source == own, perm, own))
    assert ((init - heavier).norm(dim=-1) <=
            (init - other).norm(dim=-1) + 1e-6).all()


def test_noise_ratio_zero_and_rs_mode():
    tracker = _tracker(noise_ratio=1.0, noise_mode='rs')
    queries = torch.randn(2, Q, C)
    index = torch.arange(Q).expand(2, Q)
    init, source = tracker.denoise_init(queries, queries, index)
    assert torch.equal(init, gather_slots(queries, source))
    with pytest.raises(ValueError, match='noise_mode'):
        _tracker(noise_mode='xx')
    with pytest.raises(ValueError, match='no denoising'):
        _tracker(variant='dvis', noise_ratio=0.5)


def test_clip_forward_shapes_and_online_equivalence():
    tracker = _tracker(noise_ratio=0.).eval()
    torch.manual_seed(2)
    B, T = 1, 4
    queries = torch.randn(B, T, Q, C)
    feats = torch.randn(B, T, CM, 5, 5)
    out = tracker(queries, queries, feats)
    assert len(out['cls']) == 2
    assert out['cls'][-1].shape == (B, T, Q, K + 1)
    assert out['masks'][-1].shape == (B, T, Q, 5, 5)
    assert out['embeds'].shape == (B, T, Q, C)
    assert out['sources'].shape == (B, T, Q)
    # the online path gives the clip forward's last layer frame by frame
    tracker.reset()
    for t in range(T):
        step = tracker.track(queries[:, t], queries[:, t], feats[:, t])
        assert torch.allclose(step['cls'], out['cls'][-1][:, t], atol=1e-5)
        assert torch.allclose(step['masks'], out['masks'][-1][:, t],
                              atol=1e-5)
    assert tracker.track_ids == list(range(Q))
    from mmvis_pretrain.models.trackers import BaseVISTracker
    assert isinstance(tracker, BaseVISTracker)
    tracker.set_payloads([2], ['x'])
    assert tracker.payload(2) == 'x'
    tracker.reset()
    assert tracker.track_ids == [] and tracker.payloads == {}


def test_dvis_variant_has_no_reference_projection():
    tracker = _tracker(variant='dvis', noise_ratio=0.)
    assert tracker.ref_proj is None
    assert tracker.class_embed.in_features == C
    x = torch.randn(1, Q, C)
    assert tracker.reference(x) is x


def _clip_gts(T=3, H=16, W=16):
    """Instance 5 in every frame, instance 8 from frame 1 on."""
    frames = []
    for t in range(T):
        ids = [5] + ([8] if t >= 1 else [])
        masks = torch.zeros(len(ids), H, W, dtype=torch.bool)
        masks[0, 2:8, 2:8] = True
        if t >= 1:
            masks[1, 9:14, 9:15] = True
        frames.append(InstanceData(labels=torch.tensor([0, 2][:len(ids)]),
                                   masks=masks,
                                   instances_ids=torch.tensor(ids)))
    return frames


def test_clip_targets_follow_the_assignment_and_absence():
    tracker = _tracker()
    labels, positive, masks = tracker.clip_targets({5: 1, 8: 4},
                                                   _clip_gts(), Q)
    assert labels[0].tolist() == [K, 0, K, K, K, K]
    assert labels[1].tolist() == [K, 0, K, K, 2, K]
    assert positive.sum() == 5 and not positive[0, 4]
    assert len(masks) == 5
    assert masks[1].sum() == 36  # (t=1, slot 1): instance 5


def test_loss_terms_and_gradients():
    tracker = _tracker(noise_ratio=0.5).train()
    torch.manual_seed(3)
    B, T = 2, 3
    queries = torch.randn(B, T, Q, C)
    feats = torch.randn(B, T, CM, 4, 4)
    out = tracker(queries, queries, feats, noise=True)
    gts = [_clip_gts(T), _clip_gts(T)]
    losses = tracker.loss(out, gts)
    assert set(losses) == {
        'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls', 'd0.loss_mask',
        'd0.loss_dice', 'loss_reid'
    }
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name, p in tracker.named_parameters():
        assert p.grad is not None, name
    # guided matching: the guide's assignment is used for every layer
    guide = (out['cls'][-1].detach(), out['masks'][-1].detach())
    guided = tracker.loss(out, gts, guide)
    assert torch.isfinite(sum(guided.values()))


def test_alignment_under_bf16_autocast():
    """Mixed precision: the cost matrix stays float32 (scipy cannot read
    bf16, and the matching must equal the fp32 one)."""
    torch.manual_seed(0)
    prev, cur = torch.randn(2, Q, C), torch.randn(2, Q, C)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        index = ReferringTracker.align(prev, cur)
    assert torch.equal(index, ReferringTracker.align(prev, cur))


def test_next_frame_aligns_to_the_noise_sources():
    """DVIS++: after a denoised frame, the alignment embeddings carried to
    the next frame are this frame's in the order of the slots' sources."""
    tracker = _tracker(noise_ratio=1.0)
    torch.manual_seed(4)
    prev_q, q = torch.randn(2, Q, C), torch.randn(2, Q, C)
    prev_out = tracker.frame_forward(prev_q, prev_q)['outputs'][-1]
    out = tracker.frame_forward(q, q, prev_out, prev_q, noise=True)
    assert torch.equal(out['aligned_embeds'],
                       gather_slots(q, out['source']))
    clean = tracker.frame_forward(q, q, prev_out, prev_q, noise=False)
    assert torch.equal(clean['source'], ReferringTracker.align(prev_q, q))


def test_last_layer_only_and_class_only_tracking():
    """A frozen tracker feeding the refiner computes the heads of its last
    layer only; offline tracking skips the masks: the same numbers."""
    tracker = _tracker(noise_ratio=0.).eval()
    torch.manual_seed(5)
    queries = torch.randn(1, 3, Q, C)
    feats = torch.randn(1, 3, CM, 4, 4)
    full = tracker(queries, queries, feats)
    last = tracker(queries, queries, feats, last_layer_only=True)
    assert len(last['cls']) == 1
    assert torch.equal(last['cls'][0], full['cls'][-1])
    assert torch.equal(last['masks'][0], full['masks'][-1])
    assert torch.equal(last['embeds'], full['embeds'])
    tracker.reset()
    with_masks = tracker.track(queries[:, 0], queries[:, 0], feats[:, 0])
    tracker.reset()
    class_only = tracker.track(queries[:, 0], queries[:, 0])
    assert class_only['masks'] is None
    assert torch.allclose(class_only['cls'], with_masks['cls'])


def test_argument_errors():
    with pytest.raises(ValueError, match='variant must be one of'):
        _tracker(variant='dvis3')
    with pytest.raises(ValueError, match=r'noise_ratio must be in \[0, 1\]'):
        _tracker(noise_ratio=1.5)
