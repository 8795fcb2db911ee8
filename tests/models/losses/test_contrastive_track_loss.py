"""Tests of ContrastiveTrackLoss on hand-computed examples."""
import math

import pytest
import torch

from mmvis_pretrain.models.losses import (ContrastiveTrackLoss,
                                          frame_pair_indices)
from mmvis_pretrain.registry import MODELS

# One clip, 2 frames, 3 queries, C = 2.
# frame 0: a0 = (1, 0) id 0, a1 = (0, 1) id 1, a2 = (1, 1) unmatched
# frame 1: b0 = (0, 1) id 1, b1 = (2, 0) id 0, b2 = (1, 1) unmatched
EMBEDS = torch.tensor([[[[1., 0.], [0., 1.], [1., 1.]],
                        [[0., 1.], [2., 0.], [1., 1.]]]])
IDS = torch.tensor([[[0, 1, -1], [1, 0, -1]]])

# Dot products (anchor -> keys), positive marked with *:
#   0 -> 1: a0: b0 0, b1 2*, b2 1  -> log(1 + e^-2 + e^-1)
#           a1: b0 1*, b1 0, b2 1  -> log(1 + e^-1 + e^0)
#   1 -> 0: b0: a0 0, a1 1*, a2 1  -> log(1 + e^-1 + e^0)
#           b1: a0 2*, a1 0, a2 2  -> log(1 + e^-2 + e^0)
L_A0 = math.log(1 + math.exp(-2) + math.exp(-1))
L_A1 = math.log(2 + math.exp(-1))
L_B0 = math.log(2 + math.exp(-1))
L_B1 = math.log(2 + math.exp(-2))
# Cosines of every anchor with its 3 keys are {1 (positive), 0, 1/sqrt(2)}
# (unmatched key, y = 0): mean squared error (0 + 0 + 1/2) / 3 = 1/6.
AUX = 1. / 6.


def _loss(**kwargs):
    return ContrastiveTrackLoss(**kwargs)


def test_registered_with_defaults():
    loss = MODELS.build(dict(type='ContrastiveTrackLoss'))
    assert isinstance(loss, ContrastiveTrackLoss)
    assert loss.loss_weight == 2.0 and loss.aux_loss_weight == 3.0
    assert loss.frame_pairs == 'all' and loss.bidirectional


