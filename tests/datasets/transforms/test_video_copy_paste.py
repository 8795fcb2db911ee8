"""VideoCopyPaste (VMoSp): eq. 1-2 pixel-exact, smooth trajectory, ids."""
import copy

import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks
from mmengine.dataset import BaseDataset
from mmengine.runner import set_random_seed

from mmvis_pretrain.datasets.transforms import ImageToClip
from mmvis_pretrain.datasets.transforms.clip_format import boxes_of_masks
from mmvis_pretrain.datasets.transforms.video_copy_paste import (
    VideoCopyPaste, paste_matrix)
from mmvis_pretrain.registry import TRANSFORMS

H, W = 40, 60
STATIC = dict(prob=1.0, scale_range=(1.0, 1.0), max_rotation=0,
              max_translation=0, flip_prob=0, min_area=1)
MOVING = dict(prob=1.0, scale_range=(0.7, 1.3), max_rotation=30,
              max_translation=0.3, flip_prob=0.5, min_area=1)


def rect(y0, y1, x0, x1, h=H, w=W):
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def image_sample(masks, labels=None, crowd=None, img=None, seed=0):
    """A decoded image sample as LoadAnnotations gives it."""
    num = len(masks)
    h, w = (masks[0].shape if num else (H, W))
    arr = np.stack(masks) if num else np.zeros((0, h, w), np.uint8)
    bitmap = BitmapMasks(arr, h, w)
    if img is None:
        img = np.random.RandomState(seed).randint(0, 256, (h, w, 3),
                                                  np.uint8)
    return dict(
        img=img, img_id=3, img_path='x.jpg', ori_shape=(h, w),
        img_shape=(h, w), gt_bboxes=boxes_of_masks(bitmap),
        gt_bboxes_labels=np.asarray(
            labels if labels is not None else np.arange(num), np.int64),
        gt_ignore_flags=np.asarray(
            crowd if crowd is not None else np.zeros(num, bool), bool),
        gt_masks=bitmap)


def make_clip(masks, num_frames=3, **kwargs):
    return ImageToClip(num_frames=num_frames)(image_sample(masks, **kwargs))


def three_instances():
    return [rect(5, 25, 5, 30), rect(15, 35, 20, 50), rect(2, 12, 40, 58)]


def run(transform, clip, seed=0):
    set_random_seed(seed)
    return transform(copy.deepcopy(clip))


def frame_masks(out, t):
    """``{id: bool mask (H, W)}`` of frame ``t``."""
    ids = out['gt_instances_ids'][t].tolist()
    return {i: m.astype(bool) for i, m in zip(ids, out['gt_masks'][t].masks)}


def assert_clip_consistent(out):
    """Boxes are the tight boxes of masks, masks non-empty, keys aligned."""
    for t in range(len(out['img'])):
        masks = out['gt_masks'][t]
        n = len(masks)
        assert masks.masks.shape[1:] == out['img'][t].shape[:2]
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_instances_ids',
                    'gt_ignore_flags'):
            assert len(out[key][t]) == n, key
        assert masks.masks.reshape(n, -1).any(axis=1).all()
        np.testing.assert_array_equal(out['gt_bboxes'][t],
                                      boxes_of_masks(masks))
        boxes = out['gt_bboxes'][t]
        assert (boxes >= 0).all() and (boxes[:, 0::2] <= W).all() and \
            (boxes[:, 1::2] <= H).all()
        assert len(set(out['gt_instances_ids'][t].tolist())) == n


def test_registered_and_repr():
    assert TRANSFORMS.get('VideoCopyPaste') is VideoCopyPaste
    assert "source='same'" in repr(VideoCopyPaste())
    with pytest.raises(ValueError):
        VideoCopyPaste(source='elsewhere')
    with pytest.raises(ValueError):
        VideoCopyPaste(scale_range=(1.2, 0.8))
    with pytest.raises(ValueError):
        VideoCopyPaste(prob=2)


