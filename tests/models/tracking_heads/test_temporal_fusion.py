"""STMask's temporal fusion module (sec. 3.2): identity warp when
untrained, losses on a hand-made shift."""
import math

import pytest
import torch

from mmvis_pretrain.models.tracking_heads import TemporalFusion
from mmvis_pretrain.registry import MODELS


def _module(**kwargs):
    cfg = dict(
        in_channels=4,
        num_protos=1,
        patch_size=3,
        feat_stride=4,
        conv_channels=(8, 8))
    cfg.update(kwargs)
    tf = TemporalFusion(**cfg)
    tf.init_weights()
    return tf


def test_fused_features_and_shapes():
    tf = _module(num_protos=5)
    src, tgt = torch.randn(2, 4, 6, 7), torch.randn(2, 4, 6, 7)
    fused = tf.fuse(src, tgt)
    # 3x3 displacements + both frames' features
    assert fused.shape == (2, 9 + 8, 6, 7)
    assert (fused >= 0).all()
    # the centre displacement is the channel mean of src * tgt, leaky-ReLU'd
    centre = (src * tgt).sum(1) / 4
    centre = torch.where(centre > 0, centre, 0.1 * centre).clamp(min=0)
    assert torch.allclose(fused[:, 4], centre, atol=1e-6)
    assert torch.equal(fused[:, 9:13], src.clamp(min=0))
    rois = torch.tensor([[0., 2., 2., 14., 10.], [1., 0., 0., 27., 23.],
                         [1., 5., 6., 9., 9.]])
    deltas, coeffs = tf(src, tgt, rois)
    assert deltas.shape == (3, 4) and coeffs.shape == (3, 5)
    empty = tf(src, tgt, rois[:0])
    assert empty[0].shape == (0, 4) and empty[1].shape == (0, 5)


def test_untrained_module_is_the_identity_warp():
    tf = _module(num_protos=3)
    src, tgt = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    rois = torch.tensor([[0., 4., 6., 20., 18.], [0., 1., 1., 9., 30.]])
    coeffs = torch.randn(2, 3)
    boxes, new_coeffs = tf.warp(src, tgt, rois, coeffs, max_shape=(32, 32))
    assert torch.allclose(boxes, rois[:, 1:], atol=1e-5)
    assert torch.equal(new_coeffs, coeffs)
    # the zero output layers learn from the first step on ...
    deltas, cdeltas = tf(src, tgt, rois)
    (deltas.sum() + cdeltas.sum()).backward()
    assert tf.fc_bbox.weight.grad.abs().sum() > 0
    assert tf.fc_coeff.weight.grad.abs().sum() > 0
    # ... and, once they are not zero, pass gradients to the features
    with torch.no_grad():
        tf.fc_bbox.weight.fill_(0.1)
    deltas, _ = tf(src.requires_grad_(), tgt.requires_grad_(), rois)
    deltas.sum().backward()
    assert src.grad.abs().sum() > 0 and tgt.grad.abs().sum() > 0
    assert tf.convs[0].weight.grad.abs().sum() > 0


def test_warp_decodes_the_shift_on_the_source_box():
    tf = _module()
    with torch.no_grad():
        tf.fc_bbox.bias.copy_(torch.tensor([2.5, 1.25, 0., 0.]))
        tf.fc_coeff.bias.fill_(0.5)
    rois = torch.tensor([[0., 8., 8., 24., 24.]])
    boxes, coeffs = tf.warp(
        torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8), rois,
        torch.tensor([[1.0]]))
    # centre (16, 16) + (2.5 * 0.1 * 16, 1.25 * 0.1 * 16) = (20, 18)
    assert torch.allclose(boxes, torch.tensor([[12., 10., 28., 26.]]))
    assert torch.allclose(coeffs, torch.tensor([[1.5]]))


def _hand_made_shift():
    """A 16x16 box at (8, 8) moving by (+4, +2) pixels; prototypes (one
    channel, on the input grid) equal +20 inside the moved object, -20
    outside; image 0 of the batch has the opposite prototypes."""
    src_box = torch.tensor([[8., 8., 24., 24.]])
    tgt_box = torch.tensor([[12., 10., 28., 26.]])
    mask = torch.zeros(1, 32, 32)
    mask[0, 10:26, 12:28] = 1
    proto = torch.where(mask.bool(), 20.0, -20.0)
    protos = torch.stack([-proto, proto])  # (N=2, P=1, 32, 32)
    return src_box, tgt_box, mask, protos


