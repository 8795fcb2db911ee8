"""STMaskProtonet: YOLACT's prototypes exposed; the mask loss maps boxes
through the padded input; optional semantic branch with 0-based labels."""
import math

import pytest
import torch
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from mmvis_pretrain.registry import MODELS


def _protonet(**kwargs):
    cfg = dict(
        type='STMaskProtonet',
        num_classes=3,
        in_channels=8,
        num_protos=1,
        proto_channels=(8, None, 8, 1),
        proto_kernel_sizes=(3, -2, 3, 1),
        loss_mask_weight=6.125)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _instance(box, label, shape=(64, 64)):
    gt = InstanceData()
    gt.bboxes = torch.tensor([box])
    gt.labels = torch.tensor([label])
    mask = torch.zeros(1, *shape, dtype=torch.uint8)
    x1, y1, x2, y2 = (int(v) for v in box)
    mask[0, y1:y2, x1:x2] = 1
    gt.masks = BitmapMasks(mask.numpy(), *shape)
    return gt


def _pos(coeff):
    info = InstanceData()
    info.pos_assigned_gt_inds = torch.tensor([0])
    info.coeffs = torch.tensor([[coeff]])
    return info


def test_prototypes_shape():
    net = _protonet()
    assert not net.with_seg_branch and net.segm_branch is None
    protos, segm = net.forward_protos((torch.randn(2, 8, 8, 10), ))
    assert protos.shape == (2, 1, 16, 20) and segm is None


def test_mask_loss_hand_computed_on_a_padded_frame():
    net = _protonet()
    # a 40x64 frame padded to 64x64; prototypes on a 16x16 grid (stride 4)
    meta = dict(img_shape=(40, 64), batch_input_shape=(64, 64))
    gt = _instance([8., 8., 40., 40.], 1)
    # prototype +20 on the object (grid cells 2..9), -20 elsewhere
    proto = torch.full((1, 1, 16, 16), -20.0)
    proto[..., 2:10, 2:10] = 20.0
    exact = net.loss_by_feat(proto, None, [gt], [meta], [_pos(1.0)])
    assert exact['loss_mask'].item() == pytest.approx(0.0, abs=1e-5)
    # coefficient 0: p = 0.5 on the crop, the box (2..10) + 1 cell of
    # padding = 10x10 cells; BCE ln 2 each, / box area 8x8, x 6.125
    flat = net.loss_by_feat(proto, None, [gt], [meta], [_pos(0.0)])
    assert flat['loss_mask'].item() == pytest.approx(
        6.125 * 100 * math.log(2) / 64, rel=1e-5)
    # mapping the box through the unpadded height (40) would crop rows
    # 2..17 instead: a different (larger) loss
    wrong = net.loss_by_feat(proto, None, [gt],
                             [dict(img_shape=(40, 64))], [_pos(0.0)])
    assert wrong['loss_mask'].item() > flat['loss_mask'].item() + 1


def test_no_positive_gives_a_connected_zero():
    net = _protonet()
    protos = torch.randn(1, 1, 16, 16, requires_grad=True)
    info = InstanceData()
    info.pos_assigned_gt_inds = torch.zeros(0, dtype=torch.long)
    info.coeffs = torch.zeros(0, 1)
    loss = net.loss_by_feat(protos, None, [_instance([8., 8., 40., 40.], 0)],
                            [dict(img_shape=(64, 64))], [info])['loss_mask']
    assert loss.item() == 0
    loss.backward()
    assert protos.grad is not None


def test_semantic_branch_uses_zero_based_labels():
    net = _protonet(with_seg_branch=True)
    net.train()
    protos, segm = net.forward_protos((torch.randn(1, 8, 8, 8), ))
    assert segm.shape == (1, 3, 8, 8)
    gt = _instance([16., 16., 48., 48.], 0)
    meta = dict(img_shape=(64, 64), batch_input_shape=(64, 64))
    # logits 0: BCE ln 2 on every class and pixel, averaged over pixels
    zero = net.loss_by_feat(protos, torch.zeros(1, 3, 8, 8), [gt], [meta],
                            [_pos(0.0)])
    assert zero['loss_segm'].item() == pytest.approx(3 * math.log(2))
    # confident and right for class index 0 (the label) -> ~0
    logits = torch.full((1, 3, 8, 8), -20.0)
    logits[0, 0, 2:6, 2:6] = 20.0
    right = net.loss_by_feat(protos, logits, [gt], [meta], [_pos(0.0)])
    assert right['loss_segm'].item() == pytest.approx(0.0, abs=1e-6)
