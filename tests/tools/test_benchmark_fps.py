"""Tests of ``tools/analysis_tools/benchmark_fps.py`` (formerly
``benchmark_model.py --mode fps``, whose command lines it still accepts).

End to end on the tiny STMask (online VIS) and mmdet's YOLACT R50 (image
model) at 64x96, plus the frame schedule of both timing loops with a
recording fake model. No timing is asserted, only the report."""
import json
import os.path as osp

import cv2
import mmdet
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData

from tool_loader import REPO, load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/benchmark_fps.py')


STMASK_TINY = f'{REPO}/configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py'
YOLACT = osp.join(osp.dirname(mmdet.__file__),
                  '.mim/configs/yolact/yolact_r50_1xb8-55e_coco.py')


def _check_fps(r, instances=None):
    for mode in ('model_only', 'end_to_end'):
        m = r[mode]
        s = m['s_per_frame']
        assert 0 < s['min'] <= s['median'] and s['mean'] > 0
        assert m['fps'] == pytest.approx(1 / s['median'])
        assert m['fps'] > 0 and m['fps_mean'] > 0
        assert isinstance(m['includes'], str) and m['includes']
        if instances is None:
            assert m['instances_per_frame'] > 0
        else:
            assert m['instances_per_frame'] == instances
    assert 'decode' in r['end_to_end']['includes']
    d = r['decode_pipeline_s_per_frame']
    assert 0 < d['min'] <= d['median']
    assert r['params']['total'] > 0


def test_fps_mode_tiny_stmask(tool, tmp_path, capsys):
    """Online VIS model: both modes on the tiny STMask, 64x96 inputs from
    128x192 synthetic JPEGs (Resize keeps the ratio: exactly half)."""
    out = tmp_path / 'fps.json'
    argv = [STMASK_TINY, '--mode', 'fps', '--size', '64', '96',
            '--video-length', '3', '--iters', '4', '--warmup', '1',
            '--score-thr', '0', '--max-per-img', '4', '--out', str(out)]
    results = tool.main(argv)
    r = results[0]
    assert r['mode'] == 'fps' and r['model'] == 'STMask'
    assert r['clip_model'] is True and r['device'] == 'cpu'
    assert r['size'] == [64, 96] and r['batch_input_shape'] == [64, 96]
    assert r['src_size'] == [128, 192]
    assert r['frames']['source'] == 'synthetic'
    assert r['frames']['video_length'] == 3
    assert r['frames']['jpeg_kb_mean'] > 0
    assert (r['iters'], r['warmup']) == (4, 1)
    assert r['score_thr'] == 0 and r['max_per_img'] == 4
    _check_fps(r)
    report = json.loads(out.read_text())
    assert report['mode'] == 'fps' and report['results'] == json.loads(
        json.dumps(results))
    assert report['threads'] >= 1 and report['cv2_threads'] is not None
    printed = capsys.readouterr().out
    assert 'model fps' in printed and 'e2e fps' in printed


def test_fps_mode_image_model(tool):
    """Plain image detector (mmdet's YOLACT, one DetDataSample per step):
    with score_thr 0 and max_per_img 3 every frame has exactly 3
    detections, so the overrides reach the head and the count is read
    from pred_instances."""
    # ResNet-18 and 4 classes keep the test fast; still mmdet's YOLACT
    r = tool.main([YOLACT, '--mode', 'fps', '--size', '64', '96',
                   '--video-length', '2', '--iters', '2', '--warmup', '0',
                   '--score-thr', '0', '--max-per-img', '3', '--cfg-options',
                   'model.backbone.depth=18',
                   'model.neck.in_channels=[64,128,256,512]',
                   'model.bbox_head.num_classes=4',
                   'model.mask_head.num_classes=4'])[0]
    assert r['model'] == 'YOLACT' and r['clip_model'] is False
    # keep_ratio=False in YOLACT's test pipeline: exactly --size
    assert r['size'] == [64, 96] and r['src_size'] == [128, 192]
    _check_fps(r, instances=3)


