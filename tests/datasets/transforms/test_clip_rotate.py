"""ClipRotate: slow monotonic rotation of a clip, masks as the truth."""
import cv2
import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms import ImageToClip
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


# --- windowed mask rotation: exactly the full-frame nearest rotation -------

def full_frame_rotation(masks, angle):
    """Reference: every mask warped over its whole frame (nearest, border
    0) with mmcv.imrotate's matrix, one cv2.warpAffine call per mask."""
    n, h, w = masks.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -angle, 1)
    out = np.zeros_like(masks)
    for i in range(n):
        out[i] = cv2.warpAffine(masks[i], matrix, (w, h),
                                flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out


def tight_boxes(masks):
    """(n, 4) float32 tight x1y1x2y2 boxes (x2 = last column + 1), 0s for an
    empty mask."""
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, mask in enumerate(masks):
        if mask.any():
            boxes[i] = tight_box(mask)
    return boxes


def random_masks(rng, n, h, w):
    """Masks of many kinds: blobs, thin lines, single pixels (corners
    included), border-touching bars, corner blocks that rotate out, noisy
    regions (many edges: every rounding matters), full and empty masks."""
    masks = np.zeros((n, h, w), np.uint8)
    for i in range(n):
        kind = rng.integers(9)
        x0, x1 = sorted(rng.integers(0, w, 2))
        y0, y1 = sorted(rng.integers(0, h, 2))
        if kind == 0:  # ellipse blob
            axes = (int(rng.integers(1, w // 2 + 2)),
                    int(rng.integers(1, h // 2 + 2)))
            cv2.ellipse(masks[i], (int(x0), int(y0)), axes,
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        elif kind == 1:  # thin line, any direction
            cv2.line(masks[i], (int(x0), int(y1)), (int(x1), int(y0)), 1, 1)
        elif kind == 2:  # single pixel, often a corner of the frame
            y, x = ((0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0),
                    (y0, x0))[rng.integers(5)]
            masks[i, y, x] = 1
        elif kind == 3:  # bar touching one or two borders
            masks[i, :y1 + 1, x0:x1 + 1] = 1 if rng.random() < .5 else 0
            masks[i, y0:y1 + 1, x0:] = 1
        elif kind == 4:  # small corner block: rotates (partly) out
            size = int(rng.integers(1, 4))
            corner = rng.integers(4)
            ys = slice(0, size) if corner < 2 else slice(h - size, h)
            xs = slice(0, size) if corner % 2 else slice(w - size, w)
            masks[i, ys, xs] = 1
        elif kind == 5:  # noise in a box: dense edges
            region = masks[i, y0:y1 + 1, x0:x1 + 1]
            region[...] = rng.random(region.shape) < .5
        elif kind == 6:
            masks[i] = 1
        elif kind == 7:
            pass  # empty before rotating
        else:  # rectangle
            masks[i, y0:y1 + 1, x0:x1 + 1] = 1
    return masks


SHAPES = [(1, 1), (1, 9), (7, 1), (2, 3), (21, 33), (37, 18), (64, 64),
          (101, 67), (240, 319)]
ANGLES = [0., 45., -45., 90., -90., 89.7, -90.3, 0.01, -0.01, 15., 180.]


@pytest.mark.parametrize('value', [1, 255], ids=['binary', 'non-binary'])
@pytest.mark.parametrize('num', [0, 1, 8, 20, 140])
@pytest.mark.parametrize('shape', SHAPES)
def test_windowed_rotation_equals_full_frame_reference(num, shape, value):
    """Binary masks take the bit-plane path (20 masks: one 3-channel warp;
    140: four 4-channel warps and one whose 2 channels become 3), others
    (value 255) the sampling-map path."""
    from mmvis_pretrain.datasets.transforms.clip_rotate import \
        rotate_mask_array
    rng = np.random.default_rng([num, *shape])
    angles = ANGLES + list(rng.uniform(-45, 45, 6))
    for angle in angles:
        masks = random_masks(rng, num, *shape) * np.uint8(value)
        expected = full_frame_rotation(masks, angle)
        expected_boxes = tight_boxes(expected)
        expected_visible = expected.any(axis=(1, 2))
        # boxes found by scanning, tight boxes given, and loose boxes given
        loose = tight_boxes(masks) + np.array([-1.5, -3, 2.2, 0.5])
        for boxes in (None, tight_boxes(masks), loose):
            rotated, new_boxes, visible = rotate_mask_array(
                masks, angle, boxes)
            assert rotated.dtype == np.uint8 and rotated.shape == masks.shape
            assert np.array_equal(rotated, expected), angle
            assert new_boxes.dtype == np.float32
            assert new_boxes.shape == (num, 4)
            assert np.array_equal(new_boxes, expected_boxes), angle
            assert np.array_equal(visible, expected_visible)
        # the BitmapMasks wrapper gives the same masks
        wrapped = rotate_masks(BitmapMasks(masks, *shape), angle)
        assert isinstance(wrapped, BitmapMasks)
        assert np.array_equal(wrapped.masks, expected)


@pytest.mark.parametrize('value', [1, 255], ids=['binary', 'non-binary'])
def test_windowed_rotation_on_a_coco_sized_frame(value):
    from mmvis_pretrain.datasets.transforms.clip_rotate import \
        rotate_mask_array
    rng = np.random.default_rng(11)
    masks = random_masks(rng, 8, 801, 1067) * np.uint8(value)
    for angle in (-45., -13.3, 7.77, 44.9):
        expected = full_frame_rotation(masks, angle)
        rotated, boxes, visible = rotate_mask_array(masks, angle)
        assert np.array_equal(rotated, expected)
        assert np.array_equal(boxes, tight_boxes(expected))
        assert np.array_equal(visible, expected.any(axis=(1, 2)))


def test_windowed_rotation_keeps_bool_masks():
    from mmvis_pretrain.datasets.transforms.clip_rotate import \
        rotate_mask_array
    masks = random_masks(np.random.default_rng(5), 8, 45, 61)
    rotated, boxes, _ = rotate_mask_array(masks.astype(bool), 12.5)
    expected = full_frame_rotation(masks, 12.5)
    assert rotated.dtype == bool
    assert np.array_equal(rotated, expected.astype(bool))
    assert np.array_equal(boxes, tight_boxes(expected))


def test_huge_frames_fall_back_to_whole_frame_warps(monkeypatch):
    """Beyond int16 map coordinates every reached non-binary mask is warped
    whole (binary masks take the bit planes, which need no map)."""
    from mmvis_pretrain.datasets.transforms import clip_rotate
    monkeypatch.setattr(clip_rotate, '_MAX_MAP_SIDE', 16)
    rng = np.random.default_rng(6)
    for angle in (0., 21., -44.):
        masks = random_masks(rng, 8, 27, 35) * np.uint8(3)
        expected = full_frame_rotation(masks, angle)
        rotated, boxes, _ = clip_rotate.rotate_mask_array(masks, angle)
        assert np.array_equal(rotated, expected)
        assert np.array_equal(boxes, tight_boxes(expected))


@pytest.mark.parametrize('with_boxes', ['tight', 'fractional', 'absent'])
def test_rotate_frame_matches_full_frame_rotation_and_sync(with_boxes):
    """rotate_frame == full-frame rotation + sync_instances_to_masks."""
    from mmvis_pretrain.datasets.transforms.clip_format import \
        sync_instances_to_masks
    rng = np.random.default_rng(8)
    h, w, num = 53, 71, 40
    for angle in (0., 9.5, -30., 45., 90.):
        masks = random_masks(rng, num, h, w)
        masks = masks[masks.any(axis=(1, 2))]  # the clip invariant
        n = len(masks)
        frame = dict(
            img=np.zeros((h, w, 3), np.uint8),
            gt_masks=BitmapMasks(masks, h, w),
            gt_bboxes=tight_boxes(masks),
            gt_bboxes_labels=np.arange(n) % 7,
            gt_instances_ids=np.arange(1, n + 1),
            gt_ignore_flags=np.arange(n) % 3 == 0)
        if with_boxes == 'fractional':  # not the tight boxes: masks scanned
            frame['gt_bboxes'] = frame['gt_bboxes'] * 0.9
        elif with_boxes == 'absent':
            del frame['gt_bboxes']
        expected = dict(frame)
        expected['gt_masks'] = BitmapMasks(
            full_frame_rotation(masks, angle), h, w)
        sync_instances_to_masks(expected)
        out = ClipRotate().rotate_frame(dict(frame), angle)
        assert set(out) == set(expected) | {'homography_matrix'}
        assert np.array_equal(out['gt_masks'].masks,
                              expected['gt_masks'].masks)
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_instances_ids',
                    'gt_ignore_flags'):
            if key in expected:
                assert out[key].dtype == expected[key].dtype, key
                assert np.array_equal(out[key], expected[key]), key
        if angle == 45.:
            assert len(out['gt_instances_ids']) < n  # some left the frame


def test_polygon_masks_are_refused():
    from mmdet.structures.mask import PolygonMasks
    frame = dict(img=np.zeros((H, W, 3), np.uint8),
                 gt_masks=PolygonMasks([[np.array([1., 1, 5, 1, 5, 5])]],
                                       H, W),
                 gt_bboxes=np.array([[1, 1, 5, 5]], np.float32))
    with pytest.raises(TypeError, match='BitmapMasks'):
        ClipRotate().rotate_frame(frame, 5.)


def test_bit_planes_only_for_binary_masks(monkeypatch):
    """The bit-plane warp runs for 0 / 1 masks (and bool), not when a mask
    holds another value (even a single pixel of it)."""
    from mmvis_pretrain.datasets.transforms import clip_rotate
    calls = []
    real = clip_rotate._rotate_bit_planes
    monkeypatch.setattr(clip_rotate, '_rotate_bit_planes',
                        lambda *args: calls.append(1) or real(*args))
    masks = random_masks(np.random.default_rng(8), 5, 33, 47)
    masks[:, 10:20, 10:20] = 1
    for candidate, bit_planes in ((masks, True), (masks.astype(bool), True),
                                  (masks * np.uint8(2), False)):
        calls.clear()
        expected = full_frame_rotation(candidate.view(np.uint8), 9.5)
        rotated = clip_rotate.rotate_mask_array(candidate, 9.5)[0]
        assert np.array_equal(rotated.view(np.uint8), expected)
        assert bool(calls) == bit_planes
    masks[2, 15, 15] = 7
    calls.clear()
    rotated = clip_rotate.rotate_mask_array(masks, -3.0)[0]
    assert not calls
    assert np.array_equal(rotated, full_frame_rotation(masks, -3.0))
