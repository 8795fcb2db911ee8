"""VideoAutoAugment (CoSt): one draw of ops per clip, the same on all
frames; slow rotation; per-frame mode for the table 3 ablation."""
import cv2
import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms import ImageToClip
from mmvis_pretrain.datasets.transforms.clip_rotate import ClipRotate
from mmvis_pretrain.datasets.transforms.video_auto_augment import (
    DEFAULT_MAGNITUDES, DEFAULT_POOL, VideoAutoAugment, build_color_op)
from mmvis_pretrain.registry import TRANSFORMS

H, W = 24, 32
PHOTOMETRIC = [name for name in DEFAULT_POOL if name != 'Rotation']


def image_sample(num=3, with_masks=True, img=None):
    """Instance 1: centre block; 2: 2x2 corner block (rotates out at
    >= 7.5 degrees); 3: right-side block."""
    masks = np.zeros((3, H, W), dtype=np.uint8)
    masks[0, 8:16, 10:22] = 1
    masks[1, 0:2, 0:2] = 1
    masks[2, 4:10, 24:30] = 1
    if img is None:
        img = np.random.RandomState(0).randint(0, 256, (H, W, 3), np.uint8)
    sample = dict(
        img=img, img_id=9, img_shape=(H, W), ori_shape=(H, W),
        gt_bboxes=np.array([[10, 8, 22, 16], [0, 0, 2, 2], [24, 4, 30, 10]],
                           np.float32)[:num],
        gt_bboxes_labels=np.array([1, 2, 3])[:num],
        gt_ignore_flags=np.zeros(num, bool))
    if with_masks:
        sample['gt_masks'] = BitmapMasks(masks[:num], H, W)
    return sample


def clip_of(num_frames=3, **kwargs):
    return ImageToClip(num_frames)(image_sample(**kwargs))


def low_contrast_image(h=H, w=W):
    """Values in 90..150, colourful: room for every op to act."""
    rng = np.random.RandomState(1)
    img = rng.randint(90, 151, (h, w, 3)).astype(np.uint8)
    img[:, :, 2] = np.clip(img[:, :, 2].astype(int) + 40, 0, 255)
    return img


def laplacian_energy(img):
    return np.abs(cv2.Laplacian(img.astype(np.float32), -1)).mean()


def gray_std(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).std()


def cdf_distance_to_uniform(channel):
    """KS distance between the values of ``channel`` and U{0..255}."""
    hist = np.bincount(channel.ravel(), minlength=256)
    cdf = np.cumsum(hist) / hist.sum()
    return np.abs(cdf - np.arange(1, 257) / 256).max()


def check_identity(before, after):
    assert np.array_equal(after, before)


def check_autocontrast(before, after):
    assert after.reshape(-1, 3).min(0).tolist() == [0, 0, 0]
    assert after.reshape(-1, 3).max(0).tolist() == [255, 255, 255]


def check_equalize(before, after):  # per channel, (nearly) uniform
    for c in range(3):
        assert cdf_distance_to_uniform(before[..., c]) > 0.4
        assert cdf_distance_to_uniform(after[..., c]) < 0.05


def check_blurred(before, after):
    assert laplacian_energy(after) < 0.7 * laplacian_energy(before)


def check_contrast(before, after):
    assert gray_std(after) < 0.5 * gray_std(before)


def check_color(before, after):  # magnitude 0: grey
    assert np.abs(after.astype(int) - after[..., :1]).max() <= 1
    assert np.abs(before.astype(int) - before[..., :1]).max() > 10


def check_brightness(before, after):
    assert after.mean() == pytest.approx(0.5 * before.mean(), rel=0.02)


def check_hue(before, after):
    hsv_b = cv2.cvtColor(before, cv2.COLOR_BGR2HSV_FULL).astype(int)
    hsv_a = cv2.cvtColor(after, cv2.COLOR_BGR2HSV_FULL).astype(int)
    shift = (hsv_a[..., 0] - hsv_b[..., 0]) % 256
    assert np.median(shift) == 64  # a quarter turn
    assert np.abs(hsv_a[..., 2] - hsv_b[..., 2]).max() <= 1  # value kept


