"""Tests of ``tools/analysis_tools/benchmark_decoupled.py`` and its helpers
(``mmvis_pretrain/utils/benchmark_decoupled.py``): the tiny refiner config
on a few frames at 32 x 48; only the report's structure and the
consistency of its numbers are checked, no timing or memory figure is
asserted."""
import json
import re

import pytest
import torch

from tool_loader import REPO, load_tool

TINY = f'{REPO}/configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/benchmark_decoupled.py')


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _positive_stats(stats):
    assert set(stats) == {'median', 'mean', 'min'}
    assert 0 < stats['min'] <= stats['median']


@pytest.mark.slow
def test_tiny_all_parts(tool, tmp_path, capsys):
    out = tmp_path / 'decoupled.json'
    result = tool.main([
        TINY, '--size', '32', '48', '--video-length', '3', '--iters', '2',
        '--warmup', '1', '--memory-size', '32', '48', '--memory-lengths',
        '5', '--memory-chunk-size', '2', '--memory-modes', 'offline',
        '--threads', '1', '--out', str(out)
    ])
    # params at the reference sizes
    params = result['params']
    assert set(params) == {'dvis++', 'dvis'}
    for size, hidden in (('dvis++', 512), ('dvis', 256)):
        p = params[size]
        assert p['config']['embed_dims'] == hidden
        assert p['config']['num_classes'] == 40
        for part in ('tracker', 'refiner'):
            q = p[part]
            assert q['layers'] > 0 and q['heads'] > 0
            assert q['total'] == q['layers'] + q['heads']
        assert p['total'] == p['tracker']['total'] + p['refiner']['total']
    assert params['dvis']['config']['variant'] == 'dvis'
    assert params['dvis++']['tracker']['total'] > \
        params['dvis']['tracker']['total']

    # frames/s of both modes of the tiny model
    fps = result['fps']
    assert fps['model'] == 'DecoupledVIS' and fps['config'] == TINY
    assert fps['input_shape'] == [1, 3, 3, 32, 48]
    assert fps['tracker_embed_dims'] == 64
    mp = fps['params']
    assert mp['total'] == mp['segmenter'] + mp['tracker'] + mp['refiner']
    assert [m['mode'] for m in fps['modes']] == ['online', 'offline']
    for m in fps['modes']:
        assert m['video_length'] == 3
        _positive_stats(m['video_s'])
        assert m['s_per_frame']['median'] == pytest.approx(
            m['video_s']['median'] / 3)
        assert m['fps'] == pytest.approx(3 / m['video_s']['median'])
        assert m['fps_mean'] > 0
        ms = m['ms_per_frame']
        assert ms['segmenter'] > 0 and ms['tracker'] > 0
        # the parts add up to the whole (rest: post-processing)
        total = 1e3 * m['video_s']['mean'] / 3
        assert sum(ms.values()) == pytest.approx(total)
        assert m['masks_per_frame'] == 10  # every slot, every frame
    assert fps['video_state']['tracker._prev_out'] == 10 * 64 * 4
    online, offline = fps['modes']
    assert online['ms_per_frame']['refiner'] == 0
    assert offline['ms_per_frame']['refiner'] > 0
    assert offline['chunk_size'] == 3 and online['chunk_size'] is None

    # memory: a fresh process per (mode, length), here one (process start
    # costs seconds); the ratios of two runs: test_memory_run_online_...
    memory = result['memory']
    assert [(r['mode'], r['length']) for r in memory['runs']] == [
        ('offline', 5)]
    for r in memory['runs']:
        assert r['peak_reset'] is True  # Linux: /proc/self/clear_refs
        assert r['frames'] == r['length'] and r['masks'] == 10 * r['length']
        assert r['size'] == [32, 48] and r['chunk_size'] == 2
        assert r['fps'] > 0 and r['growth_mb'] >= 0
        assert r['end']['peak_mb'] >= r['baseline']['peak_mb'] > 0
        assert r['growth_mb'] == pytest.approx(
            r['end']['peak_mb'] - r['baseline']['peak_mb'])
        for point in ('baseline', 'end'):
            state = r[point]['video_state']
            assert state['total'] == sum(
                v for k, v in state.items() if k != 'total')
            assert 'tracker._prev_out' in state
            assert r[point]['live_tensors']['mb'] > 0
    assert memory['ratios'] == []  # one length
    printed = capsys.readouterr().out
    assert 'tracker M' in printed and 'segmenter' in printed
    assert re.search(r'memory offline +5 frames', printed)
    report = json.loads(out.read_text())
    assert report['mode'] == 'decoupled'
    assert report['results'][0] == json.loads(json.dumps(result))