def test_static_copy_from_other_image_changes_exactly_the_pasted_region():
    """No motion: all frames equal; pixels differ from the input exactly
    inside the pasted mask, where they are the other image's (eq. 1)."""
    clip = make_clip(three_instances(), labels=[0, 1, 2])
    dst = clip['img'][0]
    src_mask = rect(10, 30, 25, 45)
    mix = image_sample([src_mask], labels=[7], img=255 - dst)
    clip['mix_results'] = [mix]
    out = run(VideoCopyPaste(source='other', **STATIC), clip)
    assert 'mix_results' not in out
    pasted = src_mask.astype(bool)
    for t in range(3):
        np.testing.assert_array_equal(out['img'][t], out['img'][0])
        np.testing.assert_array_equal(out['gt_masks'][t].masks,
                                      out['gt_masks'][0].masks)
        changed = (out['img'][t] != dst).any(axis=-1)
        np.testing.assert_array_equal(changed, pasted)
        np.testing.assert_array_equal(out['img'][t][pasted],
                                      (255 - dst)[pasted])
        masks = frame_masks(out, t)
        np.testing.assert_array_equal(masks[4], pasted)
        assert out['gt_bboxes_labels'][t].tolist() == [0, 1, 2, 7]
        assert out['gt_ignore_flags'][t].tolist() == [False] * 4
    assert_clip_consistent(out)


def test_static_copy_of_single_instance_covers_its_original():
    """One instance is pivot AND occluded: its copy lands exactly on it, so
    the original (id 1) is absent everywhere and the copy (id 2, same label)
    is the only instance; the image is unchanged."""
    clip = make_clip([rect(5, 25, 10, 40)], labels=[5])
    out = run(VideoCopyPaste(**STATIC), clip)
    for t in range(3):
        np.testing.assert_array_equal(out['img'][t], clip['img'][t])
        assert out['gt_instances_ids'][t].tolist() == [2]
        assert out['gt_bboxes_labels'][t].tolist() == [5]
        np.testing.assert_array_equal(out['gt_masks'][t].masks,
                                      clip['gt_masks'][t].masks)
    assert_clip_consistent(out)


def test_partly_covered_original_keeps_the_rest():
    """A moving copy of the only instance: the original keeps exactly the
    pixels the copy does not cover (eq. 2)."""
    clip = make_clip([rect(5, 25, 10, 40)], num_frames=4)
    out = run(VideoCopyPaste(**{**STATIC, 'max_translation': 0.3}), clip,
              seed=3)
    old = clip['gt_masks'][0].masks[0].astype(bool)
    for t in range(4):
        masks = frame_masks(out, t)
        expected = old & ~masks.get(2, np.zeros_like(old))
        if expected.any():
            np.testing.assert_array_equal(masks[1], expected)
        else:
            assert 1 not in masks


@pytest.mark.parametrize('seed', range(6))
def test_occlusion_rule_and_outside_pixels_with_motion(seed):
    """eq. 2 pixel-exactly for every instance and frame; pixels outside the
    copy unchanged; covered instances absent; ids and labels consistent."""
    clip = make_clip(three_instances(), num_frames=5, labels=[3, 4, 5],
                     crowd=[False, False, True])
    out = run(VideoCopyPaste(**MOVING), clip, seed=seed)
    assert_clip_consistent(out)
    new_id = 4
    pivot_label = None
    for t in range(5):
        masks = frame_masks(out, t)
        pasted = masks.get(new_id, np.zeros((H, W), bool))
        np.testing.assert_array_equal(
            out['img'][t][~pasted], clip['img'][t][~pasted])
        for i, old in enumerate(clip['gt_masks'][t].masks, start=1):
            expected = old.astype(bool) & ~pasted
            if expected.any():
                np.testing.assert_array_equal(masks[i], expected)
            else:
                assert i not in masks
        ids = out['gt_instances_ids'][t].tolist()
        labels = dict(zip(ids, out['gt_bboxes_labels'][t].tolist()))
        crowd = dict(zip(ids, out['gt_ignore_flags'][t].tolist()))
        assert all(labels[i] == i + 2 for i in ids if i != new_id)
        if new_id in ids:
            assert crowd[new_id] is False
            assert pivot_label in (None, labels[new_id])
            pivot_label = labels[new_id]
    assert pivot_label in (3, 4)  # crowd instance 3 (label 5) never pivot


