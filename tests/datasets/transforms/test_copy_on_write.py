"""The copy-on-write contract of clip transforms and its debug switch
(``MMVIS_CHECK_COW=1`` / ``CheckCopyOnWrite``)."""
import copy
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose as DatasetCompose
from mmengine.runner import set_random_seed

from conftest import REPO
from mmvis_pretrain.datasets.transforms import copy_on_write as cow
from mmvis_pretrain.datasets.transforms.copy_on_write import (
    ENV_VAR, CheckCopyOnWrite, CopyOnWriteCompose, CopyOnWriteError,
    SharedSnapshot)


@pytest.fixture(autouse=True)
def _registered():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()


@pytest.fixture
def switch(monkeypatch):
    """``switch(on)``: set or unset ``MMVIS_CHECK_COW`` and apply it as the
    import does; the previous state comes back after the test."""
    was_on = cow.copy_on_write_check_enabled()

    def apply(on: bool) -> bool:
        if on:
            monkeypatch.setenv(ENV_VAR, '1')
        else:
            monkeypatch.delenv(ENV_VAR, raising=False)
        cow.disable_copy_on_write_check()
        return cow.enable_from_env()

    yield apply
    cow.disable_copy_on_write_check()
    if was_on:
        cow.enable_copy_on_write_check()


def _dataset(synthetic_root, pipeline):
    from mmvis_pretrain.registry import DATASETS
    return DATASETS.build(
        dict(type='SyntheticCocoDataset',
             data_root=osp.join(synthetic_root, 'coco') + '/',
             ann_file='annotations/instances_train.json',
             data_prefix=dict(img='train/'),
             filter_cfg=dict(filter_empty_gt=True), pipeline=pipeline))


def _config_pipeline(name, key='train_pipeline'):
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets', name))
    return copy.deepcopy(cfg[key])


def _small_lsj(pipeline, size=(192, 192)):
    """coco_pseudo_video.py's LSJ at a size for the 160 x 120 images."""
    for step in pipeline:
        if step['type'] == 'RandomResize':
            step['scale'] = size
        elif step['type'] == 'RandomCrop':
            step['crop_size'] = size
    return pipeline


#: Every clip transform at probability 1, clip and per-frame modes, mmdet's
#: per-frame transforms through TransformBroadcaster, both packers' input.
STRESS = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='ImageToClip', num_frames=4),
    dict(type='VideoAutoAugment', k_max=2,
         pool=('Identity', 'Equalize', 'Hue', 'Sharpness')),
    dict(type='VideoAutoAugment', k_max=3, per_frame=True),
    dict(type='ClipRotate', max_angle=10, prob=1.0),
    dict(type='VideoCopyPaste', prob=1.0, min_area=4),
    dict(type='VideoCopyPaste', prob=1.0, min_area=4, per_frame=True),
    dict(type='ClipPanCrop', crop_size=(0.6, 0.6), crop_type='relative',
         prob=1.0, spacing='random'),
    dict(type='TransformBroadcaster', share_random_params=True,
         transforms=[dict(type='Resize', scale=(96, 72), keep_ratio=True),
                     dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackClipInputs'),
]


def _pipelines():
    yield 'synthetic_pseudo_video', _config_pipeline(
        'synthetic_pseudo_video.py')
    yield 'synthetic_pseudo_video_joint', _config_pipeline(
        'synthetic_pseudo_video_joint.py', 'pseudo_video_pipeline')
    yield 'coco_pseudo_video', _small_lsj(
        _config_pipeline('coco_pseudo_video.py'))
    yield 'stress', copy.deepcopy(STRESS)


@pytest.mark.parametrize('name,pipeline', list(_pipelines()),
                         ids=[name for name, _ in _pipelines()])
def test_pseudo_video_pipelines_keep_the_contract(synthetic_root, switch,
                                                  monkeypatch, name,
                                                  pipeline):
    """With the switch on, the whole pseudo-video pipelines of the configs
    run over every sample and several seeds without a violation, and give
    exactly the output of the unchecked pipeline."""
    assert not switch(False)
    plain = _dataset(synthetic_root, pipeline)
    assert switch(True)
    checked = _dataset(synthetic_root, pipeline)
    assert type(checked.pipeline) is CopyOnWriteCompose
    # count the checks that found shared arrays: the check is not vacuous
    found = []
    take = SharedSnapshot.take

    def counting_take(results):
        snapshot = take(results)
        found.append(snapshot is not None and bool(snapshot.arrays))
        return snapshot

    monkeypatch.setattr(SharedSnapshot, 'take', staticmethod(counting_take))
    for idx in range(len(checked)):
        for seed in (0, 1, 2):
            set_random_seed(seed)
            out = checked[idx]
            set_random_seed(seed)
            ref = plain[idx]
            assert np.array_equal(out['inputs'].numpy(), ref['inputs'].numpy())
            for a, b in zip(out['data_samples'], ref['data_samples']):
                assert np.array_equal(a.gt_instances.masks.masks,
                                      b.gt_instances.masks.masks)
                assert a.gt_instances.bboxes.equal(b.gt_instances.bboxes)
    assert sum(found) >= len(checked)


class WriteIntoFrame:
    """A bad clip transform: writes in place into frame ``frame``'s image."""

    def __init__(self, frame=0):
        self.frame = frame

    def __call__(self, results):
        results['img'][self.frame][...] = 0
        return results


def _clip_pipeline(bad, at=3, num_frames=3):
    steps = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='ImageToClip', num_frames=num_frames),
        dict(type='VideoAutoAugment', k_max=2, pool=('Identity', 'Hue')),
        dict(type='PackClipInputs'),
    ]
    steps.insert(at, bad)
    return steps


