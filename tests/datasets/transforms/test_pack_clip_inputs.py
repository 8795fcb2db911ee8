"""PackClipInputs gives exactly mmdet's PackTrackInputs output, field by
field (keys and their order, dtypes, shapes, strides, values, metainfo),
with fewer copies; packed frames never share memory."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmdet.datasets.transforms import PackTrackInputs
from mmdet.structures import TrackDataSample
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms import ImageToClip
from mmvis_pretrain.datasets.transforms.pack_clip_inputs import (
    PackClipInputs, pack_frame_masks, select_masks)
from mmvis_pretrain.registry import TRANSFORMS

H, W = 24, 32


def assert_same_value(a, b, where):
    """Equal types, dtypes, shapes, strides and values."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.stride() == b.stride(), where
        assert torch.equal(a, b), where
    elif isinstance(a, BitmapMasks):
        assert (a.height, a.width) == (b.height, b.width), where
        assert a.masks.dtype == b.masks.dtype, where
        assert a.masks.shape == b.masks.shape, where
        assert a.masks.strides == b.masks.strides, where
        assert np.array_equal(a.masks, b.masks), where
    elif isinstance(a, PolygonMasks):
        assert len(a) == len(b), where
        for pa, pb in zip(a.masks, b.masks):
            assert all(np.array_equal(x, y) for x, y in zip(pa, pb)), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    else:
        assert a == b, where


def assert_same_packed(expected, actual):
    """``actual`` (PackClipInputs) equals ``expected`` (PackTrackInputs)."""
    assert list(expected) == list(actual)
    assert_same_value(expected['inputs'], actual['inputs'], 'inputs')
    ref, out = expected['data_samples'], actual['data_samples']
    assert isinstance(out, TrackDataSample)
    assert list(ref.metainfo_keys()) == list(out.metainfo_keys())
    for key in ref.metainfo_keys():
        assert_same_value(ref.metainfo[key], out.metainfo[key], key)
    assert len(ref) == len(out)
    for t, (ref_frame, out_frame) in enumerate(zip(ref, out)):
        assert list(ref_frame.metainfo_keys()) == \
            list(out_frame.metainfo_keys())
        for key in ref_frame.metainfo_keys():
            assert_same_value(ref_frame.metainfo[key],
                              out_frame.metainfo[key], (t, key))
        assert list(ref_frame.keys()) == list(out_frame.keys())
        for field in ('gt_instances', 'ignored_instances'):
            ref_inst, out_inst = ref_frame.get(field), out_frame.get(field)
            assert list(ref_inst.keys()) == list(out_inst.keys()), field
            for key in ref_inst.keys():
                assert_same_value(ref_inst[key], out_inst[key],
                                  (t, field, key))


def frames_share_mask_memory(packed):
    arrays = [frame.gt_instances.masks.masks for frame in packed[
        'data_samples'] if 'masks' in frame.gt_instances]
    return any(np.shares_memory(a, b) for i, a in enumerate(arrays)
               for b in arrays[i + 1:])


def image_sample(num=3, crowd=(), dtype=np.uint8, seed=0):
    """A decoded image sample with ``num`` rectangles, some crowd."""
    rng = np.random.RandomState(seed)
    masks = np.zeros((num, H, W), dtype)
    for i in range(num):
        masks[i, 2 + i:12 + 2 * i, 3 + 3 * i:15 + 3 * i] = 1
    flags = np.zeros(num, bool)
    flags[list(crowd)] = True
    return dict(
        img=rng.randint(0, 256, (H, W, 3)).astype(np.uint8), img_id=7,
        img_path='a.jpg', ori_shape=(H, W), img_shape=(H, W),
        scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
        gt_bboxes=np.zeros((num, 4), np.float32),
        gt_bboxes_labels=np.arange(num, dtype=np.int64),
        gt_ignore_flags=flags, gt_masks=BitmapMasks(masks, H, W))


def pack_both(clip, **kwargs):
    return (PackTrackInputs(**kwargs)(dict(clip)),
            PackClipInputs(**kwargs)(dict(clip)))


@pytest.mark.parametrize('num,crowd', [(3, ()), (3, (1, )), (2, (0, 1)),
                                       (0, ())])
def test_equals_pack_track_inputs_on_replicated_clips(num, crowd):
    clip = ImageToClip(num_frames=3)(image_sample(num, crowd))
    expected, actual = pack_both(clip)
    assert_same_packed(expected, actual)
    assert not frames_share_mask_memory(actual)
    masks = actual['data_samples'][0].gt_instances.masks.masks
    valid = num - len(crowd)
    assert masks.shape == (valid, H, W)
    if valid == 0:  # mmdet's empty BitmapMasks are uint8
        assert masks.dtype == np.uint8