def test_loss_on_a_hand_made_shift():
    tf = _module()
    src_box, tgt_box, mask, protos = _hand_made_shift()
    batch = torch.tensor([1])
    src_coeff = torch.zeros(1, 1)

    def loss(deltas, coeff_delta):
        return tf.loss(deltas, coeff_delta, src_box, src_coeff, tgt_box,
                       mask, protos, batch, (32, 32))

    # target shift: ((20 - 16) / 16 / 0.1, (18 - 16) / 16 / 0.1, 0, 0)
    target = torch.tensor([[2.5, 1.25, 0., 0.]])
    assert torch.allclose(tf.bbox_coder.encode(src_box, tgt_box), target)

    # exact shift and coefficients: both losses vanish
    out = loss(target, torch.ones(1, 1))
    assert out['loss_tf_bbox'].item() == pytest.approx(0.0, abs=1e-6)
    assert out['loss_tf_mask'].item() == pytest.approx(0.0, abs=1e-6)

    # no shift predicted: smooth-L1 (2.5 - 0.5) + (1.25 - 0.5) = 2.75, x5;
    # no coefficient change: p = 0.5 on the 18x18 crop (box + 1 pixel on
    # every side), BCE ln 2 per pixel, / box area 256, x6.125
    out = loss(torch.zeros(1, 4), torch.zeros(1, 1))
    assert out['loss_tf_bbox'].item() == pytest.approx(5 * 2.75)
    assert out['loss_tf_mask'].item() == pytest.approx(
        6.125 * 18 * 18 * math.log(2) / 256, rel=1e-5)

    # half the shift: smooth-L1 of (1.25, 0.625): 0.75 + 0.5 * 0.625^2
    out = loss(target / 2, torch.ones(1, 1))
    assert out['loss_tf_bbox'].item() == pytest.approx(
        5 * (0.75 + 0.5 * 0.625**2))

    # the prototypes of the wrong image give a large mask loss
    wrong = tf.loss(target, torch.ones(1, 1), src_box, src_coeff, tgt_box,
                    mask, protos, torch.tensor([0]), (32, 32))
    assert wrong['loss_tf_mask'].item() > 100


def test_loss_without_instances_is_zero_and_connected():
    tf = _module()
    deltas, coeffs = tf(
        torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8), torch.zeros(0, 5))
    out = tf.loss(deltas, coeffs, torch.zeros(0, 4), torch.zeros(0, 1),
                  torch.zeros(0, 4), torch.zeros(0, 32, 32),
                  torch.zeros(1, 1, 32, 32), torch.zeros(0,
                                                         dtype=torch.long),
                  (32, 32))
    assert out['loss_tf_bbox'].item() == 0 and out['loss_tf_mask'].item() == 0


def test_registered_with_paper_defaults():
    tf = MODELS.build(dict(type='TemporalFusion'))
    assert tf.correlation.max_displacement == 5  # 11x11 patch
    assert tf.convs[0].in_channels == 121 + 512
    assert [m.out_channels for m in tf.convs if hasattr(m, 'out_channels')
            ] == [512, 512, 1024]
    assert tf.loss_bbox_weight == 5.0 and tf.loss_mask_weight == 6.125
    with pytest.raises(ValueError, match='odd'):
        TemporalFusion(patch_size=10)


def test_forward_under_cpu_bf16_autocast():
    """CPU autocast (bf16, what --amp gives on CPU) reaches RoIAlign, which
    mmcv only has in fp32 on CPU: the module pools in fp32."""
    from mmvis_pretrain.models.tracking_heads import TemporalFusion
    torch.manual_seed(0)
    tf = TemporalFusion(in_channels=8, num_protos=4, patch_size=3,
                        feat_stride=4, conv_channels=(8, 8))
    # features of an autocast backbone are bf16
    feat = torch.randn(1, 8, 16, 16).to(torch.bfloat16)
    rois = torch.tensor([[0., 2., 2., 20., 20.]])
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        deltas, coeffs = tf(feat, feat, rois)
    assert deltas.shape == (1, 4) and coeffs.shape == (1, 4)
    assert torch.isfinite(deltas.float()).all()
