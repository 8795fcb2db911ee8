"""Tests of ``RatioSampler`` and of mixing pseudo-videos with videos."""
import os.path as osp

import pytest
from mmdet.structures import TrackDataSample
from mmengine.dataset import BaseDataset, ConcatDataset
from mmengine.runner import Runner

import mmvis_pretrain.datasets.coco_vis_dataset  # noqa: F401  (registers)
from mmvis_pretrain.datasets.samplers import RatioSampler
from mmvis_pretrain.datasets.samplers import ratio_sampler
from mmvis_pretrain.utils import register_all_modules


class ToyDataset(BaseDataset):
    """``n`` samples ``dict(source=tag, local=i)``."""

    def __init__(self, n: int, tag: str) -> None:
        self.n, self.tag = n, tag
        super().__init__(serialize_data=False, pipeline=[])

    def load_data_list(self):
        return [dict(source=self.tag, local=i) for i in range(self.n)]


def _concat(*sizes):
    return ConcatDataset([ToyDataset(n, str(i)) for i, n in enumerate(sizes)])


def _fractions(dataset, indices):
    """Fraction of ``indices`` falling in each sub-dataset."""
    counts = [0] * len(dataset.datasets)
    for idx in indices:
        counts[int(dataset[idx]['source'])] += 1
    return [c / len(indices) for c in counts]


@pytest.mark.parametrize('ratio', [[1, 1.5], [1, 0.75], [2, 1, 1]])
def test_proportion_matches_ratio(ratio):
    dataset = _concat(*[30, 500, 7][:len(ratio)])
    sampler = RatioSampler(dataset, ratio, num_samples=20000, seed=0,
                           rank=0, world_size=1)
    indices = list(sampler)
    assert len(indices) == len(sampler) == 20000
    expected = [r / sum(ratio) for r in ratio]
    for observed, wanted in zip(_fractions(dataset, indices), expected):
        assert observed == pytest.approx(wanted, abs=0.015)


def test_indices_valid_for_concat():
    dataset = _concat(5, 11)
    sampler = RatioSampler(dataset, [1, 1], num_samples=400, seed=3,
                           rank=0, world_size=1)
    for idx in sampler:
        assert 0 <= idx < len(dataset)
        info = dataset[idx]
        size = dataset.datasets[int(info['source'])].n
        assert 0 <= info['local'] < size


def test_each_source_permuted_before_repeat():
    dataset = _concat(10, 1000)
    sampler = RatioSampler(dataset, [1, 1], num_samples=40, seed=1,
                           rank=0, world_size=1)
    first = [i for i in sampler if i < 10]
    assert len(first) >= 10
    assert sorted(first[:10]) == list(range(10))


def test_two_ranks_explicit():
    dataset = _concat(2000, 3000)
    kwargs = dict(num_samples=1001, seed=7, world_size=2)
    ranks = [RatioSampler(dataset, [1, 1.5], rank=r, **kwargs)
             for r in range(2)]
    per_rank = [list(s) for s in ranks]
    assert [len(s) for s in ranks] == [501, 501]
    assert [len(x) for x in per_rank] == [501, 501]
    global_seq = ranks[0].global_indices(0).tolist()
    assert global_seq[0::2] == per_rank[0]
    assert global_seq[1::2] == per_rank[1]
    # fewer draws than samples per source: ranks never share a sample
    assert not set(per_rank[0]) & set(per_rank[1])