def check_posterize(before, after):  # 4 bits
    assert np.all(after % 16 == 0)
    assert len(np.unique(after)) < len(np.unique(before))


def check_solarize(before, after):  # threshold 120
    expected = np.where(before < 120, before, 255 - before)
    assert np.array_equal(after, expected)


#: op -> (fixed magnitude, property check on one frame)
OP_CASES = {
    'Identity': (None, check_identity),
    'AutoContrast': (None, check_autocontrast),
    'Equalize': (None, check_equalize),
    'GaussianBlur': (1.5, check_blurred),
    'Contrast': (0.3, check_contrast),
    'Sharpness': (0.0, check_blurred),
    'Color': (0.0, check_color),
    'Brightness': (0.5, check_brightness),
    'Hue': (0.25, check_hue),
    'Posterize': (4, check_posterize),
    'Solarize': (120.0, check_solarize),
}


@pytest.mark.parametrize('name', PHOTOMETRIC)
def test_each_photometric_op_applies_identically(name):
    mag, check = OP_CASES[name]
    magnitudes = None if mag is None else {name: (mag, mag)}
    vaa = VideoAutoAugment(pool=[name], k_max=1, magnitudes=magnitudes)
    img = low_contrast_image(64, 96)  # enough pixels for Equalize's LUT
    out = vaa(ImageToClip(3)(dict(img=img, img_id=1)))
    assert out['auto_aug_ops'][0] == [(name, None if mag is None else
                                       float(mag))]
    reference = build_color_op(name, mag)(dict(img=img.copy()))['img']
    for frame in out['img']:
        assert np.array_equal(frame, reference)  # same op on every frame
        assert frame.dtype == np.uint8 and frame.shape == img.shape
    check(img, out['img'][0])
    if name != 'Identity':
        assert not np.array_equal(out['img'][0], img)


def test_rotation_op_turns_the_clip_slowly():
    vaa = VideoAutoAugment(pool=['Rotation'], k_max=1)
    for seed in range(10):
        np.random.seed(seed)
        clip = clip_of(4)
        original = clip['img'][0].copy()
        out = vaa(clip)
        angles = [ops[0][1] for ops in out['auto_aug_ops']]
        assert all(ops[0][0] == 'Rotation' for ops in out['auto_aug_ops'])
        steps = np.diff(angles)
        assert np.all(steps >= 0) or np.all(steps <= 0)
        assert np.all(np.abs(angles) <= 15) and np.all(np.abs(steps) <= 5)
        # same result as an explicit clip rotation with those angles
        expected = ClipRotate().rotate_clip(clip_of(4), angles)
        for t in range(4):
            assert np.array_equal(out['img'][t], expected['img'][t])
            assert np.array_equal(out['gt_masks'][t].masks,
                                  expected['gt_masks'][t].masks)
            assert out['img'][t].shape == original.shape


def test_clip_mode_photometric_frames_byte_identical():
    vaa = VideoAutoAugment(pool=PHOTOMETRIC)
    masks = clip_of(1)['gt_masks'][0].masks
    for seed in range(20):
        set_random_seed(seed)
        out = vaa(clip_of(3))
        assert out['auto_aug_ops'][0] == out['auto_aug_ops'][1] == \
            out['auto_aug_ops'][2]
        assert np.array_equal(out['img'][0], out['img'][1])
        assert np.array_equal(out['img'][0], out['img'][2])
        # photometric ops leave the annotations alone
        for t in range(3):
            assert np.array_equal(out['gt_masks'][t].masks, masks)
            assert out['gt_instances_ids'][t].tolist() == [1, 2, 3]


