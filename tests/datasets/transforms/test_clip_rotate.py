"""ClipRotate: slow monotonic rotation of a clip, masks as the truth."""
import cv2
import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms.clip_format import ImageToClip
from mmvis_pretrain.datasets.transforms.clip_rotate import (
    ClipRotate, rotate_masks, sample_clip_angles)
from mmvis_pretrain.registry import TRANSFORMS

H, W = 20, 30


def image_sample(with_masks=True, num=3):
    """Instance 1: centre block; 2: 2x2 corner block (leaves the canvas
    under a rotation of 7.5 degrees or more); 3: right-side block."""
    masks = np.zeros((3, H, W), dtype=np.uint8)
    masks[0, 6:14, 10:20] = 1
    masks[1, 0:2, 0:2] = 1
    masks[2, 4:9, 22:27] = 1
    sample = dict(
        img=np.random.RandomState(0).randint(0, 255, (H, W, 3), np.uint8),
        img_id=5, img_shape=(H, W), ori_shape=(H, W),
        gt_bboxes=np.array([[10, 6, 20, 14], [0, 0, 2, 2], [22, 4, 27, 9]],
                           np.float32)[:num],
        gt_bboxes_labels=np.array([4, 5, 6])[:num],
        gt_ignore_flags=np.zeros(num, bool))
    if with_masks:
        sample['gt_masks'] = BitmapMasks(masks[:num], H, W)
    return sample


def cv2_rotate(img, angle, flags, border):
    """Independent reference: positive angle = clockwise on screen."""
    matrix = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), -angle, 1)
    return cv2.warpAffine(img, matrix, (W, H), flags=flags,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def tight_box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize('num_frames', [1, 2, 3, 10])
def test_sampled_angles_slow_monotonic_bounded(num_frames):
    np.random.seed(0)
    for _ in range(200):
        angles = sample_clip_angles(num_frames, 15., max_step=5.)
        assert angles.shape == (num_frames, )
        assert np.all(np.abs(angles) <= 15.)
        steps = np.diff(angles)
        assert np.all(steps >= 0) or np.all(steps <= 0)  # monotonic
        assert np.all(np.abs(steps) <= 5. + 1e-9)  # slow
        assert np.allclose(steps, steps[0] if len(steps) else 0)  # smooth


def test_free_end_angle_without_max_step():
    np.random.seed(1)
    spans = [np.ptp(sample_clip_angles(3, 15., None)) for _ in range(300)]
    assert max(spans) > 20 and max(spans) <= 30


def test_image_and_masks_rotate_like_cv2():
    clip = ImageToClip(3)(image_sample())
    ori_img, ori_masks = clip['img'][0].copy(), clip['gt_masks'][0].masks
    angles = [-3.0, 0.5, 4.0]
    out = ClipRotate(img_border_value=(1, 2, 3)).rotate_clip(clip, angles)
    assert out['rotate_angle'] == angles
    for t, angle in enumerate(angles):
        matrix = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), -angle,
                                         1)
        assert np.allclose(out['homography_matrix'][t][:2], matrix,
                           atol=1e-5)
        expected = cv2_rotate(ori_img, angle, cv2.INTER_LINEAR, (1, 2, 3))
        assert np.array_equal(out['img'][t], expected)
        assert out['img'][t].shape == (H, W, 3)
        kept = out['gt_instances_ids'][t] - 1
        for mask, k in zip(out['gt_masks'][t].masks, kept):
            assert np.array_equal(
                mask, cv2_rotate(ori_masks[k], angle, cv2.INTER_NEAREST, 0))


def test_boxes_fit_masks_and_stay_inside():
    np.random.seed(2)
    out = ClipRotate()(ImageToClip(4)(image_sample()))
    for boxes, masks in zip(out['gt_bboxes'], out['gt_masks']):
        assert boxes.dtype == np.float32 and len(boxes) == len(masks)
        assert masks.masks.shape[1:] == (H, W)  # nothing outside the canvas
        for box, mask in zip(boxes, masks.masks):
            assert box.tolist() == tight_box(mask)
        assert np.all(boxes[:, 0::2] <= W) and np.all(boxes[:, 1::2] <= H)
        assert np.all(boxes >= 0)