def test_two_ranks_from_dist_info(monkeypatch):
    """Rank / world size default to mmengine's ``get_dist_info``."""
    dataset = _concat(40, 60)
    samplers = []
    for rank in range(2):
        monkeypatch.setattr(ratio_sampler, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        samplers.append(RatioSampler(dataset, [1, 0.75], num_samples=8000,
                                     seed=0))
    assert [(s.rank, s.world_size) for s in samplers] == [(0, 2), (1, 2)]
    for sampler in samplers:
        indices = list(sampler)
        assert len(indices) == 4000
        assert all(0 <= i < len(dataset) for i in indices)
        assert _fractions(dataset, indices)[0] == pytest.approx(
            1 / 1.75, abs=0.025)


def test_epochs_and_seed():
    dataset = _concat(20, 20)
    make = lambda seed: RatioSampler(  # noqa: E731
        dataset, [1, 1], seed=seed, rank=0, world_size=1)
    sampler = make(5)
    epoch0 = list(sampler)
    assert epoch0 == list(make(5))
    assert len(epoch0) == len(dataset)
    sampler.set_epoch(1)
    assert list(sampler) != epoch0


def test_infinite():
    dataset = _concat(3, 4)
    sampler = RatioSampler(dataset, [1, 1], seed=0, infinite=True,
                           rank=0, world_size=1)
    stream = iter(sampler)
    drawn = [next(stream) for _ in range(3 * len(sampler))]
    assert drawn[:len(sampler)] == sampler.epoch_indices(0)
    assert drawn[len(sampler):2 * len(sampler)] == sampler.epoch_indices(1)


def test_no_shuffle_reads_sources_in_order():
    dataset = _concat(50, 50)
    sampler = RatioSampler(dataset, [1, 1], num_samples=60, shuffle=False,
                           seed=0, rank=0, world_size=1)
    indices = list(sampler)
    first = [i for i in indices if i < 50]
    second = [i - 50 for i in indices if i >= 50]
    assert first == list(range(len(first)))
    assert second == list(range(len(second)))


def test_zero_ratio_source_never_drawn():
    dataset = _concat(5, 5)
    sampler = RatioSampler(dataset, [0, 1], num_samples=200, seed=0,
                           rank=0, world_size=1)
    assert all(i >= 5 for i in sampler)


def test_errors():
    dataset = _concat(5, 5)
    with pytest.raises(ValueError, match='one entry per dataset'):
        RatioSampler(dataset, [1], seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match='positive sum'):
        RatioSampler(dataset, [0, 0], seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match='empty'):
        RatioSampler(_concat(0, 5), [1, 1], seed=0, rank=0, world_size=1)
    with pytest.raises(TypeError, match='ConcatDataset'):
        RatioSampler(ToyDataset(3, '0'), [1], seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match='rank'):
        RatioSampler(dataset, [1, 1], seed=0, rank=2, world_size=2)


def _joint_dataloader_cfg(root: str, num_frames: int = 2) -> dict:
    """The docs' joint-training dataloader on the synthetic data set."""
    scale = (64, 48)
    pseudo_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True,
             poly2mask=True),
        dict(type='ImageToClip', num_frames=num_frames),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[dict(type='Resize', scale=scale, keep_ratio=True),
                         dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackTrackInputs'),
    ]
    video_pipeline = [
        dict(type='UniformRefFrameSample', num_ref_imgs=num_frames - 1,
             frame_range=4, filter_key_img=True),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[dict(type='LoadImageFromFile'),
                         dict(type='LoadTrackAnnotations', with_mask=True),
                         dict(type='Resize', scale=scale, keep_ratio=True),
                         dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackTrackInputs'),
    ]
    return dict(
        batch_size=4,
        num_workers=0,
        sampler=dict(type='RatioSampler', source_ratio=[1, 1.5],
                     num_samples=12),
        batch_sampler=None,
        dataset=dict(
            type='ConcatDataset',
            datasets=[
                dict(type='CocoVISDataset',
                     data_root=osp.join(root, 'coco'),
                     ann_file='annotations/instances_train.json',
                     data_prefix=dict(img='train/'),
                     category_map='synthetic_to_synthetic',
                     filter_cfg=dict(filter_empty_gt=True),
                     pipeline=pseudo_pipeline),
                dict(type='SyntheticVISDataset',
                     data_root=osp.join(root, 'ytvis'),
                     ann_file='train.json',
                     data_prefix=dict(img_path='train/JPEGImages'),
                     pipeline=video_pipeline),
            ]))


def test_joint_dataloader(synthetic_root):
    """Pseudo-videos and videos in one loader: same classes, T frames."""
    register_all_modules()
    loader = Runner.build_dataloader(_joint_dataloader_cfg(synthetic_root),
                                     seed=0)
    assert isinstance(loader.sampler, RatioSampler)
    dataset = loader.dataset
    assert dataset.metainfo['classes'] == \
        dataset.datasets[1].metainfo['classes']
    sources = set()
    for _, batch in zip(range(3), loader):
        assert len(batch['data_samples']) == 4
        for inputs, sample in zip(batch['inputs'], batch['data_samples']):
            assert isinstance(sample, TrackDataSample)
            assert len(sample) == 2 and inputs.shape[0] == 2
            sources.add('JPEGImages' in sample[0].metainfo['img_path'])
    assert sources == {True, False}
