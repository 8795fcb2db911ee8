"""ImageToClip and the clip-format helpers."""
import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks

from mmvis_pretrain.datasets.transforms import (ImageToClip, merge_clip,
                                                split_clip,
                                                sync_instances_to_masks)
from mmvis_pretrain.registry import TRANSFORMS


def image_sample(num=2, h=20, w=30):
    masks = np.zeros((num, h, w), dtype=np.uint8)
    for i in range(num):
        masks[i, 2 + i:8 + i, 3 + 2 * i:12 + 2 * i] = 1
    return dict(
        img=np.random.RandomState(0).randint(0, 255, (h, w, 3), np.uint8),
        img_id=7, img_path='x.jpg', ori_shape=(h, w), img_shape=(h, w),
        gt_bboxes=np.array([[3, 2, 12, 8], [5, 3, 14, 9]],
                           np.float32)[:num],
        gt_bboxes_labels=np.arange(num), gt_ignore_flags=np.zeros(num, bool),
        gt_masks=BitmapMasks(masks, h, w))


def test_image_to_clip_replicates_with_ids():
    clip = ImageToClip(num_frames=3)(image_sample())
    assert all(isinstance(v, list) and len(v) == 3 for v in clip.values())
    assert clip['frame_id'] == [0, 1, 2]
    assert clip['video_id'] == [7, 7, 7]
    assert clip['key_frame_flags'] == [True, False, False]
    for ids in clip['gt_instances_ids']:
        assert ids.tolist() == [1, 2]
    # by default the frames share their arrays (copy-on-write transforms)
    assert clip['img'][1] is clip['img'][0]
    # copy=True: independent copies, editing one frame leaves the others
    clip = ImageToClip(num_frames=3, copy=True)(image_sample())
    clip['img'][1][:] = 0
    clip['gt_masks'][2].masks[:] = 0
    assert clip['img'][0].any() and clip['gt_masks'][0].masks.any()
    assert clip['gt_masks'][1].masks.any()


def test_image_without_instances_and_t1():
    sample = image_sample(num=0)
    clip = ImageToClip(num_frames=1)(sample)
    assert len(clip['img']) == 1
    assert clip['gt_instances_ids'][0].shape == (0, )


def test_split_merge_roundtrip_and_errors():
    clip = ImageToClip(num_frames=2)(image_sample())
    frames = split_clip(clip)
    assert len(frames) == 2 and frames[1]['frame_id'] == 1
    assert merge_clip(frames).keys() == clip.keys()
    with pytest.raises(ValueError, match='one entry per frame'):
        split_clip(dict(img=[1, 2], frame_id=[0]))
    with pytest.raises(ValueError, match='non-lists'):
        split_clip(dict(img=[1, 2], img_path='a.jpg'))
    with pytest.raises(ValueError):
        ImageToClip(num_frames=0)
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        ImageToClip()(dict(img_id=1))


def test_sync_drops_empty_and_fits_boxes():
    frame = split_clip(ImageToClip(num_frames=1)(image_sample()))[0]
    frame['gt_masks'].masks[0][:] = 0  # instance 1 left the frame
    frame['gt_masks'].masks[1][:, :] = 0
    frame['gt_masks'].masks[1][4:6, 10:13] = 1
    sync_instances_to_masks(frame)
    assert frame['gt_instances_ids'].tolist() == [2]
    assert frame['gt_bboxes_labels'].tolist() == [1]
    assert frame['gt_bboxes'].tolist() == [[10, 4, 13, 6]]
    assert frame['gt_bboxes'].dtype == np.float32


def test_mmdet_broadcaster_and_packing():
    """The clip runs through mmdet's video transforms and packs into a
    TrackDataSample with consistent ids."""
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    from mmcv.transforms import Compose
    pipeline = Compose([
        dict(type='ImageToClip', num_frames=3),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[dict(type='Resize', scale=(60, 40), keep_ratio=True),
                         dict(type='RandomFlip', prob=1.0)]),
        dict(type='PackTrackInputs')
    ])
    assert TRANSFORMS.get('ImageToClip') is ImageToClip
    packed = pipeline(image_sample())
    assert tuple(packed['inputs'].shape) == (3, 3, 40, 60)
    sample = packed['data_samples']
    assert len(sample) == 3
    for frame in sample:
        assert frame.gt_instances.instances_ids.tolist() == [1, 2]
        assert frame.flip is True


@pytest.mark.parametrize('transform', [
    dict(type='VideoAutoAugment', k_max=3),
    dict(type='VideoAutoAugment', k_max=3, per_frame=True),
    dict(type='ClipRotate', max_angle=15),
    dict(type='VideoCopyPaste', prob=1.0, min_area=4),
    dict(type='ClipPanCrop', crop_size=(0.5, 0.5), crop_type='relative',
         prob=1.0),
])
def test_clip_transforms_never_write_into_shared_arrays(transform):
    """Frames of ImageToClip share arrays: every clip transform must leave
    its input arrays untouched (copy-on-write)."""
    from mmengine.runner import set_random_seed
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    sample = image_sample(num=2, h=40, w=60)
    img, masks = sample['img'].copy(), sample['gt_masks'].masks.copy()
    boxes = sample['gt_bboxes'].copy()
    clip = ImageToClip(num_frames=4)(sample)
    shared_img, shared_masks = clip['img'][0], clip['gt_masks'][0]
    for seed in range(5):
        set_random_seed(seed)
        TRANSFORMS.build(transform)(dict(clip))
        assert np.array_equal(shared_img, img)
        assert np.array_equal(shared_masks.masks, masks)
        assert np.array_equal(clip['gt_bboxes'][0], boxes)
