"""STMaskHead: FCA kernels, FCB branches, track embeddings and their loss,
YOLACT losses on padded video batches, fast NMS carrying coefficients and
embeddings."""
import math

import pytest
import torch
from mmdet.structures.mask import BitmapMasks
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmvis_pretrain.models.layers.ops import DeformConv2d
from mmvis_pretrain.registry import MODELS

TRAIN_CFG = ConfigDict(
    assigner=dict(
        type='MaxIoUAssigner',
        pos_iou_thr=0.5,
        neg_iou_thr=0.4,
        min_pos_iou=0.,
        ignore_iof_thr=-1,
        gt_max_assign_all=False),
    sampler=dict(type='PseudoSampler'),
    allowed_border=-1,
    pos_weight=-1,
    neg_pos_ratio=3,
    debug=False)
TEST_CFG = ConfigDict(
    nms_pre=1000,
    score_thr=0.05,
    iou_thr=0.5,
    top_k=200,
    max_per_img=100,
    cross_class_nms=True)


def _head(strides=(8, 16), num_classes=2, **kwargs):
    cfg = dict(
        type='STMaskHead',
        num_classes=num_classes,
        in_channels=8,
        feat_channels=8,
        num_protos=4,
        track_channels=6,
        anchor_generator=dict(
            type='FCAAnchorGenerator', strides=list(strides)),
        train_cfg=TRAIN_CFG,
        test_cfg=TEST_CFG)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_fca_kernels_and_output_layout():
    torch.manual_seed(0)
    head = _head()
    assert head.num_base_priors == 3 and head.anchors_per_kernel == 1
    assert [(c.kernel_size, c.padding) for c in head.conv_regs] == [
        ((3, 3), (1, 1)), ((3, 5), (1, 2)), ((5, 3), (2, 1))]
    assert [f.kernel_size for f in head.fcb_cls] == [(3, 3), (3, 5), (5, 3)]
    feats = (torch.randn(2, 8, 6, 7), torch.randn(2, 8, 3, 4))
    cls, bbox, coeff, track = head(feats)
    assert cls[0].shape == (2, 3 * 3, 6, 7) and cls[1].shape == (2, 9, 3, 4)
    assert bbox[0].shape == (2, 3 * 4, 6, 7)
    assert coeff[0].shape == (2, 3 * 4, 6, 7)
    assert coeff[0].abs().max() <= 1
    assert track[1].shape == (2, 3 * 6, 3, 4)
    norms = track[0].view(2, 3, 6, 6, 7).norm(dim=2)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    # kernel k predicts anchor k: its deltas are channels 4k..4k+3
    assert torch.allclose(bbox[0][:, 4:8], head.conv_regs[1](
        head.head_convs[0](feats[0])))


def test_baseline_head_and_fcb_modes():
    # YOLACT baseline (table 4): one 3x3 kernel, mmdet anchors 0.5 / 1 / 2
    head = _head(
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=1,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16]),
        fcb=dict(cls='adaptive'))
    assert head.kernel_sizes == [(3, 3)] and head.anchors_per_kernel == 3
    assert head.fcb_cls[0].conv_offset.in_channels == 12
    cls, bbox, _, _ = head((torch.randn(1, 8, 4, 4), torch.randn(1, 8, 2,
                                                                 2)))
    assert cls[0].shape == (1, 9, 4, 4) and bbox[0].shape == (1, 12, 4, 4)
    with pytest.raises(ValueError, match='one anchor'):
        _head(
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=3,
                scales_per_octave=1,
                ratios=[0.5, 1.0, 2.0],
                strides=[8, 16]),
            fcb=dict(coeff='aligned'))
    with pytest.raises(ValueError, match='fcb'):
        _head(fcb=dict(mask='adaptive'))

    # per-branch modes; Xavier init of the head keeps the zero offsets
    head = _head(fcb=dict(cls='adaptive', coeff='aligned', track=None))
    assert all(f.mode == 'adaptive' for f in head.fcb_cls)
    assert all(f.mode == 'aligned' for f in head.fcb_coeff)
    assert all(f.mode is None for f in head.fcb_track)
    assert isinstance(head.fcb_cls[0].conv_adaption, DeformConv2d)
    assert all(f.conv_offset.weight.abs().sum() == 0 for f in head.fcb_cls)
    # aligned FCB knows its anchors cover the kernel footprints
    assert [f.anchor_cells for f in head.fcb_coeff] == [(3.0, 3.0),
                                                        (3.0, 5.0),
                                                        (5.0, 3.0)]


