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


def test_image_to_clip_makes_a_mirrored_image_contiguous():
    """mmcv's RandomFlip leaves a mirrored view: ImageToClip copies it once
    into C-contiguous memory (same pixels), shared by the frames."""
    sample = image_sample()
    original = sample['img']
    sample['img'] = original[:, ::-1]
    clip = ImageToClip(num_frames=3)(sample)
    img = clip['img'][0]
    assert img.flags.c_contiguous
    assert np.array_equal(img, original[:, ::-1])
    assert clip['img'][2] is img
    # a contiguous image is kept as it is
    sample = image_sample()
    assert ImageToClip(num_frames=2)(sample)['img'][1] is sample['img']


def test_stack_frames_uses_a_clip_buffer_without_copy():
    from mmvis_pretrain.datasets.transforms.clip_format import (
        clip_image_buffer, stack_frames)
    rng = np.random.RandomState(0)
    images = [rng.randint(0, 256, (5, 6, 3)).astype(np.uint8)
              for _ in range(3)]
    buffer = clip_image_buffer(images)
    assert buffer.shape == (3, 5, 6, 3) and buffer.dtype == np.uint8
    for t, img in enumerate(images):
        buffer[t] = img
    frames = [buffer[t] for t in range(3)]
    stacked = stack_frames(frames)
    assert stacked is buffer
    assert np.array_equal(stacked, np.stack(images))
    # anything else is stacked (copied): separate arrays, a frame replaced,
    # frames out of order, a strided buffer, a prefix of a longer buffer
    other = clip_image_buffer(images)
    other[...] = buffer
    cases = [images, [frames[0], images[1], frames[2]],
             [frames[1], frames[0], frames[2]],
             [other[::2][0], other[::2][1]], frames[:2]]
    for case in cases:
        out = stack_frames(case)
        assert out.flags.c_contiguous
        assert not any(np.shares_memory(out, f) for f in case)
        assert np.array_equal(out, np.stack(case))
    # frames of different shapes or dtypes get no common buffer
    assert clip_image_buffer([images[0], images[1][:4]]) is None
    assert clip_image_buffer([images[0], images[1].astype(np.float32)]) \
        is None


@pytest.mark.parametrize('layout', ['C', 'column-major', 'strided'])
@pytest.mark.parametrize('dtype', [np.uint8, bool, np.int64, np.float32])
def test_boxes_of_masks_equal_mmdet_get_bboxes(layout, dtype):
    """One cv2.boundingRect pass per mask gives mmdet's get_bboxes numbers
    (empty masks, single pixels, border pixels, any dtype and layout)."""
    from mmvis_pretrain.datasets.transforms import boxes_of_masks
    rng = np.random.RandomState(0)
    h, w = 13, 17
    masks = np.zeros((7, h, w), np.uint8)
    masks[1, 0, 0] = 1
    masks[2, h - 1, w - 1] = 3
    masks[3, :, 5] = 1
    masks[4, 4:9, 2:16] = rng.rand(5, 14) > .5
    masks[5] = rng.rand(h, w) > .9
    masks[6] = 1
    masks = masks.astype(dtype)
    if layout == 'column-major':
        arr = BitmapMasks([np.asfortranarray(m) for m in masks], h, w).masks
        assert not arr.flags.c_contiguous
    elif layout == 'strided':
        arr = np.repeat(masks, 2, axis=2)[:, :, ::2]
    else:
        arr = masks
    bitmap = BitmapMasks.__new__(BitmapMasks)
    bitmap.height, bitmap.width, bitmap.masks = h, w, arr
    expected = bitmap.get_bboxes(dst_type='hbox').numpy().astype(np.float32)
    boxes = boxes_of_masks(bitmap)
    assert boxes.dtype == np.float32
    assert np.array_equal(boxes, expected)
    assert boxes[0].tolist() == [0, 0, 0, 0]