def test_memory_run_online_in_process(tool):
    """The online streaming run (in this process: only the structure is
    checked) and the ratio of two runs."""
    from mmvis_pretrain.utils.benchmark_decoupled import (
        build_decoupled_model, memory_ratios, memory_run)
    from mmvis_pretrain.utils.split_dataset import load_config
    model = build_decoupled_model(load_config(TINY), 'cpu')
    runs = [memory_run(model, 'online', n, (32, 48), 50, reset_peak=False)
            for n in (2, 4)]
    for r, n in zip(runs, (2, 4)):
        assert r['mode'] == 'online' and r['chunk_size'] is None
        assert r['peak_reset'] is False
        assert r['frames'] == n and r['masks'] == 10 * n
        # the model's state does not depend on the video length
        assert r['end']['video_state']['tracker._prev_out'] == \
            runs[0]['end']['video_state']['tracker._prev_out']
    assert model.chunk_size == 50
    ratio, = memory_ratios(runs, tool.MEMORY_TARGETS)
    assert ratio['mode'] == 'online' and ratio['lengths'] == [2, 4]
    assert ratio['target'] == 1.1 and ratio['peak_ratio'] > 0
    assert ratio['growth_mb'] == [r['growth_mb'] for r in runs]
    if ratio['growth_ratio'] is None:  # no growth at the shorter length
        assert runs[0]['growth_mb'] <= 0 and ratio['target_met'] is None
    else:
        assert ratio['target_met'] == (ratio['growth_ratio'] <= 1.1)


def test_pieces_samples_and_r50_config(tool):
    from mmvis_pretrain.utils.benchmark_decoupled import (
        r50_decoupled_cfg, video_pieces, video_sample)
    assert video_pieces('online', 3, 50) == [(0, 1), (1, 1), (2, 1)]
    assert video_pieces('offline', 7, 3) == [(0, 3), (3, 3), (6, 1)]
    with pytest.raises(ValueError):
        video_pieces('both', 3, 1)
    sample = video_sample(2, 5, 9, (32, 48), 'v')
    metas = [f.metainfo for f in sample.video_data_samples]
    assert [m['frame_id'] for m in metas] == [5, 6]
    for m in metas:
        assert m['ori_video_length'] == 9 and m['video_id'] == 'v'
        assert m['img_shape'] == m['ori_shape'] == m['pad_shape'] == \
            m['batch_input_shape'] == (32, 48)
    cfg = r50_decoupled_cfg(tool.R50_SEGMENTER_CONFIG, 'dvis++', 12)
    head = cfg.model.panoptic_head
    assert cfg.model.type == 'DecoupledVIS' and cfg.model.chunk_size == 12
    assert cfg.model.tracker.type == 'ReferringTracker'  # replaced
    assert 'match_thr' not in cfg.model.tracker
    # DVIS++: the tracker reads [256-d query ; 256-d re-id embedding]
    assert cfg.model.tracker.embed_dims == head.feat_channels + \
        head.embed_dims == 512
    assert cfg.model.refiner.embed_dims == 512
    assert cfg.model.tracker.num_classes == head.num_things_classes == 40
    # the same architecture as the package's DVIS++ R50 stage-3 config
    from mmengine.config import Config
    ref = Config.fromfile(
        f'{REPO}/configs/_base_/models/dvis_plus_r50_refiner.py').model
    keys = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels',
            'mask_dims', 'num_classes')
    for part in ('tracker', 'refiner'):
        assert {k: cfg.model[part][k] for k in keys} == \
            {k: ref[part][k] for k in keys}
    assert cfg.model.tracker.variant == ref.tracker.variant
