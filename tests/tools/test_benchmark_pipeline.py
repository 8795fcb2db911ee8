"""End-to-end tests of ``tools/analysis_tools/benchmark_pipeline.py``.

A tiny COCO json (three 48x32 images) is written into ``tmp_path`` with two
configs over mmdet's ``CocoDataset``: an image pipeline (``PackDetInputs``)
and a pseudo-video one (``ImageToClip(num_frames=3)`` + ``PackTrackInputs``).
No timing is asserted, only the report's structure, frame counting, the
ratios to the first config and that interleaving keeps every config's
random samples.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tool_loader import load_tool

IMG_W, IMG_H = 48, 32
COMMON = """
train_dataloader = dict(
    dataset=dict(
        type='CocoDataset',
        data_root={root!r},
        ann_file='instances.json',
        metainfo=dict(classes=('person', 'dog')),
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True,
                 poly2mask=True),
            {middle}
        ]))
"""
IMAGE_STEPS = """dict(type='Resize', scale=(64, 40), keep_ratio=True),
            dict(type='PackDetInputs'),"""
CLIP_STEPS = """dict(type='ImageToClip', num_frames=3),
            dict(type='TransformBroadcaster', share_random_params=True,
                 transforms=[dict(type='Resize', scale=(64, 40),
                                  keep_ratio=True)]),
            dict(type='PackTrackInputs'),"""


@pytest.fixture(scope='module')
def tool():
    """The tool imported as a module (``tools`` is not a package)."""
    return load_tool('tools/analysis_tools/benchmark_pipeline.py')


@pytest.fixture
def configs(tmp_path: Path):
    """(image config, clip config) over a tiny COCO json."""
    images, annotations = [], []
    for i in range(3):
        name = f'{i}.jpg'
        cv2.imwrite(str(tmp_path / name),
                    np.full((IMG_H, IMG_W, 3), 60 * i, np.uint8))
        images.append(dict(id=i, file_name=name, width=IMG_W, height=IMG_H))
        x, y, w, h = 4 + i, 3, 12, 10
        annotations.append(dict(
            id=i + 1, image_id=i, category_id=1 + i % 2, bbox=[x, y, w, h],
            area=w * h, iscrowd=0,
            segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
    (tmp_path / 'instances.json').write_text(json.dumps(dict(
        images=images, annotations=annotations,
        categories=[dict(id=1, name='person'), dict(id=2, name='dog')])))
    paths = []
    for name, middle in (('image_cfg.py', IMAGE_STEPS),
                         ('clip_cfg.py', CLIP_STEPS)):
        path = tmp_path / name
        path.write_text(COMMON.format(root=str(tmp_path), middle=middle))
        paths.append(str(path))
    return paths


def _check_result(result, config, frames, num_samples=4):
    assert result['config'] == config
    assert result['dataset'] == 'CocoDataset'
    assert result['dataset_length'] == 3
    assert result['num_samples'] == num_samples
    assert result['frames_per_sample'] == frames
    assert result['samples_per_s'] > 0
    assert result['frames_per_s'] == pytest.approx(
        result['samples_per_s'] * frames)
    for key in ('ms_per_sample', 'ms_per_frame'):
        assert set(result[key]) == {'median', 'mean'}
        assert result[key]['median'] > 0 and result[key]['mean'] > 0
    assert result['ms_per_frame']['mean'] == pytest.approx(
        result['ms_per_sample']['mean'] / frames)


def test_image_and_clip_configs(tool, configs, tmp_path, capsys):
    out = tmp_path / 'report' / 'bench.json'
    image_cfg, clip_cfg = configs
    results = tool.main([image_cfg, clip_cfg, '--num-samples', '4',
                         '--warmup', '1', '--out', str(out)])
    assert len(results) == 2
    _check_result(results[0], image_cfg, frames=1)
    _check_result(results[1], clip_cfg, frames=3)
    report = json.loads(out.read_text())
    assert {k: report[k] for k in ('split', 'num_samples', 'warmup')} == \
        dict(split='train', num_samples=4, warmup=1)
    assert report['results'] == json.loads(json.dumps(results))
    printed = capsys.readouterr().out
    assert 'samples/s' in printed and 'ms/frame med' in printed
    assert 'x first (mean)' in printed
    assert 'image_cfg.py' in printed and 'clip_cfg.py' in printed


def test_cfg_options(tool, configs):
    """``--cfg-options`` reach the pipeline (here: T = 2)."""
    results = tool.main([
        configs[1], '--num-samples', '2', '--warmup', '0', '--cfg-options',
        'train_dataloader.dataset.pipeline.2.num_frames=2'
    ])
    _check_result(results[0], configs[1], frames=2, num_samples=2)


def test_frames_of_rejects_unknown(tool):
    with pytest.raises(TypeError, match='cannot count frames'):
        tool.frames_of(dict(inputs=None, data_samples=[1, 2]))


def test_bad_arguments(tool, configs):
    with pytest.raises(SystemExit):
        tool.parse_args([configs[0], '--num-samples', '0'])
    with pytest.raises(SystemExit):
        tool.parse_args([configs[0], '--rounds', '0'])
    with pytest.raises(KeyError, match='val_dataloader'):
        tool.main([configs[0], '--split', 'val', '--num-samples', '1'])


def test_interleaved_rounds_report_ratios(tool, configs, tmp_path):
    image_cfg, clip_cfg = configs
    out = tmp_path / 'bench.json'
    results = tool.main([image_cfg, clip_cfg, '--num-samples', '3',
                         '--warmup', '1', '--rounds', '2', '--interleave',
                         '--out', str(out)])
    for result, frames in zip(results, (1, 3)):
        _check_result(result, result['config'], frames=frames,
                      num_samples=3)
        assert result['rounds'] == 2 and result['interleave'] is True
        for statistic in ('mean', 'median'):
            assert len(result['round_ms_per_frame'][statistic]) == 2
        cpu = result['cpu_ms_per_frame']
        assert set(cpu) == {'median', 'mean'} and cpu['mean'] >= 0
        ratio = result['frame_cost_vs_first']
        assert set(ratio) == {'by_mean', 'by_median'}
        for by in ratio.values():
            assert set(by) == {'wall', 'cpu'}
            assert all(len(v['rounds']) == 2 for v in by.values())
    first, clip = results
    # the reference's own ratio is 1; the clip's is the ratio of the
    # rounds' ms per frame (mean: total time / frames)
    for by in first['frame_cost_vs_first'].values():
        assert by['wall']['rounds'] == [1.0, 1.0]
        assert by['cpu']['rounds'] == [1.0, 1.0]
    for statistic in ('mean', 'median'):
        pairs = zip(first['round_ms_per_frame'][statistic],
                    clip['round_ms_per_frame'][statistic])
        by = clip['frame_cost_vs_first'][f'by_{statistic}']['wall']
        assert by['rounds'] == pytest.approx([c / i for i, c in pairs])
        assert by['median'] == pytest.approx(
            sorted(by['rounds'])[0] / 2 + sorted(by['rounds'])[1] / 2)
    # the mean is the inverse throughput of the round
    assert clip['round_ms_per_frame']['mean'][0] > 0
    report = json.loads(out.read_text())
    assert report['rounds'] == 2 and report['interleave'] is True
    assert report['opencv_threads'] == 0 and report['torch_threads'] == 1


class RecordingDataset:
    """Draws from numpy's, python's and torch's global generators for
    every sample and records the draws."""

    def __init__(self):
        self.draws = []

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        import random

        import torch
        from mmdet.structures import DetDataSample
        self.draws.append((idx, float(np.random.rand()), random.random(),
                           float(torch.rand(1))))
        return dict(inputs=None, data_samples=DetDataSample())


def test_interleaving_keeps_each_config_s_random_samples(tool):
    """In turn or one after the other, every data set draws the same
    random numbers (its own random state is saved and restored)."""
    alone = []
    for _ in range(2):
        dataset = RecordingDataset()
        tool.set_random_seed(5)
        tool.time_samples(dataset, [0, 1, 2, 3, 0])
        alone.append(dataset.draws)
    assert alone[0] == alone[1]
    together = [RecordingDataset(), RecordingDataset()]
    timed = tool.time_interleaved(together, [[0, 1, 2, 3, 0]] * 2, seed=5)
    assert together[0].draws == together[1].draws == alone[0]
    assert [t['frames'] for t in timed] == [[1] * 5, [1] * 5]
    assert all(len(t['cpu_seconds']) == 5 for t in timed)


def test_threads_are_set_and_restored(tool, configs, monkeypatch):
    import cv2
    import torch
    seen = []
    real = tool.benchmark
    monkeypatch.setattr(
        tool, 'benchmark', lambda args: seen.append(
            (cv2.getNumThreads(), torch.get_num_threads())) or real(args))
    before = (cv2.getNumThreads(), torch.get_num_threads())
    tool.main([configs[0], '--num-samples', '1', '--warmup', '0'])
    assert seen[-1] == (1, 1)  # cv2.setNumThreads(0) reads back as 1
    assert (cv2.getNumThreads(), torch.get_num_threads()) == before
    tool.main([configs[0], '--num-samples', '1', '--warmup', '0',
               '--opencv-threads', '-1', '--torch-threads', '-1'])
    assert seen[-1] == before


def test_ms_per_frame_and_ratios_by_hand(tool):
    """Mean = total time / total frames (the inverse throughput), median =
    median of the per-sample ms per frame; ratios to the first config."""
    image = dict(seconds=[0.004, 0.006, 0.020], cpu_seconds=[0.004] * 3,
                 frames=[1, 1, 1])
    clip = dict(seconds=[0.006, 0.030], cpu_seconds=[0.003, 0.003],
                frames=[3, 3])
    assert tool.ms_per_frame_of_pass(image, 'mean') == pytest.approx(10.0)
    assert tool.ms_per_frame_of_pass(image, 'median') == pytest.approx(6.0)
    assert tool.ms_per_frame_of_pass(clip, 'mean') == pytest.approx(6.0)
    assert tool.ms_per_frame_of_pass(clip, 'median') == pytest.approx(6.0)
    assert tool.ms_per_frame_of_pass(clip, 'mean', 'cpu_seconds') == \
        pytest.approx(1.0)
    ratios = tool.frame_cost_ratios([[image, clip]], 1)
    assert ratios['by_mean']['wall']['rounds'] == pytest.approx([0.6])
    assert ratios['by_median']['wall']['rounds'] == pytest.approx([1.0])
    assert ratios['by_mean']['cpu']['median'] == pytest.approx(0.25)