def test_track_loss_hand_computed():
    head = _head()
    e = torch.tensor([[1., 0.], [0., 1.], [1., 0.]])

    def info(emb, gt_inds):
        out = InstanceData()
        out.track_embeds = emb
        out.pos_assigned_gt_inds = torch.tensor(gt_inds)
        return out

    def gt(ids):
        out = InstanceData()
        out.instances_ids = torch.tensor(ids)
        return out

    # frame a: anchors of instances 7 and 9; frame b: an anchor of 7
    infos = [info(e[:2], [0, 1]), info(e[2:], [0])]
    gts = [gt([7, 9]), gt([7])]
    loss = head.loss_track(infos, gts, [(0, 1)])['loss_track']
    # pairs: (7a, 9a) s = 0.5 -> ln 2; (7a, 7b) s = 1 -> ~0; (9a, 7b) ln 2
    expected = 5.0 * (2 * math.log(2) - math.log(1 - 1e-6)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # opposite embeddings of one instance: s = 0 -> -log(1e-6)
    infos = [info(torch.tensor([[1., 0.]]), [0]),
             info(torch.tensor([[-1., 0.]]), [0])]
    loss = head.loss_track(infos, [gt([3]), gt([3])], [(0, 1)])['loss_track']
    assert loss.item() == pytest.approx(-5.0 * math.log(1e-6), rel=1e-4)


def _gt(boxes, labels, ids, shape):
    gt = InstanceData()
    gt.bboxes = torch.tensor(boxes, dtype=torch.float32)
    gt.labels = torch.tensor(labels)
    gt.instances_ids = torch.tensor(ids)
    masks = torch.zeros(len(boxes), *shape, dtype=torch.uint8)
    for m, (x1, y1, x2, y2) in zip(masks, boxes):
        m[int(y1):int(y2), int(x1):int(x2)] = 1
    gt.masks = BitmapMasks(masks.numpy(), *shape)
    return gt


def test_losses_and_positive_infos_on_frames_of_different_sizes():
    torch.manual_seed(0)
    head = _head(fcb=dict(cls='adaptive', coeff='adaptive',
                          track='adaptive'))
    feats = (torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4))
    outs = head(feats)
    # two frames padded into one 64x64 batch from 64x64 and 40x64 images
    metas = [
        dict(img_shape=(64, 64), pad_shape=(64, 64),
             batch_input_shape=(64, 64)),
        dict(img_shape=(40, 64), pad_shape=(64, 64),
             batch_input_shape=(64, 64))
    ]
    gts = [
        _gt([[4., 4., 28., 28.], [30., 8., 60., 40.]], [0, 1], [1, 2],
            (64, 64)),
        _gt([[6., 2., 30., 26.]], [0], [1], (64, 64))
    ]
    losses = head.loss_by_feat(*outs, gts, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    infos = head.get_positive_infos()
    assert len(infos) == 2
    for info, gt in zip(infos, gts):
        n = len(info.pos_inds)
        assert n >= len(gt)  # every ground truth gets an anchor
        assert info.pred_bboxes.shape == (n, 4)
        assert not info.pred_bboxes.requires_grad
        assert info.track_embeds.shape == (n, 6)
        assert info.coeffs.shape == (n, 4)
        assert info.track_embeds.requires_grad
    track = head.loss_track(infos, gts, [(0, 1)])['loss_track']
    total = sum(sum(v) for v in losses.values()) + track
    total.backward()
    assert head.fcb_track[0].conv_offset.weight.grad is not None


def _crafted_outputs(head, num_classes=2):
    """One 2x2 level: anchor 0 (3x3) at cell (0, 0) is class 0, anchor 1
    (3x5, IoU 0.6 with it) class 1; everything else background."""
    A, C = 3, num_classes + 1
    cls = torch.full((1, A, C, 2, 2), -10.0)
    cls[:, :, -1] = 10.0
    cls[0, 0, :, 0, 0] = torch.tensor([10., -10., -10.])
    cls[0, 1, :, 0, 0] = torch.tensor([-10., 9., -10.])
    bbox = torch.zeros(1, A * 4, 2, 2)
    coeff = torch.arange(A * 4, dtype=torch.float32).view(1, A * 4, 1, 1)
    coeff = coeff.expand(1, A * 4, 2, 2) / 100
    track = torch.zeros(1, A * 6, 2, 2)
    return [cls.view(1, A * C, 2, 2)], [bbox], [coeff], [track]


def test_predict_cross_class_and_class_wise_fast_nms():
    head = _head(strides=(8, ))
    meta = dict(img_shape=(16, 16), scale_factor=(0.5, 0.5))
    res = head.predict_by_feat(
        *_crafted_outputs(head), batch_img_metas=[meta])[0]
    assert len(res) == 1
    assert res.labels.tolist() == [0]
    # decoded boxes are the anchor clipped to the image
    assert torch.allclose(res.bboxes, torch.tensor([[0., 0., 16., 16.]]))
    assert torch.allclose(res.coeffs, torch.tensor([[0., .01, .02, .03]]))
    assert res.track_embeds.shape == (1, 6)
    scaled = head.predict_by_feat(
        *_crafted_outputs(head), batch_img_metas=[meta], rescale=True)[0]
    assert torch.allclose(scaled.bboxes, torch.tensor([[0., 0., 32., 32.]]))

    cfg = ConfigDict(TEST_CFG, cross_class_nms=False)
    res = head.predict_by_feat(
        *_crafted_outputs(head), batch_img_metas=[meta], cfg=cfg)[0]
    assert sorted(res.labels.tolist()) == [0, 1]
    by_label = {int(lb): c for lb, c in zip(res.labels, res.coeffs)}
    assert torch.allclose(by_label[1], torch.tensor([.04, .05, .06, .07]))
