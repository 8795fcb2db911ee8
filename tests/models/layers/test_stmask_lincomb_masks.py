"""YOLACT mask assembly used by STMask: sigmoid(coefficients . prototypes),
cropped by boxes mapped onto the prototype grid."""
import torch

from mmvis_pretrain.models.layers import crop_masks, lincomb_masks


def test_crop_keeps_the_box_plus_padding():
    masks = torch.ones(2, 6, 8)
    boxes = torch.tensor([[2., 1., 5., 3.], [6.5, 4.2, 20., 20.]])
    out = crop_masks(masks, boxes, padding=0)
    expected0 = torch.zeros(6, 8)
    expected0[1:3, 2:5] = 1  # rows 1, 2; cols 2, 3, 4
    assert torch.equal(out[0], expected0)
    expected1 = torch.zeros(6, 8)
    expected1[5:, 7:] = 1  # x >= 6.5 -> col 7; y >= 4.2 -> row 5
    assert torch.equal(out[1], expected1)
    padded = crop_masks(masks[:1], boxes[:1], padding=1)
    expected = torch.zeros(6, 8)
    expected[0:4, 1:6] = 1
    assert torch.equal(padded[0], expected)
    assert crop_masks(masks[:0], boxes[:0]).shape == (0, 6, 8)


def test_lincomb_maps_boxes_through_the_input_size():
    protos = torch.zeros(2, 16, 16)
    protos[0] = 4.0
    protos[1, :, 8:] = 4.0
    coeffs = torch.tensor([[1., 0.], [0., 1.], [-1., 0.]])
    soft = lincomb_masks(protos, coeffs)
    assert torch.allclose(soft[0], torch.full((16, 16), torch.sigmoid(
        torch.tensor(4.0)).item()))
    assert torch.allclose(soft[1, :, :8], torch.full((16, 8), 0.5))
    # input 64x64 -> prototypes 16x16: box (8, 8, 24, 24) -> (2, 2, 6, 6)
    boxes = torch.tensor([[8., 8., 24., 24.]] * 3)
    cropped = lincomb_masks(protos, coeffs, boxes, (64, 64), padding=0)
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[2:6, 2:6] = True
    assert torch.equal(cropped[0] > 0, inside.expand(16, 16))
    assert torch.allclose(cropped[0][inside], soft[0][inside])
    # one prototype set per instance
    per_instance = lincomb_masks(protos.expand(3, 2, 16, 16), coeffs)
    assert torch.allclose(per_instance, soft)
