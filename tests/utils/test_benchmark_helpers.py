"""Tests of the benchmark helpers in ``mmvis_pretrain/utils/benchmark_*.py``
used as a library (the tools' end-to-end tests are in ``tests/tools``)."""
import json
import statistics

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData

from mmvis_pretrain.utils.benchmark_batches import (is_clip_model,
                                                    make_batch,
                                                    num_classes_of)
from mmvis_pretrain.utils.benchmark_frame_files import video_frame_files
from mmvis_pretrain.utils.benchmark_memory import (max_rss_mb, peak_memory,
                                                   reset_peak_memory)
from mmvis_pretrain.utils.benchmark_online_inputs import inputs_to
from mmvis_pretrain.utils.benchmark_online_timing import (output_instances,
                                                          time_model_only)
from mmvis_pretrain.utils.benchmark_params import count_params
from mmvis_pretrain.utils.benchmark_report import ascii_table, write_report
from mmvis_pretrain.utils.benchmark_timing import (TimingOptions,
                                                   autocast_context,
                                                   fps_stats, sync_device,
                                                   timing_stats)


def test_timing_stats_and_fps_stats():
    assert timing_stats([3.0, 1.0, 2.0]) == dict(median=2.0, mean=2.0,
                                                 min=1.0)
    r = fps_stats([0.5, 0.25, 0.25], [1, 2, 3], 'what')
    assert r['s_per_frame']['median'] == 0.25 and r['fps'] == 4.0
    assert r['fps_mean'] == 3 / 1.0 and r['instances_per_frame'] == 2
    assert r['includes'] == 'what'


def test_autocast_and_sync_on_cpu():
    a = torch.ones(2, 2)
    with autocast_context('cpu', False):
        assert (a @ a).dtype == torch.float32
    with autocast_context('cpu', True):
        assert (a @ a).dtype == torch.bfloat16
    sync_device('cpu')  # nothing to wait for


def test_memory_on_cpu():
    reset_peak_memory('cpu', empty_cache=True)  # no-op off CUDA
    entry = peak_memory('cpu', 'infer')
    assert list(entry) == ['infer_peak_rss_mb']
    assert entry['infer_peak_rss_mb'] >= max_rss_mb() - 1 > 0


class _Model(torch.nn.Module):

    def __init__(self, neck: bool, preprocessor: str):
        super().__init__()
        self.backbone = torch.nn.Linear(3, 4)  # 16 parameters
        self.neck = torch.nn.Linear(4, 2) if neck else None  # 10
        self.data_preprocessor = type(preprocessor, (torch.nn.Module, ),
                                      {})()


def test_count_params_and_model_kind():
    model = _Model(neck=True, preprocessor='TrackDataPreprocessor')
    model.backbone.bias.requires_grad_(False)
    assert count_params(model) == dict(total=26, trainable=22, neck=10)
    assert count_params(_Model(False, 'X'))['neck'] == 0
    assert is_clip_model(model)
    assert not is_clip_model(_Model(False, 'DetDataPreprocessor'))
    assert num_classes_of(model) == 1  # no panoptic_head


def test_make_batch_is_deterministic():
    a = make_batch(True, n=1, t=2, h=16, w=16, num_instances=2,
                   num_classes=3, seed=7)
    b = make_batch(True, n=1, t=2, h=16, w=16, num_instances=2,
                   num_classes=3, seed=7)
    assert torch.equal(a['inputs'][0], b['inputs'][0])
    track = a['data_samples'][0]
    assert isinstance(track, TrackDataSample)
    assert track.key_frames_inds == [0] and track.ref_frames_inds == [1]
    assert torch.equal(track[1].gt_instances.instances_ids,
                       torch.arange(2))


def test_report(tmp_path):
    table = ascii_table([('name', 'value'), ('a', '1'), ('bb', '22')])
    assert '| a    |     1 |' in table
    out = write_report(str(tmp_path / 'sub' / 'r.json'), ['x', '--y'],
                       'train', 'cpu', [dict(a=1)])
    report = json.loads(out.read_text())
    assert list(report) == [
        'argv', 'torch', 'mode', 'threads', 'cv2_threads', 'cpu_count',
        'machine', 'cuda_device', 'results'
    ]
    assert report['argv'] == ['x', '--y'] and report['cuda_device'] is None
    assert report['results'] == [dict(a=1)]


def test_video_frame_files(tmp_path):
    paths, source = video_frame_files(str(tmp_path), 2, size=(20, 24))
    assert source == 'synthetic' and len(paths) == 2
    assert cv2.imread(paths[0]).shape == (40, 48, 3)  # twice --size
    paths, _ = video_frame_files(str(tmp_path), 1, src_size=(16, 32),
                                 size=(20, 24))
    assert cv2.imread(paths[0]).shape == (16, 32, 3)
    real, source = video_frame_files('unused', 1, frames=str(tmp_path))
    assert source == str(tmp_path) and real == paths[:1]
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no image files'):
        video_frame_files('unused', 1, frames=str(tmp_path / 'empty'))


class _FakeImageModel(torch.nn.Module):
    """One ``DetDataSample`` per step with ``img_id`` detections."""

    def test_step(self, data):
        sample = data['data_samples'][0]
        sample.pred_instances = InstanceData(
            scores=torch.zeros(sample.img_id))
        return [sample]


def test_time_model_only_with_timing_options():
    batches = [
        inputs_to(dict(inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)],
                       data_samples=[DetDataSample(metainfo=dict(img_id=i))]),
                  'cpu') for i in range(2)
    ]
    opts = TimingOptions(iters=3, warmup=1)
    seconds, counts = time_model_only(_FakeImageModel(), batches, opts)
    assert len(seconds) == 3 and statistics.mean(seconds) > 0
    assert counts == [1, 0, 1]
    assert len(output_instances(batches[1]['data_samples'][0])) == 1
    with pytest.raises(ValueError, match='without pred_track_instances'):
        output_instances(DetDataSample())
    assert np.isfinite(fps_stats(seconds, counts, '')['fps'])