def test_clip_mode_photometric_pool_changes_the_image():
    pool = [name for name in PHOTOMETRIC if name != 'Identity']
    vaa = VideoAutoAugment(pool=pool, magnitudes=dict(
        GaussianBlur=(0.6, 2.0), Solarize=(1.0, 200.0)))
    for seed in range(20):
        set_random_seed(seed)
        clip = clip_of(2)
        original = clip['img'][0].copy()
        out = vaa(clip)
        assert not np.array_equal(out['img'][0], original)


def test_full_pool_every_frame_same_photometric_then_own_angle():
    """With Rotation drawn, frame t = rotate(photometric(image), angle_t)
    with one photometric result for all frames."""
    vaa = VideoAutoAugment()
    seen_rotation = 0
    for seed in range(30):
        set_random_seed(seed)
        clip = clip_of(3)
        img = clip['img'][0].copy()
        out = vaa(clip)
        ops = out['auto_aug_ops'][0]
        photometric = dict(img=img)
        for name, mag in ops:
            if name != 'Rotation':
                photometric = build_color_op(name, mag)(photometric)
        for t in range(3):
            frame_ops = out['auto_aug_ops'][t]
            assert [n for n, _ in frame_ops] == [n for n, _ in ops]
            if frame_ops[-1][0] == 'Rotation':
                expected = ClipRotate().rotate_clip(
                    dict(img=[photometric['img'].copy()]),
                    [frame_ops[-1][1]])['img'][0]
            else:
                expected = photometric['img']
            assert np.array_equal(out['img'][t], expected)
        seen_rotation += ops[-1][0] == 'Rotation'
    assert seen_rotation > 0


def test_k_in_range_ops_distinct_and_all_reachable():
    vaa = VideoAutoAugment()
    np.random.seed(0)
    ks, names = set(), set()
    for _ in range(300):
        ops = vaa.sample_ops(3)
        op_names = [name for name, _ in ops]
        assert 1 <= len(ops) <= 3 and len(set(op_names)) == len(op_names)
        ks.add(len(ops))
        names.update(op_names)
        for name, mag in ops:
            bounds = DEFAULT_MAGNITUDES.get(name)
            if name == 'Rotation':
                assert mag.shape == (3, ) and np.all(np.abs(mag) <= 15)
            elif bounds is None:
                assert mag is None
            else:
                assert bounds[0] <= mag <= bounds[1]
    assert ks == {1, 2, 3}
    assert names == set(DEFAULT_POOL) and len(DEFAULT_POOL) == 12
    assert len(VideoAutoAugment(pool=['Hue', 'Color'], k_max=5)
               .sample_ops(1)) <= 2


def test_posterize_magnitude_is_integer_bits():
    vaa = VideoAutoAugment(pool=['Posterize'], k_max=1)
    np.random.seed(0)
    bits = {vaa.sample_ops(2)[0][1] for _ in range(100)}
    assert bits == {4.0, 5.0, 6.0, 7.0}


def test_per_frame_mode_draws_per_frame():
    pool = [name for name in PHOTOMETRIC if name != 'Identity']
    vaa = VideoAutoAugment(pool=pool, per_frame=True)
    differing = 0
    for seed in range(10):
        set_random_seed(seed)
        out = vaa(clip_of(3))
        if out['auto_aug_ops'][0] != out['auto_aug_ops'][1]:
            differing += 1
            assert not np.array_equal(out['img'][0], out['img'][1])
    assert differing >= 8
    # per-frame rotation: free angles, not a monotonic slow turn
    rotate = VideoAutoAugment(pool=['Rotation'], k_max=1, per_frame=True)
    jumps = []
    for seed in range(20):
        np.random.seed(seed)
        out = rotate(clip_of(5))
        angles = [ops[0][1] for ops in out['auto_aug_ops']]
        assert np.all(np.abs(angles) <= 15)
        assert len(out['homography_matrix']) == 5
        jumps.append(np.abs(np.diff(angles)).max())
    assert max(jumps) > 5


