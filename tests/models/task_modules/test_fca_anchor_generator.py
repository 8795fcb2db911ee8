"""FCA anchors (STMask sec. 3.1.1): one anchor per kernel, covering the
kernel's footprint; order kernel-major, then scale."""
import pytest
import torch

from mmvis_pretrain.models.task_modules import FCAAnchorGenerator
from mmvis_pretrain.registry import TASK_UTILS


def test_footprint_anchors_per_level():
    gen = FCAAnchorGenerator(
        strides=[8, 16], kernel_sizes=[(3, 3), (3, 5), (5, 3)])
    assert gen.num_base_priors == [3, 3]
    # stride 8, cell centre (4, 4): 3x3 -> 24x24, 3x5 -> 40 wide x 24 high,
    # 5x3 -> 24 wide x 40 high
    assert torch.equal(
        gen.base_anchors[0],
        torch.tensor([[-8., -8., 16., 16.], [-16., -8., 24., 16.],
                      [-8., -16., 16., 24.]]))
    # stride 16, centre (8, 8)
    assert torch.equal(
        gen.base_anchors[1],
        torch.tensor([[-16., -16., 32., 32.], [-32., -16., 48., 32.],
                      [-16., -32., 32., 48.]]))
    anchors = gen.base_anchors[0]
    w = anchors[:, 2] - anchors[:, 0]
    h = anchors[:, 3] - anchors[:, 1]
    # width / height = 1, 5/3, 3/5 (the paper's aspect ratios)
    assert torch.allclose(w / h, torch.tensor([1., 5 / 3, 3 / 5]))
    assert gen.anchor_cells(0) == [(3.0, 3.0), (3.0, 5.0), (5.0, 3.0)]
    assert gen.anchor_cells(1) == [(3.0, 3.0), (3.0, 5.0), (5.0, 3.0)]


def test_grid_priors_location_major():
    """mmdet's grid layout: all anchors of a location, then the next
    location (x fastest); matches a head that concatenates its kernels'
    outputs along the channels."""
    gen = FCAAnchorGenerator(strides=[8], kernel_sizes=[(3, 3), (3, 5)])
    priors = gen.grid_priors([(1, 2)], device='cpu')[0]
    expected = torch.tensor([[-8., -8., 16., 16.], [-16., -8., 24., 16.],
                             [0., -8., 24., 16.], [-8., -8., 32., 16.]])
    assert torch.equal(priors, expected)


def test_scales_kernel_major():
    gen = FCAAnchorGenerator(
        strides=[8], kernel_sizes=[(3, 3), (3, 5)], scales=[1.0, 2.0])
    anchors = gen.base_anchors[0]
    sizes = torch.stack(
        [anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]], 1)
    # (w, h): 3x3 x1, 3x3 x2, 3x5 x1, 3x5 x2
    assert torch.equal(
        sizes, torch.tensor([[24., 24.], [48., 48.], [40., 24.], [80.,
                                                                  48.]]))
    assert gen.num_kernels == 2 and gen.anchors_per_kernel == 2


def test_registered_and_validated():
    gen = TASK_UTILS.build(
        dict(type='FCAAnchorGenerator', strides=[8, 16, 32, 64, 128]))
    assert gen.kernel_sizes == [(3, 3), (3, 5), (5, 3)]
    with pytest.raises(ValueError, match='kernel_sizes'):
        FCAAnchorGenerator(strides=[8], kernel_sizes=[(3, 0)])
    with pytest.raises(ValueError, match='scales'):
        FCAAnchorGenerator(strides=[8], scales=[])