class _FakeOnline(torch.nn.Module):
    """Records the frame ids and input shapes it sees; outputs
    ``frame_id + 1`` instances at ``ori_shape``."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def test_step(self, data):
        sample = data['data_samples'][0]
        frame = sample[0]
        self.seen.append((frame.frame_id, tuple(data['inputs'][0].shape)))
        h, w = frame.ori_shape
        frame.pred_track_instances = InstanceData(
            masks=torch.ones(frame.frame_id + 1, h, w, dtype=torch.bool))
        return [sample]


def test_model_only_cycles_the_video(tool):
    """Frame i of the run is frame i % L of the video; warm-up frames are
    run but neither timed nor counted."""
    batches = []
    for j in range(3):
        track = TrackDataSample()
        track.video_data_samples = [DetDataSample(metainfo=dict(
            frame_id=j, ori_shape=(2, 2)))]
        batches.append(dict(inputs=[torch.zeros(1, 3, 2, 2)],
                            data_samples=[track]))
    args = tool.parse_args([STMASK_TINY, '--mode', 'fps', '--warmup', '2',
                            '--iters', '5'])
    model = _FakeOnline()
    seconds, counts = tool.time_model_only(model, batches, args)
    assert [f for f, _ in model.seen] == [0, 1, 2, 0, 1, 2, 0]
    assert len(seconds) == 5 and all(s > 0 for s in seconds)
    assert counts == [3, 1, 2, 3, 1]


def test_end_to_end_decodes_and_restarts(tool, tmp_path):
    """inference_vis_video over the JPEG files: frame ids restart every L
    frames, and the frames arrive resized by the config's test pipeline
    with the --size override (128x192 files -> 32x48)."""
    args = tool.parse_args([STMASK_TINY, '--mode', 'fps', '--size', '32',
                            '48', '--warmup', '1', '--iters', '4'])
    cfg = tool.fps_config(STMASK_TINY, args)
    paths = tool.write_synthetic_frames(str(tmp_path), 2, 128, 192)
    model = _FakeOnline()
    seconds, counts = tool.time_end_to_end(model, cfg, paths, True, args)
    assert [f for f, _ in model.seen] == [0, 1, 0, 1, 0]
    assert {shape for _, shape in model.seen} == {(1, 3, 32, 48)}
    assert len(seconds) == 4 and counts == [2, 1, 2, 1]


def test_set_resize_scale(tool):
    pipeline = [
        dict(type='TransformBroadcaster', transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(640, 360), keep_ratio=True)]),
        dict(type='mmdet.Resize', scale_factor=2.0, keep_ratio=False),
        dict(type='PackTrackInputs')
    ]
    assert tool.set_resize_scale(pipeline, 96, 160) == 2
    inner = pipeline[0]['transforms'][1]
    assert inner == dict(type='Resize', scale=(160, 96), keep_ratio=True)
    assert pipeline[1] == dict(type='mmdet.Resize', scale=(160, 96),
                               keep_ratio=False)
    assert tool.set_resize_scale([dict(type='PackTrackInputs')], 8, 8) == 0


def test_fps_config_without_resize(tool, tmp_path):
    cfg = tmp_path / 'no_resize.py'
    cfg.write_text("model = dict(type='STMask', test_cfg=dict())\n"
                   "test_dataloader = dict(dataset=dict(pipeline=["
                   "dict(type='LoadImageFromFile')]))\n")
    args = tool.parse_args([str(cfg), '--mode', 'fps', '--size', '32', '32'])
    with pytest.raises(ValueError, match='no_resize.py.*no Resize'):
        tool.fps_config(str(cfg), args)


def test_write_synthetic_frames(tool, tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    a = tool.write_synthetic_frames(str(tmp_path / 'a'), 3, 40, 56, seed=1)
    b = tool.write_synthetic_frames(str(tmp_path / 'b'), 3, 40, 56, seed=1)
    assert [p.rsplit('/', 1)[1] for p in a] == [
        '000000.jpg', '000001.jpg', '000002.jpg']
    frames = [cv2.imread(p) for p in a]
    assert all(f.shape == (40, 56, 3) for f in frames)
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).mean() > 1
    assert [open(p, 'rb').read() for p in a] == [
        open(p, 'rb').read() for p in b]


def test_fps_bad_arguments(tool):
    for bad in (['--batch', '2'], ['--video-length', '0'],
                ['--threads', '0'], ['--src-size', '4', '4']):
        with pytest.raises(SystemExit):
            tool.parse_args([STMASK_TINY, '--mode', 'fps'] + bad)
    with pytest.raises(SystemExit):
        tool.parse_args([STMASK_TINY, YOLACT, '--mode', 'fps',
                         '--checkpoint', 'x.pth'])