def test_the_switch_catches_an_in_place_write(synthetic_root, switch):
    """A transform that writes into frame 0's image, which the 3 frames
    share, is named with its index in the pipeline, the key and frames."""
    switch(True)
    dataset = _dataset(synthetic_root, _clip_pipeline(WriteIntoFrame(0)))
    with pytest.raises(CopyOnWriteError) as info:
        dataset[0]
    message = str(info.value)
    assert 'transform 3 (WriteIntoFrame)' in message
    assert "'img' (frames [0, 1, 2])" in message
    assert 'bytes changed' in message
    # after the photometric ops (one shared result image) too
    dataset = _dataset(synthetic_root, _clip_pipeline(WriteIntoFrame(2), 4))
    with pytest.raises(CopyOnWriteError,
                       match=r"transform 4 \(WriteIntoFrame\).*'img' "
                             r'\(frames \[0, 1, 2\]\)'):
        dataset[1]


def test_without_the_switch_the_write_goes_unnoticed(synthetic_root,
                                                     switch):
    switch(False)
    dataset = _dataset(synthetic_root, _clip_pipeline(WriteIntoFrame(0)))
    out = dataset[0]['inputs'].numpy()
    assert not out.any()  # every frame blanked by a write into frame 0


def test_the_switch_is_not_installed_when_off(synthetic_root, switch):
    """Off, nothing is installed: the dataset pipeline is mmengine's plain
    Compose and holds the configured transforms only (zero cost)."""
    assert not switch(False)
    assert not cow.copy_on_write_check_enabled()
    dataset = _dataset(synthetic_root, _config_pipeline(
        'synthetic_pseudo_video.py'))
    assert type(dataset.pipeline) is DatasetCompose
    assert not cow.pipeline_is_checked(dataset.pipeline)
    assert [type(t).__name__ for t in dataset.pipeline.transforms] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomFlip', 'Resize',
        'ImageToClip', 'VideoAutoAugment', 'VideoCopyPaste',
        'PackClipInputs']
    # the values that turn it on, and the others
    assert cow.env_switch_on({ENV_VAR: 'true'})
    assert not cow.env_switch_on({ENV_VAR: '0'})
    assert not cow.env_switch_on({})


def test_environment_variable_is_read_at_import():
    """``MMVIS_CHECK_COW=1`` at import installs the check (a fresh process;
    the off case is this process, see the test above)."""
    code = ('import mmengine.dataset.base_dataset as b\n'
            'import mmvis_pretrain.datasets.transforms\n'
            'print(b.Compose.__name__)\n')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env[ENV_VAR] = '1'
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == 'CopyOnWriteCompose'


def _shared_clip(num_frames=2, h=20, w=30):
    from mmvis_pretrain.datasets.transforms import ImageToClip
    from mmdet.structures.mask import BitmapMasks
    masks = np.zeros((2, h, w), np.uint8)
    masks[0, 2:8, 3:12] = 1
    masks[1, 5:15, 14:20] = 1
    sample = dict(
        img=np.random.RandomState(0).randint(0, 255, (h, w, 3), np.uint8),
        img_id=1, img_path='x.jpg', ori_shape=(h, w), img_shape=(h, w),
        gt_bboxes=np.array([[3, 2, 12, 8], [14, 5, 20, 15]], np.float32),
        gt_bboxes_labels=np.arange(2), gt_ignore_flags=np.zeros(2, bool),
        gt_masks=BitmapMasks(masks, h, w))
    return ImageToClip(num_frames=num_frames)(sample)