@pytest.mark.parametrize('interpolation', ['nearest', 'bilinear'])
@pytest.mark.parametrize('seed', range(4))
def test_pasted_pixels_are_the_transformed_cutout(seed, interpolation):
    """eq. 1 with motion: the other image is colour A inside its pivot and
    colour B outside; every pasted pixel is A (pixels come from I * m only,
    also at the copy's border with bilinear sampling)."""
    clip = make_clip(three_instances(), num_frames=4)
    src_mask = rect(12, 28, 20, 44)
    src_img = np.full((H, W, 3), (10, 20, 30), np.uint8)
    src_img[src_mask.astype(bool)] = (200, 150, 100)
    clip['mix_results'] = [image_sample([src_mask], img=src_img)]
    out = run(VideoCopyPaste(source='other', interpolation=interpolation,
                             **MOVING), clip, seed=seed)
    for t in range(4):
        pasted = frame_masks(out, t)[4]
        assert (out['img'][t][pasted] == (200, 150, 100)).all()
        assert pasted.sum() > 0.4 * src_mask.sum()


def test_other_source_of_another_size_is_fitted_into_the_frame():
    clip = make_clip(three_instances(), num_frames=2)
    big = rect(20, 60, 40, 100, h=2 * H, w=2 * W)
    clip['mix_results'] = [image_sample([big], labels=[9])]
    out = run(VideoCopyPaste(source='other', **STATIC), clip)
    masks = frame_masks(out, 0)
    np.testing.assert_array_equal(masks[4], rect(10, 30, 20, 50))
    assert out['gt_bboxes_labels'][0].tolist()[-1] == 9


def test_other_source_needs_mix_results():
    with pytest.raises(KeyError, match='MultiImageMixDataset'):
        run(VideoCopyPaste(source='other', **STATIC),
            make_clip(three_instances()))


def pasted_centroids(out, copy_id=2):
    """``(T, 2)`` ``(x, y)`` centroids of the copy's mask per frame."""
    cents = []
    for t in range(len(out['img'])):
        ys, xs = np.nonzero(frame_masks(out, t)[copy_id])
        cents.append((xs.mean(), ys.mean()))
    return np.array(cents)


@pytest.mark.parametrize('seed', range(5))
def test_trajectory_moves_at_constant_speed(seed):
    """Translation only: the copy's centroid moves in equal steps (a
    monotonic, straight path) from frame to frame."""
    clip = make_clip([rect(16, 24, 26, 34)], num_frames=6)
    out = run(VideoCopyPaste(**{**STATIC, 'max_translation': 0.25}), clip,
              seed=seed)
    cents = pasted_centroids(out)
    steps = np.diff(cents, axis=0)
    assert np.abs(steps - steps.mean(axis=0)).max() <= 1.0
    for axis in range(2):
        assert (steps[:, axis] >= -1).all() or (steps[:, axis] <= 1).all()


@pytest.mark.parametrize('seed', range(5))
def test_trajectory_steps_are_bounded_with_full_motion(seed):
    """Scale / rotation / shift interpolated: bounded centroid steps and
    slowly changing area (no jumps between frames)."""
    clip = make_clip([rect(14, 26, 22, 38)], num_frames=6)
    out = run(VideoCopyPaste(**{**MOVING, 'max_translation': 0.2}), clip,
              seed=seed)
    cents = pasted_centroids(out)
    max_step = 2 * 0.2 * np.array([W, H]) / 5 + 1.5
    assert (np.abs(np.diff(cents, axis=0)) <= max_step).all()
    areas = np.array([frame_masks(out, t)[2].sum() for t in range(6)])
    assert np.abs(np.diff(areas)).max() <= 0.25 * areas.max()


