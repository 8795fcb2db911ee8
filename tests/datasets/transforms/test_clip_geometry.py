"""ClipPanCrop (a crop that pans linearly) and mmdet's clip-level
flip / resize through TransformBroadcaster."""
import copy

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmdet.structures.mask import BitmapMasks
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms import ImageToClip
from mmvis_pretrain.datasets.transforms.clip_format import boxes_of_masks
from mmvis_pretrain.datasets.transforms.clip_geometry import (
    ClipPanCrop, crop_frame, draw_crop_size, pan_origins)
from mmvis_pretrain.registry import TRANSFORMS

H, W = 40, 60


def coordinate_image(h=H, w=W):
    """``img[y, x] = (x, y, 7)``: a crop's top-left pixel tells its origin."""
    ys, xs = np.mgrid[:h, :w]
    return np.stack([xs, ys, np.full_like(xs, 7)], -1).astype(np.uint8)


def rect(y0, y1, x0, x1):
    mask = np.zeros((H, W), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def make_clip(num_frames=4, masks=None):
    masks = masks if masks is not None else [
        rect(0, H, 0, 6), rect(10, 30, 25, 35), rect(0, H, 54, 60)]
    arr = np.stack(masks) if masks else np.zeros((0, H, W), np.uint8)
    bitmap = BitmapMasks(arr, H, W)
    sample = dict(
        img=coordinate_image(), img_id=1, img_path='x.jpg',
        ori_shape=(H, W), img_shape=(H, W), gt_bboxes=boxes_of_masks(bitmap),
        gt_bboxes_labels=np.arange(len(masks)),
        gt_ignore_flags=np.zeros(len(masks), bool), gt_masks=bitmap)
    return ImageToClip(num_frames=num_frames)(sample)


def run(transform, clip, seed=0):
    set_random_seed(seed)
    return transform(copy.deepcopy(clip))


def origins_of(out):
    """``(T, 2)`` ``(x, y)`` crop origins read from the coordinate image."""
    return np.array([img[0, 0, :2] for img in out['img']], np.int64)


PAN = dict(crop_size=(20, 24), crop_type='absolute', prob=1.0)


def test_registered_and_validation():
    assert TRANSFORMS.get('ClipPanCrop') is ClipPanCrop
    assert 'absolute_range' in repr(ClipPanCrop())
    for bad in [dict(crop_type='corner'), dict(crop_size=(0.5, 1.5),
                                              crop_type='relative'),
                dict(crop_size=(600, 384)), dict(spacing='zigzag'),
                dict(prob=-1)]:
        with pytest.raises(ValueError):
            ClipPanCrop(**bad)


@pytest.mark.parametrize('seed', range(8))
def test_origins_move_linearly_with_a_fixed_crop_size(seed):
    out = run(ClipPanCrop(**PAN), make_clip(num_frames=5), seed)
    origins = origins_of(out)
    for t, img in enumerate(out['img']):
        assert img.shape == (20, 24, 3)
        assert out['img_shape'][t] == (20, 24)
        np.testing.assert_array_equal(
            img, coordinate_image()[origins[t, 1]:origins[t, 1] + 20,
                                    origins[t, 0]:origins[t, 0] + 24])
        np.testing.assert_array_equal(
            out['homography_matrix'][t],
            [[1, 0, -origins[t, 0]], [0, 1, -origins[t, 1]], [0, 0, 1]])
    assert (origins >= 0).all() and (origins <= [W - 24, H - 20]).all()
    expected = origins[0] + np.arange(5)[:, None] * (
        origins[-1] - origins[0]) / 4
    assert np.abs(origins - expected).max() <= 0.5
    steps = np.diff(origins, axis=0)
    assert ((steps >= 0).all(axis=0) | (steps <= 0).all(axis=0)).all()


def test_pan_is_reversed_about_half_of_the_time():
    directions = []
    for seed in range(40):
        origins = origins_of(run(ClipPanCrop(**PAN), make_clip(), seed))
        move = origins[-1] - origins[0]
        assert (move >= 0).all() or (move <= 0).all()
        if move.any():
            directions.append(bool((move >= 0).all()))
    assert 0.2 < np.mean(directions) < 0.8
    never = [origins_of(run(ClipPanCrop(**PAN, reverse_prob=0), make_clip(),
                            s)) for s in range(10)]
    assert all((o[-1] >= o[0]).all() for o in never)


@pytest.mark.parametrize('seed', range(10))
def test_masks_and_boxes_follow_the_window(seed):
    clip = make_clip(num_frames=4)
    out = run(ClipPanCrop(**PAN), clip, seed)
    origins = origins_of(out)
    for t, (x, y) in enumerate(origins):
        masks = dict(zip(out['gt_instances_ids'][t].tolist(),
                         out['gt_masks'][t].masks))
        assert out['gt_masks'][t].masks.shape[1:] == (20, 24)
        np.testing.assert_array_equal(out['gt_bboxes'][t],
                                      boxes_of_masks(out['gt_masks'][t]))
        for i, old in enumerate(clip['gt_masks'][t].masks, start=1):
            expected = old[y:y + 20, x:x + 24]
            if expected.any():
                np.testing.assert_array_equal(masks[i], expected)
            else:
                assert i not in masks
        labels = out['gt_bboxes_labels'][t].tolist()
        assert labels == [i - 1 for i in out['gt_instances_ids'][t]]


def test_instance_leaving_the_window_is_absent_there_only():
    """The left strip (id 1) leaves the window of a rightward pan: absent
    in the late frames, present with the same id in the early ones."""
    seen = False
    for seed in range(40):
        out = run(ClipPanCrop(**PAN, reverse_prob=0), make_clip(), seed)
        present = [1 in ids.tolist() for ids in out['gt_instances_ids']]
        if any(present) and not all(present):
            assert present == sorted(present, reverse=True)
            seen = True
    assert seen


def test_random_spacing_stays_on_the_segment_and_is_monotonic():
    origins = pan_origins(np.array([0., 0.]), np.array([30., 12.]), 6,
                          spacing='random')
    assert (np.diff(origins, axis=0) >= 0).all()
    assert np.abs(origins[:, 1] - origins[:, 0] * 12 / 30).max() <= 1
    np.testing.assert_array_equal(
        pan_origins(np.array([2., 4.]), np.array([8., 4.]), 4),
        [[2, 4], [4, 4], [6, 4], [8, 4]])
    np.testing.assert_array_equal(
        pan_origins(np.array([2., 4.]), np.array([8., 4.]), 1), [[2, 4]])


def test_crop_sizes():
    set_random_seed(0)
    assert draw_crop_size((40, 60), (0.5, 0.25), 'relative') == (20, 15)
    assert draw_crop_size((40, 60), (100, 30), 'absolute') == (40, 30)
    for _ in range(20):
        h, w = draw_crop_size((40, 60), (0.5, 0.5), 'relative_range')
        assert 20 <= h <= 40 and 30 <= w <= 60
        h, w = draw_crop_size((40, 60), (30, 50), 'absolute_range')
        assert 30 <= h <= 40 and 30 <= w <= 50


def test_single_frame_prob_zero_and_no_instances():
    out = run(ClipPanCrop(**PAN), make_clip(num_frames=1))
    assert len(out['img']) == 1 and out['img'][0].shape == (20, 24, 3)
    clip = make_clip()
    assert run(ClipPanCrop(**{**PAN, 'prob': 0.0}), clip)['img'][0].shape \
        == (H, W, 3)
    out = run(ClipPanCrop(**PAN), make_clip(masks=[]))
    assert all(len(m) == 0 for m in out['gt_masks'])


def test_boxes_without_masks_are_shifted_and_clipped():
    frame = dict(img=coordinate_image(),
                 gt_bboxes=np.array([[0, 0, 6, 40], [25, 10, 35, 30]],
                                    np.float32),
                 gt_bboxes_labels=np.array([0, 1]),
                 gt_instances_ids=np.array([1, 2]))
    crop_frame(frame, 10, 5, 20, 24)
    assert frame['gt_instances_ids'].tolist() == [2]
    assert frame['gt_bboxes'].tolist() == [[15, 5, 24, 20]]


def test_frames_of_different_sizes_are_rejected():
    clip = make_clip(num_frames=2)
    clip['img'][1] = clip['img'][1][:30]
    with pytest.raises(ValueError, match='one size'):
        run(ClipPanCrop(**PAN), clip)


@pytest.mark.parametrize('seed', range(4))
def test_mmdet_broadcaster_flips_and_resizes_once_per_clip(seed):
    """One flip decision and one resize per clip come from mmdet's
    TransformBroadcaster(share_random_params=True); then the pan crop."""
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    pipeline = Compose([
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='RandomChoiceResize',
                      scales=[(60, 40), (90, 60), (120, 80)],
                      keep_ratio=True),
                 dict(type='RandomFlip', prob=0.5)]),
        dict(type='ClipPanCrop', crop_size=(0.5, 0.5),
             crop_type='relative', prob=1.0),
        dict(type='PackTrackInputs')])
    set_random_seed(seed)
    packed = pipeline(make_clip(num_frames=5))
    samples = packed['data_samples']
    flips = {s.flip for s in samples}
    scales = {tuple(s.scale_factor) for s in samples}
    shapes = {s.img_shape for s in samples}
    assert len(flips) == 1 and len(scales) == 1 and len(shapes) == 1
    assert packed['inputs'].shape[0] == 5
    for sample in samples:
        masks = sample.gt_instances.masks
        assert masks.masks.shape[1:] == tuple(packed['inputs'].shape[-2:])