def test_config_wrapper_and_other_violations():
    """``CheckCopyOnWrite`` (the config form) reports indices of the wrapped
    pipeline; writes into masks through a view of another frame, replacing
    a shared ``BitmapMasks``' array and mmdet's in-place box flip on boxes
    the frames share are caught; copy-on-write transforms pass."""
    from mmvis_pretrain.registry import TRANSFORMS

    def masks_through_view(results):
        view = results['gt_masks'][1].masks[:, 1:]  # a view, other object
        view[0, 2, 3] ^= 1
        return results

    def swap_shared_array(results):
        shared = results['gt_masks'][0]
        shared.masks = shared.masks.copy()
        return results

    def copy_on_write(results):  # the right way: new arrays, assigned
        results['img'] = [255 - img for img in results['img']]
        return results

    def check(*transforms):
        return TRANSFORMS.build(dict(type='CheckCopyOnWrite',
                                     transforms=list(transforms)))

    assert isinstance(check(), CheckCopyOnWrite)
    check(copy_on_write, copy_on_write)(_shared_clip(3))
    with pytest.raises(CopyOnWriteError) as info:
        check(copy_on_write, masks_through_view)(_shared_clip(3))
    message = str(info.value)
    assert 'transform 1 (masks_through_view)' in message
    assert "'gt_masks' (frames [0, 1, 2])" in message
    with pytest.raises(CopyOnWriteError,
                       match=r"replaced 'masks' of the BitmapMasks object "
                             r"of 'gt_masks' \(frames \[0, 1, 2\]\)"):
        check(swap_shared_array)(_shared_clip(3))
    # mmdet's RandomFlip flips numpy boxes in place (through
    # autocast_box_type): the check catches it on boxes the frames share
    # (ImageToClip(copy=False) no longer shares them, see below)
    flip = dict(type='TransformBroadcaster', share_random_params=True,
                transforms=[dict(type='RandomFlip', prob=1.0)])
    shared_boxes = _shared_clip(3)
    shared_boxes['gt_bboxes'] = [shared_boxes['gt_bboxes'][0]] * 3
    with pytest.raises(CopyOnWriteError,
                       match=r'transform 0 \(TransformBroadcaster\['
                             r"RandomFlip\]\).*'gt_bboxes' "
                             r'\(frames \[0, 1, 2\]'):
        check(flip)(shared_boxes)
    # ImageToClip gives every frame its own boxes: the flip is right for
    # any T (T = 2 used to flip the shared boxes twice, i.e. not at all)
    for num_frames in (2, 3):
        out = check(flip)(_shared_clip(num_frames))
        for boxes, masks in zip(out['gt_bboxes'], out['gt_masks']):
            boxes = getattr(boxes, 'tensor', boxes)
            assert np.allclose(np.asarray(boxes),
                               masks.get_bboxes(dst_type='hbox').tensor)
    # with a resize before the flip every frame flips its own new boxes
    check(dict(type='TransformBroadcaster', share_random_params=True,
               transforms=[dict(type='Resize', scale=(60, 40),
                                keep_ratio=True),
                           dict(type='RandomFlip', prob=1.0)]))(
                                   _shared_clip(3))


def test_snapshot_scope():
    """Not a clip, one frame, or frames that share nothing: no snapshot;
    disjoint slices of one buffer are not shared."""
    assert SharedSnapshot.take(dict(img=np.zeros((2, 2, 3)))) is None
    assert SharedSnapshot.take(_shared_clip(1)) is None
    buffer = np.zeros((3, 4, 5, 3), np.uint8)
    clip = dict(img=[buffer[t] for t in range(3)], img_id=[1, 1, 1])
    assert SharedSnapshot.take(clip) is None
    clip['img'][2] = buffer[1][1:]  # overlaps frame 1
    snapshot = SharedSnapshot.take(clip)
    assert snapshot is not None and len(snapshot.arrays) == 2
    clip['img'][1][1, 1] = 7
    assert "'img' (frames [1, 2])" in snapshot.violations()[0]