@pytest.mark.parametrize('seed', range(4))
def test_flip_is_decided_once_per_clip(seed):
    """An asymmetric pivot: every frame shows the same copy, either as is
    or mirrored about its centroid (never a per-frame flip)."""
    shape = rect(10, 20, 20, 30) | rect(20, 30, 30, 40)
    mirrored = rect(10, 20, 30, 40) | rect(20, 30, 20, 30)
    clip = make_clip([shape], num_frames=4)
    out = run(VideoCopyPaste(**{**STATIC, 'flip_prob': 0.5}), clip,
              seed=seed)
    copies = [frame_masks(out, t)[2] for t in range(4)]
    assert any(np.array_equal(copies[0], m.astype(bool))
               for m in (shape, mirrored))
    for copy_t in copies[1:]:
        np.testing.assert_array_equal(copy_t, copies[0])
    out = run(VideoCopyPaste(**{**STATIC, 'flip_prob': 1.0}), clip)
    np.testing.assert_array_equal(frame_masks(out, 3)[2],
                                  mirrored.astype(bool))


def test_paste_matrix_maps_centre_and_rotates_counter_clockwise():
    centre = np.array([10.0, 20.0])
    matrix = paste_matrix(centre, np.array([30.0, 5.0]), 2.0, 90.0, False)
    np.testing.assert_allclose(matrix @ [10, 20, 1], [30, 5])
    # a point right of the centre goes above it (screen y points down)
    np.testing.assert_allclose(matrix @ [11, 20, 1], [30, 3], atol=1e-9)
    flipped = paste_matrix(centre, centre, 1.0, 0.0, True)
    np.testing.assert_allclose(flipped @ [11, 20, 1], [9, 20])


@pytest.mark.parametrize('case', ['empty', 'crowd', 'tiny'])
def test_clip_without_eligible_pivot_is_unchanged(case):
    if case == 'empty':
        clip = make_clip([])
    elif case == 'crowd':
        clip = make_clip(three_instances(), crowd=[True] * 3)
    else:
        clip = make_clip([rect(0, 2, 0, 2), rect(5, 7, 5, 8)])
    transform = VideoCopyPaste(**{**STATIC, 'min_area': 10})
    out = run(transform, clip)
    assert out.keys() == clip.keys()
    for t in range(3):
        np.testing.assert_array_equal(out['img'][t], clip['img'][t])
        np.testing.assert_array_equal(out['gt_masks'][t].masks,
                                      clip['gt_masks'][t].masks)
        np.testing.assert_array_equal(out['gt_instances_ids'][t],
                                      clip['gt_instances_ids'][t])
        np.testing.assert_array_equal(out['gt_bboxes'][t],
                                      clip['gt_bboxes'][t])


def test_prob_zero_is_identity():
    clip = make_clip(three_instances())
    out = run(VideoCopyPaste(**{**MOVING, 'prob': 0.0}), clip)
    assert out['gt_instances_ids'][0].tolist() == [1, 2, 3]


def test_single_frame_clip():
    clip = make_clip(three_instances(), num_frames=1)
    out = run(VideoCopyPaste(**MOVING), clip, seed=1)
    assert len(out['img']) == 1 and 4 in out['gt_instances_ids'][0]
    assert_clip_consistent(out)


def test_deterministic_for_a_seed():
    clip = make_clip(three_instances(), num_frames=3)
    transform = VideoCopyPaste(**MOVING)
    first, second = run(transform, clip, 5), run(transform, clip, 5)
    outputs = [run(transform, clip, s) for s in range(5)]
    for t in range(3):
        np.testing.assert_array_equal(first['img'][t], second['img'][t])
        np.testing.assert_array_equal(first['gt_masks'][t].masks,
                                      second['gt_masks'][t].masks)
    assert any(not np.array_equal(o['img'][1], outputs[0]['img'][1])
               for o in outputs[1:])