def test_seeded_runs_are_identical():
    vaa = VideoAutoAugment()
    outs = []
    for seed in (3, 3, 4):
        set_random_seed(seed)
        outs.append(vaa(clip_of(3)))
    first, again, other = outs
    assert first['auto_aug_ops'] == again['auto_aug_ops']
    for t in range(3):
        assert np.array_equal(first['img'][t], again['img'][t])
        assert np.array_equal(first['gt_masks'][t].masks,
                              again['gt_masks'][t].masks)
        assert np.array_equal(first['gt_instances_ids'][t],
                              again['gt_instances_ids'][t])
    assert first['auto_aug_ops'] != other['auto_aug_ops']


def test_instances_consistent_after_rotation():
    vaa = VideoAutoAugment(pool=['Rotation', 'Equalize'], k_max=2,
                           rotate_max_step=None)
    absent_somewhere = False
    for seed in range(40):
        np.random.seed(seed)
        out = vaa(clip_of(3))
        for t in range(3):
            ids = out['gt_instances_ids'][t]
            masks, boxes = out['gt_masks'][t], out['gt_bboxes'][t]
            assert set(ids.tolist()) <= {1, 2, 3}
            assert out['gt_bboxes_labels'][t].tolist() == ids.tolist()
            assert len(masks) == len(boxes) == len(ids)
            assert masks.masks.shape[1:] == (H, W)
            assert np.all(masks.masks.reshape(len(ids), -1).any(1))
            assert np.array_equal(boxes,
                                  masks.get_bboxes('hbox').numpy())
        present = [2 in ids for ids in out['gt_instances_ids']]
        absent_somewhere |= any(present) and not all(present)
    assert absent_somewhere  # the corner block left some frames only


def test_single_frame_empty_and_image_only_clips():
    vaa = VideoAutoAugment()
    images_only = dict(img=low_contrast_image(), img_id=1)
    for seed in range(15):
        set_random_seed(seed)
        out = vaa(clip_of(1))
        assert len(out['img']) == 1 and len(out['auto_aug_ops']) == 1
        out = vaa(clip_of(3, num=0))
        assert all(len(ids) == 0 for ids in out['gt_instances_ids'])
        assert all(m.masks.shape == (0, H, W) for m in out['gt_masks'])
        out = vaa(ImageToClip(2)(dict(images_only)))
        assert set(out) >= {'img', 'auto_aug_ops'} and len(out['img']) == 2
        out = VideoAutoAugment(per_frame=True)(clip_of(4))
        assert all(len(v) == 4 for v in out.values())
        out = vaa(clip_of(2, with_masks=False))
        assert all(len(b) == len(i) for b, i in
                   zip(out['gt_bboxes'], out['gt_instances_ids']))


def test_registry_pipeline_packs_a_track_sample():
    pipeline = [
        TRANSFORMS.build(dict(type='ImageToClip', num_frames=3)),
        TRANSFORMS.build(dict(type='VideoAutoAugment', k_max=3)),
        TRANSFORMS.build(dict(type='PackTrackInputs')),
    ]
    set_random_seed(0)
    results = image_sample()
    for transform in pipeline:
        results = transform(results)
    assert tuple(results['inputs'].shape) == (3, 3, H, W)
    frames = results['data_samples'].video_data_samples
    assert len(frames) == 3
    assert frames[0].gt_instances.instances_ids.tolist()[0] == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match='pool'):
        VideoAutoAugment(pool=['Invert'])
    with pytest.raises(ValueError, match='pool'):
        VideoAutoAugment(pool=['Hue', 'Hue'])
    with pytest.raises(ValueError):
        VideoAutoAugment(k_max=0)
    with pytest.raises(ValueError, match='Color'):
        VideoAutoAugment(magnitudes=dict(Color=(0.5, 3.0)))
    with pytest.raises(ValueError, match='Rotation'):
        VideoAutoAugment(magnitudes=dict(Rotation=(0, 10)))
    with pytest.raises(ValueError):
        VideoAutoAugment(magnitudes=dict(Hue=(0.3, 0.1)))
