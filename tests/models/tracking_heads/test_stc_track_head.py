"""STCTrackHead: dense embeddings, detection locations, per-frame sampling
for the contrastive loss, and the bi-directional loss on hand-computed
values."""
import math

import pytest
import torch
from mmengine.structures import InstanceData


def _head(**kwargs):
    from mmvis_pretrain.models.tracking_heads import STCTrackHead
    cfg = dict(
        in_channels=8,
        feat_channels=8,
        embed_channels=4,
        num_convs=2,
        strides=(8, 16),
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        num_samples=8,
        max_pos_per_instance=2,
        pos_fraction=0.5)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return STCTrackHead(**cfg)


def test_forward_shapes_per_level():
    head = _head()
    x = [torch.randn(2, 8, 4, 6), torch.randn(2, 8, 2, 3)]
    out = head(x)
    assert [tuple(o.shape) for o in out] == [(2, 4, 4, 6), (2, 4, 2, 3)]
    # the tower is shared by the levels: a level alone gives the same map
    assert torch.allclose(head([x[1], x[1]])[0], out[1])
    with pytest.raises(ValueError, match='feature levels'):
        head(x[:1])


def test_detection_points_map_to_their_locations():
    head = _head()
    sizes = [(4, 6), (2, 3)]
    # every map value is its own flat index (level 0: 24 locations first)
    maps = [
        torch.arange(24.).view(1, 1, 4, 6).repeat(1, 2, 1, 1),
        (24 + torch.arange(6.)).view(1, 1, 2, 3).repeat(1, 2, 1, 1)
    ]
    # (col 2, row 1) at stride 8 -> 1 * 6 + 2 = 8; (col 1, row 0) at
    # stride 16 -> 24 + 0 * 3 + 1 = 25; centres at (idx + 0.5) * stride
    points = torch.tensor([[20., 12.], [24., 8.], [4., 28.]])
    strides = torch.tensor([8., 16., 8.])
    inds = head.flat_indices(points, strides, sizes)
    assert inds.tolist() == [8, 25, 18]
    values = head.gather(maps, 0, inds)
    assert values.shape == (3, 2)
    assert values[:, 0].tolist() == [8., 25., 18.]
    embeds, inds2 = head.predict_embeds(maps, 0, points, strides)
    assert torch.equal(inds2, inds) and torch.equal(embeds, values)
    with pytest.raises(ValueError, match='not among the head strides'):
        head.flat_indices(points[:1], torch.tensor([32.]), sizes)
    with pytest.raises(ValueError, match='outside'):
        head.flat_indices(torch.tensor([[60., 4.]]), torch.tensor([8.]),
                          sizes)
    empty = head.flat_indices(points[:0], strides[:0], sizes)
    assert empty.shape == (0, )


def test_frame_sampling_positives_then_background():
    head = _head()  # Q = 8, at most 2 per instance, at most 4 positives
    valid = torch.ones(30, dtype=torch.bool)
    valid[:2] = False  # outside the image
    pos_inds = torch.tensor([3, 4, 7, 10])
    pos_ids = torch.tensor([5, 5, 5, 9])
    torch.manual_seed(1)
    inds, ids = head.sample_frame(pos_inds, pos_ids, valid)
    assert inds.shape == ids.shape == (8, )
    # 2 of instance 5's 3 locations, instance 9's single one
    assert (ids == 5).sum() == 2 and (ids == 9).sum() == 1
    assert set(inds[ids == 5].tolist()) <= {3, 4, 7}
    assert len(set(inds[ids == 5].tolist())) == 2
    assert inds[ids == 9].tolist() == [10]
    # 5 distinct background locations: valid and not positive
    bg = inds[ids == -1]
    assert bg.numel() == 5 and len(set(bg.tolist())) == 5
    assert not set(bg.tolist()) & {0, 1, 3, 4, 7, 10}

    # more instances than the positive budget (4): 4 instances, 1 each
    many = torch.arange(6)
    inds, ids = head.sample_frame(many + 10, many + 100, valid)
    kept = ids[ids >= 0]
    assert kept.numel() == 4 and len(set(kept.tolist())) == 4
    assert torch.equal(inds[ids >= 0] - 10, kept - 100)

    # fewer background locations than needed: repeated, never positive
    small = torch.zeros(30, dtype=torch.bool)
    small[[20, 21]] = True
    inds, ids = head.sample_frame(pos_inds, pos_ids, small)
    assert set(inds[ids == -1].tolist()) == {20, 21}
    assert inds.numel() == 8
    with pytest.raises(ValueError, match='no background'):
        head.sample_frame(pos_inds, pos_ids, torch.zeros(30, dtype=bool))