def test_frame_pair_indices():
    assert frame_pair_indices(3, 'adjacent', False) == [(0, 1), (1, 2)]
    assert frame_pair_indices(3, 'adjacent', True) == [(0, 1), (1, 0),
                                                       (1, 2), (2, 1)]
    assert frame_pair_indices(3, 'all', False) == [(0, 1), (0, 2), (1, 2)]
    assert sorted(frame_pair_indices(3, 'all', True)) == [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert frame_pair_indices(1, 'all', True) == []
    with pytest.raises(ValueError, match='frame_pairs'):
        ContrastiveTrackLoss(frame_pairs='random')


def test_hand_computed_forward_direction():
    out = _loss(bidirectional=False, loss_weight=1., aux_loss_weight=1.)(
        EMBEDS, IDS)
    assert out['loss_track'].item() == pytest.approx((L_A0 + L_A1) / 2,
                                                     rel=1e-6)
    assert out['loss_track_aux'].item() == pytest.approx(AUX, rel=1e-6)


def test_hand_computed_bidirectional_and_weights():
    out = _loss()(EMBEDS, IDS)  # defaults: bidirectional, weights 2 and 3
    expected = (L_A0 + L_A1 + L_B0 + L_B1) / 4
    assert out['loss_track'].item() == pytest.approx(2 * expected, rel=1e-6)
    assert out['loss_track_aux'].item() == pytest.approx(3 * AUX, rel=1e-6)
    # the two directions give different values: a one-directional
    # implementation cannot produce the bidirectional number
    assert abs((L_A0 + L_A1) / 2 - expected) > 0.05
    assert abs((L_B0 + L_B1) / 2 - expected) > 0.05
    # for two frames 'adjacent' and 'all' use the same pairs
    adj = _loss(frame_pairs='adjacent')(EMBEDS, IDS)
    assert adj['loss_track'].item() == pytest.approx(2 * expected, rel=1e-6)


def test_reverse_direction_alone():
    # swapping the frames and using one direction gives the 1 -> 0 terms
    out = _loss(bidirectional=False, loss_weight=1.)(EMBEDS.flip(1),
                                                     IDS.flip(1))
    assert out['loss_track'].item() == pytest.approx((L_B0 + L_B1) / 2,
                                                     rel=1e-6)


def test_aux_term_values():
    # a0 = (1, 0); keys: positive (1, 1) -> cos 1/sqrt(2), negative (0, 1)
    # -> cos 0, negative (-1, 0) -> cos -1:
    # ((1/sqrt(2) - 1)^2 + 0 + 1) / 3
    embeds = torch.tensor([[[[1., 0.], [0., 1.], [0., 0.]],
                            [[1., 1.], [0., 1.], [-1., 0.]]]])
    ids = torch.tensor([[[0, -1, -1], [0, 1, -1]]])
    out = _loss(bidirectional=False, loss_weight=1., aux_loss_weight=1.)(
        embeds, ids)
    expected = ((1 / math.sqrt(2) - 1)**2 + 0 + 1) / 3
    assert out['loss_track_aux'].item() == pytest.approx(expected, rel=1e-6)
    # contrastive: dots 1 (pos), 0, -1 -> log(1 + e^-1 + e^-2)
    assert out['loss_track'].item() == pytest.approx(
        math.log(1 + math.exp(-1) + math.exp(-2)), rel=1e-6)


def test_all_pairs_reach_non_adjacent_frames():
    # instance 0 is at frames 0 and 2 only: no adjacent pair has an anchor
    embeds = torch.randn(1, 3, 4, 8)
    ids = torch.tensor([[[0, -1, -1, -1], [-1, -1, -1, -1],
                         [-1, -1, 0, -1]]])
    adjacent = _loss(frame_pairs='adjacent')(embeds, ids)
    assert adjacent['loss_track'].item() == 0.
    assert adjacent['loss_track_aux'].item() == 0.
    all_pairs = _loss(frame_pairs='all')(embeds, ids)
    assert all_pairs['loss_track'].item() > 0.
    assert all_pairs['loss_track_aux'].item() > 0.


def test_gradient_sign_positive_toward_anchor():
    loss = _loss(bidirectional=False)
    embeds = EMBEDS.clone().requires_grad_(True)
    loss(embeds, IDS)['loss_track'].backward()
    # anchor a0 = (1, 0), its positive b1 = embeds[0, 1, 1]: moving b1 along
    # a0 raises a0.b1 and lowers the loss -> negative directional derivative
    anchor = EMBEDS[0, 0, 0]
    assert torch.dot(embeds.grad[0, 1, 1], anchor).item() < 0
    # and a finite step confirms it
    moved = EMBEDS.clone()
    moved[0, 1, 1] += 0.5 * anchor
    before = loss(EMBEDS, IDS)['loss_track'].item()
    after = loss(moved, IDS)['loss_track'].item()
    assert after < before
    # moving a negative (b2, unmatched) toward the anchor raises the loss
    moved = EMBEDS.clone()
    moved[0, 1, 2] += 0.5 * anchor
    assert loss(moved, IDS)['loss_track'].item() > before


@pytest.mark.parametrize('ids', [
    torch.full((2, 1, 3), -1),  # T = 1
    torch.tensor([[[0, 1, -1], [2, -1, -1]], [[-1, -1, -1], [0, -1, -1]]]),
    torch.full((2, 2, 3), -1),
])
def test_empty_cases_are_zero_and_connected(ids):
    embeds = torch.randn(ids.shape[0], ids.shape[1], 3, 4,
                         requires_grad=True)
    out = _loss()(embeds, ids)
    total = out['loss_track'] + out['loss_track_aux']
    assert total.item() == 0.
    assert not torch.isnan(total)
    total.backward()
    assert embeds.grad is not None
    assert torch.equal(embeds.grad, torch.zeros_like(embeds))


def test_t_equals_one_with_matched_queries():
    embeds = torch.randn(1, 1, 3, 4, requires_grad=True)
    out = _loss()(embeds, torch.tensor([[[0, 1, 2]]]))
    assert out['loss_track'].item() == 0.
    out['loss_track'].backward()
    assert embeds.grad is not None


def test_invariant_to_query_order():
    torch.manual_seed(0)
    embeds = torch.randn(2, 3, 5, 6)
    ids = torch.tensor([[[0, 1, 2, -1, -1], [1, 0, -1, -1, 2],
                         [-1, 2, 0, 1, -1]],
                        [[0, -1, -1, -1, 1], [-1, 1, 0, -1, -1],
                         [0, -1, -1, 1, -1]]])
    ref = _loss()(embeds, ids)
    perm_embeds, perm_ids = embeds.clone(), ids.clone()
    for n in range(2):
        for t in range(3):
            perm = torch.randperm(5)
            perm_embeds[n, t] = embeds[n, t, perm]
            perm_ids[n, t] = ids[n, t, perm]
    out = _loss()(perm_embeds, perm_ids)
    for key in ('loss_track', 'loss_track_aux'):
        assert out[key].item() == pytest.approx(ref[key].item(), rel=1e-5)


def test_average_over_anchors_of_all_clips():
    # clip 1 = the hand-made clip (4 anchors with both directions), clip 2
    # has a single instance seen in both frames (2 anchors)
    torch.manual_seed(1)
    clip2 = torch.randn(1, 2, 3, 2)
    ids2 = torch.tensor([[[-1, 5, -1], [5, -1, -1]]])
    loss = _loss(loss_weight=1., aux_loss_weight=1.)
    l1 = loss(EMBEDS, IDS)
    l2 = loss(clip2, ids2)
    both = loss(torch.cat([EMBEDS, clip2]), torch.cat([IDS, ids2]))
    for key in ('loss_track', 'loss_track_aux'):
        expected = (4 * l1[key].item() + 2 * l2[key].item()) / 6
        assert both[key].item() == pytest.approx(expected, rel=1e-5)


def test_stable_for_large_dot_products():
    # a0 = (100, 0): dots with keys: positive (0, 100) -> 0,
    # negative (100, 0) -> 1e4: log(1 + e^(1e4)) = 1e4 (+ e^-1e4)
    embeds = torch.tensor([[[[100., 0.], [0., 0.]],
                            [[0., 100.], [100., 0.]]]])
    ids = torch.tensor([[[0, -1], [0, -1]]])
    out = _loss(bidirectional=False, loss_weight=1.)(embeds, ids)
    assert torch.isfinite(out['loss_track'])
    assert out['loss_track'].item() == pytest.approx(1e4, rel=1e-6)


def test_half_precision_input_computed_in_float32():
    out = _loss()(EMBEDS.half(), IDS)
    assert out['loss_track'].dtype == torch.float32
    expected = (L_A0 + L_A1 + L_B0 + L_B1) / 4
    assert out['loss_track'].item() == pytest.approx(2 * expected, rel=1e-6)


def test_bad_shapes():
    with pytest.raises(ValueError, match='instance_ids'):
        _loss()(EMBEDS, IDS[:, :1])
    with pytest.raises(ValueError, match=r'\(N, T, Q, C\)'):
        _loss()(EMBEDS[0], IDS[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_autocast():
    embeds = EMBEDS.cuda().requires_grad_(True)
    with torch.autocast('cuda', dtype=torch.float16):
        out = _loss()(embeds, IDS.cuda())
    expected = (L_A0 + L_A1 + L_B0 + L_B1) / 4
    assert out['loss_track'].dtype == torch.float32
    assert out['loss_track'].item() == pytest.approx(2 * expected, rel=1e-5)
    out['loss_track'].backward()
    assert embeds.grad is not None


def test_anchor_mask_gives_dvis_plus_reference_loss():
    """DVIS++'s re-id loss on the tracker's references: anchors = matched
    slots of frames i >= 1, keys = all slots of frames i - 1 and i + 1 (the
    same slot positive), one item per (anchor, key frame), mean of
    log(1 + sum_n exp(a.n - a.p)) over the items, times 2; computed here by
    a plain loop."""
    import math

    from mmvis_pretrain.models.losses import ContrastiveTrackLoss
    torch.manual_seed(0)
    N, T, Q, C = 2, 4, 5, 3
    refs = torch.randn(N, T, Q, C)
    matched = torch.rand(N, T, Q) > 0.5
    anchors = matched.clone()
    anchors[:, 0] = False
    ids = torch.arange(Q).expand(N, T, Q)
    loss = ContrastiveTrackLoss(frame_pairs='adjacent', bidirectional=True,
                                loss_weight=2.0, aux_loss_weight=0.)(
        refs, ids, anchor_mask=anchors)['loss_track']
    items = []
    for n in range(N):
        for i in range(1, T):
            for r in range(Q):
                if not matched[n, i, r]:
                    continue
                a = refs[n, i, r]
                for j in (i - 1, i + 1):
                    if j >= T:
                        continue
                    pos = float(a @ refs[n, j, r])
                    negs = [float(a @ refs[n, j, k]) for k in range(Q)
                            if k != r]
                    items.append(math.log1p(
                        sum(math.exp(x - pos) for x in negs)))
    expected = 2.0 * sum(items) / len(items)
    assert abs(float(loss) - expected) < 1e-4
    with pytest.raises(ValueError, match='anchor_mask'):
        ContrastiveTrackLoss()(refs, ids, anchor_mask=anchors[:, :2])
