"""CoSt + VMoSp together, on the synthetic COCO set, through mmdet's
loading and packing: the pseudo-video pipeline of the configs."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import set_random_seed

from conftest import REPO

PHOTOMETRIC = ('Identity', 'AutoContrast', 'Equalize', 'GaussianBlur',
               'Contrast', 'Sharpness', 'Color', 'Brightness', 'Hue',
               'Posterize', 'Solarize')


def _dataset(synthetic_root, pipeline):
    from mmvis_pretrain.registry import DATASETS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return DATASETS.build(
        dict(type='SyntheticCocoDataset',
             data_root=osp.join(synthetic_root, 'coco') + '/',
             ann_file='annotations/instances_train.json',
             data_prefix=dict(img='train/'),
             filter_cfg=dict(filter_empty_gt=True), pipeline=pipeline))


def _pipeline(copy_paste, num_frames=4):
    steps = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='ImageToClip', num_frames=num_frames),
        dict(type='VideoAutoAugment', k_max=3, pool=PHOTOMETRIC),
    ]
    if copy_paste:
        steps.append(
            dict(type='VideoCopyPaste', prob=1.0, scale_range=(1.0, 1.0),
                 max_rotation=0.0, max_translation=0.0, flip_prob=0.0,
                 min_area=16))
    return steps + [dict(type='PackTrackInputs')]


def _packed(dataset, idx, seed):
    set_random_seed(seed)
    return dataset[idx]


@pytest.mark.parametrize('idx', [0, 1, 2, 3])
def test_without_motion_frames_equal_but_for_the_paste(synthetic_root, idx):
    plain = _dataset(synthetic_root, _pipeline(copy_paste=False))
    pasted = _dataset(synthetic_root, _pipeline(copy_paste=True))
    a, b = _packed(plain, idx, 7), _packed(pasted, idx, 7)
    frames_a, frames_b = a['inputs'].numpy(), b['inputs'].numpy()
    # no rotation and no paste motion: every frame is the same picture
    assert all(np.array_equal(frames_b[0], f) for f in frames_b[1:])
    assert all(np.array_equal(frames_a[0], f) for f in frames_a[1:])
    # the paste changed pixels only inside the pasted instance's mask
    new_ids = set(b['data_samples'][0].gt_instances.instances_ids.tolist()) \
        - set(a['data_samples'][0].gt_instances.instances_ids.tolist())
    assert len(new_ids) == 1
    inst = b['data_samples'][0].gt_instances
    paste_mask = inst.masks.masks[inst.instances_ids.tolist().index(
        new_ids.pop())].astype(bool)
    changed = (frames_a[0] != frames_b[0]).any(axis=0)
    assert not changed[~paste_mask].any()


def test_ids_and_labels_consistent_across_frames(synthetic_root):
    dataset = _dataset(synthetic_root, _pipeline(copy_paste=True))
    for seed in range(3):
        sample = _packed(dataset, seed, seed)['data_samples']
        label_of = {}
        for frame in sample:
            inst = frame.gt_instances
            assert len(set(inst.instances_ids.tolist())) == len(inst)
            for i, lab in zip(inst.instances_ids.tolist(),
                              inst.labels.tolist()):
                assert label_of.setdefault(i, lab) == lab


def test_synthetic_pseudo_video_config(synthetic_root):
    """The config's clips: 3 frames, masks inside the frame, boxes = tight
    boxes of the masks, deterministic for a seed."""
    from mmvis_pretrain.registry import DATASETS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/synthetic_pseudo_video.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = osp.join(synthetic_root, 'coco') + '/'
    dataset = DATASETS.build(ds_cfg)
    first = _packed(dataset, 1, 3)
    again = _packed(dataset, 1, 3)
    assert np.array_equal(first['inputs'].numpy(), again['inputs'].numpy())
    assert len(first['data_samples']) == 3
    for frame in first['data_samples']:
        inst = frame.gt_instances
        h, w = frame.img_shape
        assert inst.masks.masks.shape[1:] == (h, w)
        for mask, box in zip(inst.masks.masks, inst.bboxes.numpy()):
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1,
                                    ys.max() + 1]
