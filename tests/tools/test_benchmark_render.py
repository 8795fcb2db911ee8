"""tools/analysis_tools/benchmark_render.py: the demo's per-frame output
calls timed, and the 2x check against a model's frames/s."""
import json

import pytest

from tool_loader import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/analysis_tools/benchmark_render.py')


def test_times_every_step_and_compares(tool, tmp_path):
    out = tmp_path / 'r.json'
    results = tool.main(['--size', '24', '32', '--instances', '0', '3',
                         '--frames', '2', '--warmup', '0', '--model-fps',
                         '5', '--out', str(out)])
    assert [(r['size'], r['instances']) for r in results] == [
        ([24, 32], 0), ([24, 32], 3)]
    for r in results:
        assert set(r['steps_ms']) == {'draw', 'mp4', 'png', 'json'}
        assert r['render_s'] > 0 and r['model_fps'] == 5
        assert r['demo_fps'] == pytest.approx(
            1 / (1 / 5 + r['render_s']), abs=1e-3)
        assert r['within_2x'] == (r['render_s'] <= 0.2)
    report = json.loads(out.read_text())
    assert report['mode'] == 'render' and len(report['results']) == 2


def test_model_fps_from_a_benchmark_fps_report(tool, tmp_path):
    report = tmp_path / 'fps.json'
    report.write_text(json.dumps(dict(results=[dict(
        size=[12, 16], src_size=[24, 32], end_to_end=dict(fps=1000.0))])))
    (r, ) = tool.main(['--size', '24', '32', '--instances', '2', '--frames',
                       '1', '--warmup', '0', '--fps-json', str(report)])
    assert r['model_fps'] == 1000.0 and r['model_fps_source'] == str(report)
    # without a model figure: the paper's 9.7 frames/s
    (r, ) = tool.main(['--size', '24', '32', '--instances', '1', '--frames',
                       '1', '--warmup', '0'])
    assert r['model_fps'] == 9.7
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(results=[dict(size=[1, 2])])))
    with pytest.raises(ValueError, match='bad.json: no results'):
        tool.main(['--size', '24', '32', '--fps-json', str(bad)])


@pytest.mark.parametrize('argv', [
    ['--frames', '0'], ['--instances', '-1'], ['--model-fps', '0'],
    ['--size', '1', '8'], ['--model-fps', '3', '--fps-json', 'x.json']])
def test_bad_arguments(tool, argv):
    with pytest.raises(SystemExit):
        tool.main(argv)
