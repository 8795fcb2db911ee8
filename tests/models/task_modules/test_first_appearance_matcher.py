"""FirstAppearanceMatcher and MaskMatchCost."""
import torch

from mmvis_pretrain.registry import TASK_UTILS
import mmvis_pretrain.models  # noqa: F401  (registers)


def _matcher():
    return TASK_UTILS.build(
        dict(type='mmvis_pretrain.FirstAppearanceMatcher',
             match_cost=dict(type='mmvis_pretrain.MaskMatchCost',
                             num_points=256)))


def _square(H, W, y, x, s=4):
    m = torch.zeros(H, W, dtype=torch.bool)
    m[y:y + s, x:x + s] = True
    return m


def test_each_id_once_at_its_first_frame():
    """Instance 1 appears at frame 0, 2 at frame 1, 3 at frame 2. Slot 4
    predicts object 1 at frame 0 and object 2 at frame 1 (where it is
    already taken): 2 must go to its second-best slot 0; slot 2 is best
    for instance 3 at frame 2."""
    torch.manual_seed(0)
    T, Q, K, H, W = 3, 5, 2, 16, 16
    cls = torch.zeros(T, Q, K + 1)
    masks = torch.full((T, Q, H, W), -8.)
    sq = {1: (0, 0), 2: (8, 8), 3: (0, 10)}
    masks[0, 4][_square(H, W, *sq[1])] = 8.
    masks[1, 4][_square(H, W, *sq[2])] = 8.
    masks[1, 0][_square(H, W, *sq[2])] = 6.
    masks[2, 2][_square(H, W, *sq[3])] = 8.
    ids = [[1], [1, 2], [1, 2, 3]]
    gt_ids = [torch.tensor(i) for i in ids]
    gt_labels = [torch.zeros(len(i), dtype=torch.long) for i in ids]
    gt_masks = [torch.stack([_square(H, W, *sq[j]) for j in i]) for i in ids]
    assignment = _matcher()(cls, masks, gt_labels, gt_masks, gt_ids)
    assert assignment == {1: 4, 2: 0, 3: 2}
    assert len(set(assignment.values())) == 3


def test_more_ids_than_slots_leaves_the_surplus_unassigned():
    T, Q, K, H, W = 1, 2, 1, 8, 8
    cls = torch.zeros(T, Q, K + 1)
    masks = torch.randn(T, Q, H, W)
    gt_masks = [torch.rand(3, H, W) > 0.5]
    assignment = _matcher()(cls, masks, [torch.zeros(3, dtype=torch.long)],
                            gt_masks, [torch.tensor([4, 5, 6])])
    assert len(assignment) == 2 and set(assignment.values()) == {0, 1}


def test_mask_match_cost_prefers_the_right_mask():
    H, W = 16, 16
    pred = torch.full((2, H, W), -8.)
    pred[0][_square(H, W, 0, 0)] = 8.
    pred[1][_square(H, W, 8, 8)] = 8.
    gt = torch.stack([_square(H, W, 8, 8), _square(H, W, 0, 0)])
    cost = TASK_UTILS.build(dict(type='mmvis_pretrain.MaskMatchCost',
                                 num_points=512))(
        torch.zeros(2, 3), pred, torch.zeros(2, dtype=torch.long), gt)
    assert cost.shape == (2, 2)
    assert cost[0, 1] < cost[0, 0] and cost[1, 0] < cost[1, 1]
    empty = TASK_UTILS.build(dict(type='mmvis_pretrain.MaskMatchCost'))(
        torch.zeros(2, 3), pred, torch.zeros(0, dtype=torch.long),
        torch.zeros(0, H, W))
    assert empty.shape == (2, 0)


def test_frame_count_mismatch_is_an_error():
    import pytest
    with pytest.raises(ValueError, match='3 frames of predictions, 2 of'):
        _matcher()(torch.zeros(3, 2, 3), torch.zeros(3, 2, 4, 4),
                   [torch.zeros(0, dtype=torch.long)] * 2,
                   [torch.zeros(0, 4, 4)] * 2,
                   [torch.zeros(0, dtype=torch.long)] * 2)


def test_set_mask_loss_target_count_mismatch():
    import pytest

    from mmvis_pretrain.registry import MODELS
    loss = MODELS.build(dict(type='mmvis_pretrain.SetMaskLoss',
                             num_classes=2, num_points=16))
    positive = torch.zeros(1, 3, dtype=torch.bool)
    positive[0, 1] = True
    with pytest.raises(ValueError, match='2 mask targets for 1 positive'):
        loss(torch.randn(1, 3, 3), torch.randn(1, 3, 4, 4),
             torch.full((1, 3), 2), positive, torch.zeros(2, 4, 4))
