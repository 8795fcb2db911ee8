"""Tests of ``tools/analysis_tools/benchmark_mvc.py``: the tiny online VIS
config, 1 warm-up + 1 timed iteration at 64 x 64; only the report is
checked, no timing is asserted."""
import json

import pytest
import torch

from tool_loader import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/benchmark_mvc.py')


def test_benchmark_mvc_tiny(tool, tmp_path, capsys):
    out = tmp_path / 'mvc.json'
    threads = torch.get_num_threads()
    try:
        results = tool.main([
            '--size', '64', '64', '--iters', '1', '--warmup', '1',
            '--threads', '1', '--mode', 'tube', '--patch-size', '16',
            '--out', str(out)
        ])
    finally:
        torch.set_num_threads(threads)
    assert len(results) == 1
    r = results[0]
    assert r['config'] == tool.DEFAULT_CONFIG
    assert r['model'] == 'OnlineMask2FormerVIS' and r['clip_model'] is True
    assert r['size'] == [64, 64] and r['batch'] == 1 and r['iters'] == 1
    assert r['input_shape'][0] == 1 and r['input_shape'][1] == r['num_frames']
    assert r['input_shape'][-2:] == [64, 64]
    assert r['hook'] == dict(patch_size=16, mask_ratio=0.7, mode='tube',
                             p_mask=0.5, dual=False)
    for key in ('train_off_ms', 'train_on_ms', 'mask_in_step_ms',
                'mask_alone_ms'):
        assert set(r[key]) == {'median', 'mean', 'min'}
        assert r[key]['median'] > 0
    assert 0 < r['mask_share'] < 1
    assert r['goal_share'] == 0.02
    assert r['goal_met'] == (r['mask_share'] <= 0.02)
    assert 'mask share' in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report['results'][0]['mask_share'] == r['mask_share']
