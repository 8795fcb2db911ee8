"""Tests of ``tools/analysis_tools/benchmark_model.py``.

Train mode: end to end on the tiny video pre-training config (64x64, T = 2,
one iteration) and with ``--cfg-options model.neck=None``; ``--mode fps``
hands over to ``benchmark_fps.py`` (its tests: ``test_benchmark_fps.py``).
No timing is asserted, only the report."""
import json

import pytest

from tool_loader import REPO, load_tool

TINY = (f'{REPO}/configs/video_pretrain/'
        'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/benchmark_model.py')


def _check(r, neck):
    assert r['model'] == 'VideoMask2Former' and r['clip_model'] is True
    assert r['neck'] == neck
    assert r['num_frames'] == 2 and r['batch'] == 1 and r['size'] == [64, 64]
    assert r['frames_per_iter'] == 2 and r['iters'] == 1
    for key in ('median', 'mean', 'min'):
        assert r['train_s_per_iter'][key] > 0
        assert r['infer_s_per_image'][key] > 0
    assert r['train_s_per_frame'] > 0
    p = r['params']
    assert p['total'] >= p['trainable'] > 0
    assert (p['neck'] > 0) == (neck is not None)
    mem = r['memory']
    assert mem['train_peak_rss_mb'] > 0 and mem['infer_peak_rss_mb'] > 0
    assert 'ru_maxrss' in mem['kind'] and 'growth_mb' in mem


def test_benchmark_model_tiny(tool, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    argv = [TINY, '--size', '64', '64', '--num-frames', '2', '--batch', '1',
            '--iters', '1', '--warmup', '0', '--out', str(out)]
    results = tool.main(argv)
    assert len(results) == 1
    _check(results[0], 'MSTM')
    report = json.loads(out.read_text())
    assert report['results'] == json.loads(json.dumps(results))
    assert report['argv'] == argv and report['threads'] >= 1
    printed = capsys.readouterr().out
    assert 'train s/it med' in printed and 'MSTM' in printed

    no_neck = tool.main(argv[:-2] + ['--cfg-options', 'model.neck=None'])
    _check(no_neck[0], None)
    assert no_neck[0]['params']['total'] == (
        results[0]['params']['total'] - results[0]['params']['neck'])


def test_batch_helpers(tool):
    batch = tool.make_batch(True, n=2, t=3, h=20, w=24, num_instances=2,
                            num_classes=5, seed=0)
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 3, 20, 24)] * 2
    frame = batch['data_samples'][1][2]
    assert frame.gt_instances.masks.masks.shape == (2, 20, 24)
    assert frame.gt_instances.bboxes.shape == (2, 4)
    assert int(frame.gt_instances.labels.max()) < 5
    images = tool.make_batch(False, n=2, t=3, h=20, w=24, num_instances=1,
                             num_classes=1, seed=0, with_gt=False)
    assert len(images['inputs']) == 6 and tuple(
        images['inputs'][0].shape) == (3, 20, 24)
    assert 'gt_instances' not in images['data_samples'][0]


def test_bad_arguments(tool):
    for bad in (['--iters', '0'], ['--batch', '0'], ['--size', '4', '4']):
        with pytest.raises(SystemExit):
            tool.parse_args([TINY] + bad)


@pytest.mark.parametrize('config', [
    'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
    'configs/stc/stc_tiny_1xb2-300it_synthetic-vis.py',
    'configs/online_vis/online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py',
])
def test_train_mode_times_the_vis_models(tool, config):
    """The random clips carry what the VIS models' losses read (key /
    reference frame flags, instance ids), so their training is timed."""
    r = tool.main([f'{REPO}/{config}', '--size', '64', '64', '--num-frames',
                   '2', '--iters', '1', '--warmup', '0'])[0]
    assert r['train_s_per_iter']['median'] > 0
    assert r['infer_s_per_image']['median'] > 0


def test_mode_fps_hands_over(tool, monkeypatch, capsys):
    """``--mode fps`` (also as ``--mode=fps``) runs benchmark_fps.py's main
    on the unchanged command line, with a one-line note on stderr."""
    # the real tool, found next to benchmark_model.py, takes that argv
    fps_tool = tool.load_fps_tool()
    assert fps_tool.parse_args([TINY, '--mode', 'fps']).mode == 'fps'
    calls = []

    class FakeFps:

        @staticmethod
        def main(argv):
            calls.append(argv)
            return ['fps results']

    monkeypatch.setattr(tool, 'load_fps_tool', lambda: FakeFps)
    for argv in ([TINY, '--mode', 'fps', '--size', '32', '48'],
                 [TINY, '--mode=fps', '--video-length', '2']):
        assert tool.main(argv) == ['fps results']
        assert calls[-1] == argv
        captured = capsys.readouterr()
        assert captured.out == ''
        assert 'benchmark_fps.py' in captured.err
        assert len(captured.err.splitlines()) == 1
    with pytest.raises(SystemExit):
        tool.parse_args([TINY, '--mode', 'fps'])