def test_input_clip_is_not_modified():
    clip = make_clip(three_instances())
    before = copy.deepcopy(clip)
    set_random_seed(0)
    VideoCopyPaste(**MOVING)(clip)
    for t in range(3):
        np.testing.assert_array_equal(clip['img'][t], before['img'][t])
        np.testing.assert_array_equal(clip['gt_masks'][t].masks,
                                      before['gt_masks'][t].masks)


class _Images(BaseDataset):
    """In-memory image samples (already decoded) for MultiImageMixDataset."""

    def __init__(self, samples):
        self._samples = samples
        super().__init__(serialize_data=False, pipeline=[])

    def load_data_list(self):
        return self._samples


def test_multi_image_mix_dataset_protocol():
    """source='other' under mmdet's MultiImageMixDataset: the wrapper
    fetches the index from get_indexes and drops mix_results."""
    from mmdet.datasets import MultiImageMixDataset

    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    samples = [image_sample(three_instances(), labels=[0, 1, 2], seed=s)
               for s in range(3)]
    dataset = MultiImageMixDataset(
        dataset=_Images(samples),
        pipeline=[dict(type='mmvis_pretrain.ImageToClip', num_frames=2),
                  dict(type='mmvis_pretrain.VideoCopyPaste',
                       source='other', **STATIC)])
    set_random_seed(0)
    out = dataset[1]
    assert 'mix_results' not in out and len(out['img']) == 2
    assert out['gt_instances_ids'][0].tolist()[-1] == 4
    assert VideoCopyPaste().get_indexes(dataset.dataset) == []
    index = VideoCopyPaste(source='other').get_indexes(dataset.dataset)
    assert len(index) == 1 and 0 <= index[0] < 3


def test_per_frame_mode_pastes_a_separate_copy_into_each_frame():
    """per_frame=True (table 3, "Image"): each frame gets its own copy with
    its own new id, present in that frame only."""
    from mmengine.runner import set_random_seed
    from mmdet.structures.mask import BitmapMasks as _BM

    from mmvis_pretrain.datasets.transforms import (ImageToClip,
                                                    VideoCopyPaste)
    h, w = 48, 64
    masks = np.zeros((2, h, w), np.uint8)
    masks[0, 5:25, 5:30] = 1
    masks[1, 20:45, 30:60] = 1
    sample = dict(
        img=np.random.RandomState(1).randint(0, 255, (h, w, 3), np.uint8),
        img_id=3, img_shape=(h, w), ori_shape=(h, w),
        gt_bboxes=np.array([[5, 5, 30, 25], [30, 20, 60, 45]], np.float32),
        gt_bboxes_labels=np.array([0, 1]), gt_ignore_flags=np.zeros(2, bool),
        gt_masks=_BM(masks, h, w))
    clip = ImageToClip(num_frames=3)(sample)
    set_random_seed(0)
    out = VideoCopyPaste(prob=1.0, min_area=16, per_frame=True)(clip)
    new_ids = []
    for ids in out['gt_instances_ids']:
        extra = sorted(set(ids.tolist()) - {1, 2})
        assert len(extra) == 1  # one copy in this frame
        new_ids.append(extra[0])
    assert new_ids == [3, 4, 5]  # a separate instance per frame
    assert 'per_frame=True' in repr(VideoCopyPaste(per_frame=True))


# --- the windowed implementation and the clip image buffer -----------------

