"""``ConsecutiveClipSample``: consecutive clips from a random start, padding
of short videos, reversal, bad input, and a real video pipeline."""
import os.path as osp
import random
from collections import Counter

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mmvis_pretrain.datasets.transforms import ConsecutiveClipSample
from mmvis_pretrain.registry import DATASETS, TRANSFORMS


def _video(length, video_id=7):
    """A video dict as mmdet's BaseVideoDataset gives it to the pipeline."""
    return dict(
        video_id=video_id, video_length=length,
        images=[dict(img_id=100 + i, frame_id=i, img_path=f'{i:05d}.jpg',
                     height=4, width=6, instances=[])
                for i in range(length)])


def _build(**kwargs):
    return TRANSFORMS.build(
        dict(type='mmvis_pretrain.ConsecutiveClipSample', **kwargs))


def test_registered_and_exported():
    sampler = _build(num_frames=5)
    assert isinstance(sampler, ConsecutiveClipSample)
    assert 'num_frames=5' in repr(sampler)


def test_long_video_gives_consecutive_frames_and_mmdet_keys():
    random.seed(0)
    sampler = _build(num_frames=5)
    for _ in range(50):
        out = sampler(_video(20))
        ids = out['frame_id']
        start = ids[0]
        assert ids == list(range(start, start + 5))
        assert 0 <= start <= 15
        # the output of mmdet's samplers
        assert out['img_id'] == [100 + i for i in ids]
        assert out['video_id'] == [7] * 5
        assert out['video_length'] == [5] * 5
        assert out['ori_video_length'] == [20] * 5
        assert out['key_frame_flags'] == [True, False, False, False, False]


def test_every_start_is_reachable():
    random.seed(1)
    sampler = _build(num_frames=5)
    starts = Counter(sampler(_video(20))['frame_id'][0] for _ in range(2000))
    assert set(starts) == set(range(16))
    # uniform: 2000 / 16 = 125 expected per start
    assert min(starts.values()) > 70


def test_key_frame_id_is_ignored():
    random.seed(2)
    sampler = _build(num_frames=3)
    starts = set()
    for _ in range(200):
        video = _video(10)
        video['key_frame_id'] = 4
        starts.add(sampler(video)['frame_id'][0])
    assert starts == set(range(8))


def test_video_of_exactly_num_frames():
    out = _build(num_frames=5)(_video(5))
    assert out['frame_id'] == [0, 1, 2, 3, 4]


def test_short_video_holds_its_last_frame():
    out = _build(num_frames=5)(_video(3))
    assert out['frame_id'] == [0, 1, 2, 2, 2]
    assert out['img_path'] == ['00000.jpg', '00001.jpg', '00002.jpg',
                               '00002.jpg', '00002.jpg']
    assert out['video_length'] == [5] * 5
    assert out['ori_video_length'] == [3] * 5
    assert len(out['key_frame_flags']) == 5
    out = _build(num_frames=4)(_video(1))
    assert out['frame_id'] == [0, 0, 0, 0]


def test_reverse_prob_one_and_zero():
    random.seed(3)
    backwards = _build(num_frames=5, reverse_prob=1.0)
    forwards = _build(num_frames=5, reverse_prob=0.0)
    for _ in range(20):
        ids = backwards(_video(20))['frame_id']
        assert ids == list(range(ids[0], ids[0] - 5, -1))
        ids = forwards(_video(20))['frame_id']
        assert ids == list(range(ids[0], ids[0] + 5))
    assert backwards(_video(3))['frame_id'] == [2, 2, 2, 1, 0]
    assert forwards(_video(3))['frame_id'] == [0, 1, 2, 2, 2]


def test_reverse_prob_half_reverses_about_half():
    random.seed(4)
    sampler = _build(num_frames=5, reverse_prob=0.5)
    n = 2000
    reversed_ = sum(
        np.diff(sampler(_video(20))['frame_id'])[0] < 0 for _ in range(n))
    # binomial(2000, 0.5): std ~ 22; 5 sigma
    assert abs(reversed_ - n / 2) < 110


def test_seeded_draws_repeat():
    sampler = _build(num_frames=5, reverse_prob=0.5)
    random.seed(5)
    first = [sampler(_video(20))['frame_id'] for _ in range(10)]
    random.seed(5)
    again = [sampler(_video(20))['frame_id'] for _ in range(10)]
    assert first == again


@pytest.mark.parametrize('num_frames', [0, -1, 2.5, True])
def test_bad_num_frames(num_frames):
    with pytest.raises(ValueError, match='num_frames'):
        ConsecutiveClipSample(num_frames=num_frames)


@pytest.mark.parametrize('prob', [-0.1, 1.5, float('nan'), '0.5'])
def test_bad_reverse_prob(prob):
    with pytest.raises(ValueError, match='reverse_prob'):
        ConsecutiveClipSample(reverse_prob=prob)


def test_empty_video_names_the_video():
    with pytest.raises(ValueError, match="video 'clip_42' has no frames"):
        _build(num_frames=5)(_video(0, video_id='clip_42'))


@pytest.mark.parametrize('num_frames,reverse_prob', [(5, 0.0), (20, 0.5)])
def test_in_a_video_pipeline(synthetic_root, num_frames, reverse_prob):
    """In place of UniformRefFrameSample, with mmdet's loading / packing,
    on the synthetic videos (8-16 frames): T consecutive frames, consistent
    tracks; with T=20 every video is padded (repeated frames)."""
    pipeline = [
        dict(type='mmvis_pretrain.ConsecutiveClipSample',
             num_frames=num_frames, reverse_prob=reverse_prob),
        dict(type='mmdet.TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='mmdet.LoadImageFromFile'),
                 dict(type='mmdet.LoadTrackAnnotations', with_mask=True),
                 dict(type='mmdet.Resize', scale=(160, 120), keep_ratio=True),
             ]),
        dict(type='mmdet.PackTrackInputs'),
    ]
    with DefaultScope.overwrite_default_scope('mmvis_pretrain'):
        dataset = DATASETS.build(
            dict(type='mmvis_pretrain.SyntheticVISDataset',
                 data_root=osp.join(synthetic_root, 'ytvis') + '/',
                 ann_file='train.json',
                 data_prefix=dict(img_path='train/JPEGImages'),
                 pipeline=pipeline))
        random.seed(0)
        for idx in range(len(dataset)):
            packed = dataset[idx]
            inputs, sample = packed['inputs'], packed['data_samples']
            assert inputs.shape[0] == num_frames
            assert len(sample) == num_frames
            length = sample[0].metainfo['ori_video_length']
            ids = [frame.metainfo['frame_id'] for frame in sample]
            if ids[0] > ids[-1]:
                ids = ids[::-1]
                inputs = inputs.flip(0)
            if length >= num_frames:
                assert ids == list(range(ids[0], ids[0] + num_frames))
            else:
                assert ids == list(range(length)) + \
                    [length - 1] * (num_frames - length)
                # a repeated frame is the same picture
                assert (inputs[-1] == inputs[length - 1]).all()
            assert sample.metainfo['key_frames_inds'] == [0]
            assert sample.metainfo['ref_frames_inds'] == list(
                range(1, num_frames))
            label_of = {}
            for frame in sample:
                assert frame.metainfo['video_length'] == num_frames
                inst = frame.gt_instances
                track_ids = inst.instances_ids.tolist()
                assert len(set(track_ids)) == len(track_ids)
                assert len(inst.masks) == len(track_ids)
                for i, lab in zip(track_ids, inst.labels.tolist()):
                    assert label_of.setdefault(i, lab) == lab
            assert label_of, 'the synthetic videos have tracks'
