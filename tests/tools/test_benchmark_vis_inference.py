"""tools/analysis_tools/benchmark_vis_inference.py: frames/s and peak memory
of online VIS inference per video length, each length in its own process."""
import json

import pytest

from tool_loader import REPO, load_tool

CONFIG = (f'{REPO}/configs/online_vis/'
          'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')


@pytest.mark.slow
def test_two_lengths_in_fresh_processes(tmp_path, capsys):
    tool = load_tool('tools/analysis_tools/benchmark_vis_inference.py')
    out = tmp_path / 'rows.json'
    assert tool.main([CONFIG, '--lengths', '7', '9', '--size', '48', '64',
                      '--device', 'cpu', '--out', str(out), '--cfg-options',
                      'model.tracker.det_score_thr=0.0',
                      'model.tracker.new_track_thr=0.0']) == 0
    rows = json.loads(out.read_text())
    assert [r['length'] for r in rows] == [7, 9]
    for r in rows:
        assert r['device'] == 'cpu' and r['size'] == [48, 64]
        assert r['fps'] > 0 and r['peak_memory_mb'] > 0
        assert r['masks_output'] > 0  # thresholds 0: tracks are output
    printed = capsys.readouterr().out
    assert 'peak memory 9 / 7 frames' in printed


def test_frames_are_streamed_and_move():
    from mmvis_pretrain.utils.benchmark_frames import moving_shapes_frames
    frames = moving_shapes_frames(3, 32, 48, seed=2)
    first = next(frames)  # a generator: one frame at a time
    assert first.shape == (32, 48, 3) and first.dtype.name == 'uint8'
    rest = list(frames)
    assert len(rest) == 2 and (rest[1] != first).any()
    again = list(moving_shapes_frames(3, 32, 48, seed=2))
    assert (again[0] == first).all()