def test_paste_source_centre_and_box_equal_a_full_scan():
    """PasteSource reads the mask on its bounding box: the centroid (mean
    pixel coordinates, float64) and the 1-pixel-margin box must equal the
    full-image computation exactly."""
    from mmvis_pretrain.datasets.transforms.video_copy_paste import \
        PasteSource
    rng = np.random.RandomState(3)
    masks = [rect(0, 1, 0, 1), rect(H - 1, H, W - 1, W), rect(0, H, 0, W)]
    for _ in range(20):
        mask = np.zeros((H, W), bool)
        y0, x0 = rng.randint(0, H - 2), rng.randint(0, W - 2)
        mask[y0:, x0:] = rng.rand(H - y0, W - x0) < rng.uniform(.05, .9)
        mask[y0, x0] = True
        masks.append(mask)
    for mask in masks:
        source = PasteSource(img=np.zeros((H, W, 3), np.uint8),
                             mask=mask.astype(bool), label=1)
        ys, xs = np.nonzero(mask)
        assert source.centre.dtype == np.float64
        assert source.centre[0] == xs.mean() and source.centre[1] == ys.mean()
        assert source.box == (max(xs.min() - 1, 0), max(ys.min() - 1, 0),
                              min(xs.max() + 2, W), min(ys.max() + 2, H))
    with pytest.raises(ValueError, match='non-empty'):
        PasteSource(img=np.zeros((H, W, 3), np.uint8),
                    mask=np.zeros((H, W), bool), label=0)


@pytest.mark.parametrize('interpolation', ['nearest', 'bilinear'])
def test_window_functions_equal_the_full_frame_ones(interpolation):
    """warp_cutout / paste_into_frame (full-frame arrays) and their window
    versions give the same frames; ``out`` receives the new image."""
    from mmvis_pretrain.datasets.transforms.clip_format import split_clip
    from mmvis_pretrain.datasets.transforms.video_copy_paste import (
        PasteSource, paste_into_frame, paste_window_into_frame,
        warp_cutout, warp_cutout_window)
    clip = make_clip(three_instances(), num_frames=1)
    source = PasteSource(img=clip['img'][0],
                         mask=three_instances()[1].astype(bool), label=1)
    rng = np.random.RandomState(0)
    for case in range(12):
        dst_centre = source.centre + rng.uniform(-25, 25, 2)
        if case == 0:  # the copy misses the frame entirely
            dst_centre = source.centre + (200, 0)
        matrix = paste_matrix(source.centre, dst_centre,
                              rng.uniform(.6, 1.4), rng.uniform(-40, 40),
                              bool(case % 2))
        img, mask = warp_cutout(source, matrix, (H, W), interpolation)
        window = warp_cutout_window(source, matrix, (H, W), interpolation)
        expected = paste_into_frame(split_clip(clip)[0], img, mask, 1, 9)
        if window is None:
            assert not mask.any()
            continue
        img_w, mask_w, (x0, y0) = window
        hw, ww = mask_w.shape
        assert np.array_equal(mask[y0:y0 + hw, x0:x0 + ww], mask_w)
        assert mask.sum() == mask_w.sum()
        assert np.array_equal(img[y0:y0 + hw, x0:x0 + ww][mask_w],
                              img_w[mask_w])
        out = np.full((H, W, 3), 77, np.uint8)
        actual = paste_window_into_frame(split_clip(clip)[0], img_w, mask_w,
                                         (x0, y0), 1, 9, out=out)
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_instances_ids',
                    'gt_ignore_flags'):
            np.testing.assert_array_equal(actual[key], expected[key])
        assert np.array_equal(actual['gt_masks'].masks,
                              expected['gt_masks'].masks)
        assert np.array_equal(actual['img'], expected['img'])
        if mask.any():
            assert actual['img'] is out


@pytest.mark.parametrize('num_frames', [1, 3, 5])
def test_pasted_frames_share_one_buffer_the_packer_takes(num_frames):
    """Every frame's new image is a slice of one (T, H, W, C) buffer, also
    frames the copy misses: stack_frames packs it without a copy."""
    from mmvis_pretrain.datasets.transforms.clip_format import stack_frames
    clip = make_clip(three_instances(), num_frames=num_frames)
    moving = dict(MOVING, max_translation=0.9)  # often leaves the frame
    for seed in range(6):
        out = run(VideoCopyPaste(**moving), clip, seed=seed)
        images = out['img']
        stacked = stack_frames(images)
        assert stacked.shape == (num_frames, H, W, 3)
        assert all(np.shares_memory(stacked, img) for img in images)
        assert np.array_equal(stacked, np.stack(images))
        assert not np.shares_memory(stacked, clip['img'][0])