def test_instance_rotated_out_is_absent_only_there():
    clip = ImageToClip(3)(image_sample())
    out = ClipRotate().rotate_clip(clip, [0., 5., 15.])
    ids = [i.tolist() for i in out['gt_instances_ids']]
    assert ids == [[1, 2, 3], [1, 2, 3], [1, 3]]
    # every per-instance key follows the ids
    assert out['gt_bboxes_labels'][2].tolist() == [4, 6]
    assert len(out['gt_ignore_flags'][2]) == 2
    assert len(out['gt_masks'][2]) == 2 and len(out['gt_bboxes'][2]) == 2
    assert out['gt_masks'][1].masks[1].any()


def test_registered_random_clip_records_angles_and_is_seeded():
    rotate = TRANSFORMS.build(dict(type='ClipRotate', max_angle=15.))
    set_random_seed(7)
    first = rotate(ImageToClip(5)(image_sample()))
    set_random_seed(7)
    again = rotate(ImageToClip(5)(image_sample()))
    angles = np.array(first['rotate_angle'])
    assert np.all(np.abs(angles) <= 15) and len(angles) == 5
    assert np.all(np.diff(angles) >= 0) or np.all(np.diff(angles) <= 0)
    assert first['rotate_angle'] == again['rotate_angle']
    for a, b in zip(first['img'], again['img']):
        assert np.array_equal(a, b)


def test_single_frame_and_no_instances():
    np.random.seed(3)
    out = ClipRotate()(ImageToClip(1)(image_sample(num=0)))
    assert len(out['img']) == 1 and out['gt_masks'][0].masks.shape == (0, H,
                                                                       W)
    assert out['gt_bboxes'][0].shape == (0, 4)
    assert out['gt_instances_ids'][0].shape == (0, )


def test_images_only_clip_and_composed_homography():
    sample = dict(img=np.full((H, W, 3), 50, np.uint8), img_id=1)
    clip = ImageToClip(2)(sample)
    shift = np.array([[1, 0, 4], [0, 1, 0], [0, 0, 1]], np.float32)
    clip['homography_matrix'] = [shift.copy(), shift.copy()]
    out = ClipRotate().rotate_clip(clip, [0., 10.])
    assert np.allclose(out['homography_matrix'][0], shift)  # 0 degrees
    rotation = np.eye(3)
    rotation[:2] = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), -10, 1)
    assert np.allclose(out['homography_matrix'][1], rotation @ shift,
                       atol=1e-4)
    assert out['img'][1][0, 0].tolist() == [128, 128, 128]  # border fill
    assert out['img'][1][H // 2, W // 2].tolist() == [50, 50, 50]


def test_boxes_without_masks_follow_rotated_corners():
    clip = ImageToClip(2)(image_sample(with_masks=False))
    out = ClipRotate().rotate_clip(clip, [0., 15.])
    assert out['gt_instances_ids'][0].tolist() == [1, 2, 3]
    boxes = out['gt_bboxes'][1]
    assert np.all(boxes[:, 0::2] <= W) and np.all(boxes >= 0)
    # the centre box grows into the enclosing box of its rotated corners
    x1, y1, x2, y2 = boxes[0]
    assert x2 - x1 > 10 and y2 - y1 > 8


def test_seg_map_rotates_with_ignore_border():
    sample = image_sample()
    sample['gt_seg_map'] = np.full((H, W), 3, np.uint8)
    out = ClipRotate().rotate_clip(ImageToClip(1)(sample), [12.])
    seg = out['gt_seg_map'][0]
    assert set(np.unique(seg).tolist()) == {3, 255} and seg[0, 0] == 255


def test_many_masks_beyond_cv2_channel_limit():
    """cv2.warpAffine takes <= 128 channels: masks go in chunks, in order."""
    masks = np.zeros((300, H, W), np.uint8)
    index = np.arange(300)
    masks[index, 5 + index % 10, 5 + (index // 10) % 20] = 1
    out = rotate_masks(BitmapMasks(masks, H, W), 3.)
    assert len(out) == 300
    for k in (0, 127, 128, 299):
        assert np.array_equal(
            out.masks[k], cv2_rotate(masks[k], 3., cv2.INTER_NEAREST, 0))


def test_prob_zero_and_bad_args():
    clip = ImageToClip(2)(image_sample())
    img = clip['img'][1].copy()
    out = ClipRotate(prob=0.)(clip)
    assert np.array_equal(out['img'][1], img) and 'rotate_angle' not in out
    with pytest.raises(ValueError):
        ClipRotate(max_angle=-1)
    with pytest.raises(ValueError, match='angles for'):
        ClipRotate().rotate_clip(ImageToClip(2)(image_sample()), [0.])