def _two_frame_case(weight=1.0, aux_weight=1.0):
    """One clip, 2 frames, one level (stride 8) of 1 x 4 locations, 2-d
    embeddings. Instance 7 is at location 0 in frame 0 and location 2 in
    frame 1; with Q = 4 every location is sampled, so the sampled set is
    fixed (the loss does not depend on the order)."""
    head = _head(
        strides=(8, ),
        num_samples=4,
        max_pos_per_instance=1,
        loss_track=dict(
            type='ContrastiveTrackLoss',
            frame_pairs='all',
            bidirectional=True,
            loss_weight=weight,
            aux_loss_weight=aux_weight))
    f0 = torch.tensor([[1., 0.], [0., 1.], [0., 0.], [-1., 0.]])
    f1 = torch.tensor([[0., 1.], [1., 1.], [2., 0.], [0., 0.]])
    maps = [torch.stack([f0.t(), f1.t()])[:, :, None, :]]  # (2, 2, 1, 4)
    infos = [
        InstanceData(
            pos_inds=torch.tensor([loc]),
            pos_assigned_gt_inds=torch.tensor([0])) for loc in (0, 2)
    ]
    gts = [InstanceData(instances_ids=torch.tensor([7])) for _ in range(2)]
    metas = [dict(img_shape=(8, 32)) for _ in range(2)]
    return head, maps, infos, gts, metas


def test_bidirectional_loss_hand_computed():
    head, maps, infos, gts, metas = _two_frame_case()
    losses = head.loss_by_feat(maps, infos, gts, metas, num_frames=2)
    # frame 0 -> 1: a = (1, 0), a.p = 2, negatives a.n = 0, 1, 0
    forward = math.log(1 + 2 * math.exp(-2) + math.exp(-1))
    # frame 1 -> 0: a = (2, 0), a.p = 2, negatives a.n = 0, 0, -2
    backward = math.log(1 + 2 * math.exp(-2) + math.exp(-4))
    assert losses['loss_track'].item() == pytest.approx(
        (forward + backward) / 2, rel=1e-5)
    # aux: 0 -> 1 cosines (1 | 0, 1/sqrt2, 0) -> 0.5 / 4; 1 -> 0 cosines
    # (1 | 0, 0, -1) -> 1 / 4
    assert losses['loss_track_aux'].item() == pytest.approx(
        (0.125 + 0.25) / 2, rel=1e-5)
    weighted = _two_frame_case(weight=2.0, aux_weight=3.0)
    losses2 = weighted[0].loss_by_feat(*weighted[1:], num_frames=2)
    assert losses2['loss_track'].item() == pytest.approx(
        2 * losses['loss_track'].item(), rel=1e-6)
    assert losses2['loss_track_aux'].item() == pytest.approx(
        3 * losses['loss_track_aux'].item(), rel=1e-6)


def test_loss_trains_the_head_and_checks_inputs():
    head, _, infos, gts, metas = _two_frame_case()
    x = [torch.randn(2, 8, 1, 4)]
    losses = head.loss(x, infos, gts, metas, num_frames=2)
    sum(losses.values()).backward()
    assert head.conv_embed.weight.grad.abs().sum() > 0
    assert head.tower[0].conv.weight.grad.abs().sum() > 0
    # one-frame clips: a zero that keeps the graph
    single = head.loss(x, infos, gts, metas, num_frames=1)
    assert single['loss_track'].item() == 0
    assert single['loss_track'].requires_grad
    with pytest.raises(ValueError, match='clips of 3'):
        head.loss(x, infos, gts, metas, num_frames=3)
    with pytest.raises(KeyError, match='instances_ids'):
        head.loss(x, infos, [InstanceData(), InstanceData()], metas, 2)


def test_padding_is_never_sampled_as_background():
    head = _head(strides=(8, ), num_samples=4, max_pos_per_instance=1)
    _, _, infos, gts, _ = _two_frame_case()
    # image 8 x 20: the locations at x = 20 and 28 lie on the padding
    metas = [dict(img_shape=(8, 20)) for _ in range(2)]
    x = [torch.randn(2, 8, 1, 4)]
    seen = []
    orig = head.sample_frame

    def spy(pos_inds, pos_ids, valid):
        seen.append(valid.clone())
        return orig(pos_inds, pos_ids, valid)

    head.sample_frame = spy
    head.loss(x, infos, gts, metas, num_frames=2)
    assert [v.tolist() for v in seen] == [[True, True, False, False]] * 2


def test_invalid_options():
    with pytest.raises(ValueError, match='num_samples'):
        _head(num_samples=1)
    with pytest.raises(ValueError, match='pos_fraction'):
        _head(pos_fraction=1.0)
    with pytest.raises(ValueError, match='max_pos_per_instance'):
        _head(max_pos_per_instance=0)