def test_equals_pack_track_inputs_with_bool_masks_and_meta_keys():
    clip = ImageToClip(num_frames=2)(image_sample(3, (2, ), dtype=bool))
    clip['homography_matrix'] = [np.eye(3, dtype=np.float32)] * 2
    expected, actual = pack_both(clip, meta_keys=('homography_matrix', ))
    assert_same_packed(expected, actual)
    assert actual['data_samples'][1].gt_instances.masks.masks.dtype == bool
    # metainfo is deep-copied, as by mmdet
    assert actual['data_samples'][0].homography_matrix is not \
        clip['homography_matrix'][0]


def test_equals_pack_track_inputs_without_ignore_flags():
    """Without gt_ignore_flags mmdet packs the frames' masks as they are
    (no copy): so does PackClipInputs."""
    clip = ImageToClip(num_frames=2)(image_sample(2))
    del clip['gt_ignore_flags']
    expected, actual = pack_both(clip)
    assert_same_packed(expected, actual)
    assert actual['data_samples'][1].gt_instances.masks is clip['gt_masks'][1]


def test_equals_pack_track_inputs_with_polygon_masks():
    clip = ImageToClip(num_frames=2)(image_sample(2, (1, )))
    polygon = PolygonMasks([[np.array([1., 1., 9., 1., 9., 7.])],
                            [np.array([2., 2., 6., 2., 6., 8., 2., 8.])]],
                           H, W)
    clip['gt_masks'] = [polygon, polygon]
    expected, actual = pack_both(clip)
    assert_same_packed(expected, actual)


def test_frames_of_different_instances_and_key_frames():
    """Frames with different instance subsets (one empty), key frame 1."""
    frames = [image_sample(3, (1, ), seed=s) for s in range(3)]
    frames[1]['gt_masks'] = BitmapMasks(np.zeros((0, H, W), np.uint8), H, W)
    for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags'):
        frames[1][key] = frames[1][key][:0]
    clip = {key: [f[key] for f in frames] for key in frames[0]}
    clip['gt_instances_ids'] = [np.array([1, 2, 3]), np.zeros(0, np.int64),
                                np.array([4, 5, 6])]
    clip['frame_id'] = [0, 1, 2]
    clip['key_frame_flags'] = [False, True, False]
    expected, actual = pack_both(clip)
    assert_same_packed(expected, actual)
    assert actual['data_samples'].key_frames_inds == [1]
    assert actual['data_samples'].ref_frames_inds == [0, 2]


def _synthetic_dataset(synthetic_root, packer):
    from mmvis_pretrain.registry import DATASETS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return DATASETS.build(
        dict(type='SyntheticCocoDataset',
             data_root=osp.join(synthetic_root, 'coco') + '/',
             ann_file='annotations/instances_train.json',
             data_prefix=dict(img='train/'),
             filter_cfg=dict(filter_empty_gt=True),
             pipeline=[
                 dict(type='LoadImageFromFile'),
                 dict(type='LoadAnnotations', with_bbox=True,
                      with_mask=True),
                 dict(type='RandomFlip', prob=0.5),
                 dict(type='ImageToClip', num_frames=3),
                 dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
                 dict(type='VideoCopyPaste', prob=0.5, min_area=16),
                 dict(type=packer)
             ]))


def test_equals_pack_track_inputs_on_the_pseudo_video_pipeline(
        synthetic_root):
    """The whole CoSt + VMoSp pipeline on the synthetic images (crowd
    instances, flips, rotations, pastes), packed both ways."""
    reference = _synthetic_dataset(synthetic_root, 'PackTrackInputs')
    fast = _synthetic_dataset(synthetic_root, 'PackClipInputs')
    pasted = 0
    for idx in range(len(fast)):
        for seed in range(3):
            set_random_seed(seed)
            expected = reference[idx]
            set_random_seed(seed)
            actual = fast[idx]
            assert_same_packed(expected, actual)
            assert not frames_share_mask_memory(actual)
            ids = actual['data_samples'][0].gt_instances.instances_ids
            pasted += int(ids.max()) > len(
                fast.get_data_info(idx)['instances'])
    assert pasted > 0  # VideoCopyPaste's image buffer was packed too


