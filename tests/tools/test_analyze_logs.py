"""tools/analysis_tools/analyze_logs.py and mmvis_pretrain.utils.run_scalars:
curves of any run from mmengine's scalars.json, several runs on one plot."""
import json

import cv2
import pytest

from conftest import TINY_VIS_CONFIG, as_cli, tiny_vis_options
from tool_loader import load_tool

tool = load_tool('tools/analysis_tools/analyze_logs.py')


def _run(folder, losses, ap=None):
    """A work dir with one run: training records, then one evaluation."""
    scalars = folder / '20260101_000000' / 'vis_data' / 'scalars.json'
    scalars.parent.mkdir(parents=True)
    lines = [json.dumps(dict(iter=10 * (i + 1), step=10 * (i + 1),
                             loss=v, lr=0.1)) for i, v in enumerate(losses)]
    if ap is not None:
        lines.append(json.dumps({'vis/AP': ap, 'step': 10 * len(losses)}))
    scalars.write_text('\n'.join(lines) + '\n')
    return scalars


def test_reading_and_curves(tmp_path):
    from mmvis_pretrain.utils.run_scalars import (find_scalars, read_scalars,
                                                  scalar_curve, scalar_keys)
    scalars = _run(tmp_path / 'a', [3.0, 2.0, 1.5], ap=0.25)
    for path in (tmp_path / 'a', scalars.parent.parent, scalars):
        assert find_scalars(str(path)) == str(scalars)
    records = read_scalars(str(tmp_path / 'a'))
    assert scalar_curve(records, 'loss') == ([10, 20, 30], [3.0, 2.0, 1.5])
    assert scalar_curve(records, 'vis/AP') == ([30], [0.25])
    assert scalar_keys(records) == ['loss', 'lr', 'vis/AP']
    with pytest.raises(FileNotFoundError, match='no scalars.json'):
        find_scalars(str(tmp_path / 'nothing'))
    scalars.write_text('{"iter": 1}\n{oops\n')
    with pytest.raises(ValueError, match='line 2'):
        read_scalars(str(scalars))


def test_two_runs_on_one_plot(tmp_path, capsys):
    _run(tmp_path / 'a', [3.0, 2.0, 1.5], ap=0.25)
    _run(tmp_path / 'b', [2.5, 1.0], ap=0.3)
    out = tmp_path / 'plots' / 'curves.png'
    assert tool.main([str(tmp_path / 'a'), str(tmp_path / 'b'), '--keys',
                      'loss', 'vis/AP', '--legend', 'A', 'B', '--out',
                      str(out), '--log-y']) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > img.shape[0]  # two panels
    assert [p.name for p in out.parent.iterdir()] == ['curves.png']
    assert tool.main([str(tmp_path / 'a'), '--list']) == 0
    assert 'loss lr vis/AP' in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    _run(tmp_path / 'a', [1.0])
    out = str(tmp_path / 'x.png')
    assert tool.main([str(tmp_path / 'a'), '--keys', 'vis/AP', '--out',
                      out]) == 1
    assert 'available: loss lr' in capsys.readouterr().err
    assert tool.main([str(tmp_path / 'nope'), '--out', out]) == 1
    assert tool.main([str(tmp_path / 'a'), '--legend', 'x', 'y', '--out',
                      out]) == 1
    assert tool.main([str(tmp_path / 'a')]) == 1


@pytest.mark.slow
def test_plots_a_real_short_run(synthetic_root, tmp_path):
    train_tool = load_tool('tools/train.py')
    work_dir = tmp_path / 'run'
    train_tool.main([TINY_VIS_CONFIG, '--work-dir', str(work_dir),
                     '--cfg-options',
                     *as_cli(tiny_vis_options(synthetic_root, 2))])
    out = tmp_path / 'real.png'
    assert tool.main([str(work_dir), '--keys', 'loss',
                      'youtube_vis/segm_mAP', '--out', str(out)]) == 0
    assert cv2.imread(str(out)) is not None