def test_registered_and_repr():
    packer = TRANSFORMS.build(dict(type='PackClipInputs',
                                   meta_keys=('homography_matrix', )))
    assert isinstance(packer, PackClipInputs)
    assert 'homography_matrix' in packer.meta_keys
    assert repr(packer).startswith('PackClipInputs(meta_keys=')
    with pytest.raises(KeyError, match='img_id'):
        packer(dict(img=[np.zeros((2, 2, 3), np.uint8)]))


def test_pack_frame_masks_copies_only_when_needed():
    arr = np.zeros((3, H, W), np.uint8)
    arr[:, 3:9, 4:10] = 1
    masks = BitmapMasks.__new__(BitmapMasks)
    masks.height, masks.width, masks.masks = H, W, arr
    packed = []
    first = pack_frame_masks(masks, np.arange(3), packed)
    assert first.masks is arr  # all instances, nothing packed yet: no copy
    again = pack_frame_masks(masks, np.arange(3), packed)
    assert not np.shares_memory(again.masks, arr)  # same array: copied
    assert np.array_equal(again.masks, arr)
    subset = pack_frame_masks(BitmapMasks(arr, H, W), np.array([0, 2]), [])
    assert subset.masks.shape == (2, H, W)
    assert np.array_equal(subset.masks, arr[[0, 2]])
    view = BitmapMasks.__new__(BitmapMasks)
    view.height, view.width, view.masks = H, W // 2, arr[:, :, ::2]
    copied = pack_frame_masks(view, np.arange(3), [])
    assert not np.shares_memory(copied.masks, arr)  # other layout: copied
    assert copied.masks.strides == view[np.arange(3)].masks.strides
    assert len(packed) == 2


def column_major_masks(num, h, w, dtype=np.uint8, seed=0):
    """(num, h, w) masks as LoadAnnotations gives them: pycocotools decodes
    column-major masks and BitmapMasks stacks them in that layout."""
    rng = np.random.RandomState(seed)
    return BitmapMasks([np.asfortranarray(rng.rand(h, w) > .5).astype(dtype)
                        for _ in range(num)], h, w).masks


@pytest.mark.parametrize('shape', [(4, 9, 13), (1, 9, 13), (3, 1, 7),
                                   (3, 7, 1), (2, 1, 1)])
@pytest.mark.parametrize('layout', ['C', 'column-major', 'view'])
def test_select_and_pack_keep_mmdet_strides(shape, layout):
    """The packed masks have the strides mmdet's two copies give, for the
    C layout, the column-major masks of pycocotools and any other view."""
    num, h, w = shape
    if layout == 'C':
        arr = (np.random.RandomState(1).rand(*shape) > .5).astype(np.uint8)
    elif layout == 'column-major':
        arr = column_major_masks(num, h, w)
    else:
        big = np.random.RandomState(2).rand(num, 2 * h, w) > .5
        arr = big.astype(np.uint8)[:, ::2]
    masks = BitmapMasks.__new__(BitmapMasks)
    masks.height, masks.width, masks.masks = h, w, arr
    for index in (np.arange(num), np.arange(num)[::2],
                  np.array([], np.int64)):
        expected = masks[index]
        for actual in (select_masks(masks, index),
                       pack_frame_masks(masks, index, [])):
            assert actual.masks.dtype == expected.masks.dtype
            assert actual.masks.shape == expected.masks.shape
            assert actual.masks.strides == expected.masks.strides
            assert np.array_equal(actual.masks, expected.masks)


def test_select_masks_matches_bitmap_masks_indexing():
    arr = (np.random.RandomState(0).rand(4, H, W) > .5)
    for dtype in (np.uint8, bool):
        masks = BitmapMasks(arr.astype(dtype), H, W)
        for index in (np.array([1, 3]), np.array([], np.int64),
                      np.arange(4)):
            expected, actual = masks[index], select_masks(masks, index)
            assert actual.masks.dtype == expected.masks.dtype
            assert np.array_equal(actual.masks, expected.masks)
            assert (actual.height, actual.width) == (H, W)


def test_pipeline_composes_and_inputs_share_no_memory_with_frames():
    """Packed frames share no memory with each other: even the masks of a
    clip whose frames share one array are copied for frames 1..T-1."""
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    pipeline = Compose([dict(type='ImageToClip', num_frames=4),
                        dict(type='PackClipInputs')])
    packed = pipeline(image_sample(3))
    assert tuple(packed['inputs'].shape) == (4, 3, H, W)
    assert not frames_share_mask_memory(packed)

