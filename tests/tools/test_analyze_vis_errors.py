"""tools/analysis_tools/analyze_vis_errors.py on planted errors: the tables,
the report with the switch frame, the renders, staged output, bad input."""
import csv
import json
import sys

import cv2
import numpy as np
import pytest

from tool_loader import load_tool

sys.path.insert(0, __file__.rsplit('/', 2)[0] + '/evaluation')
from test_vis_errors import planted  # noqa: E402

TOOL = 'tools/analysis_tools/analyze_vis_errors.py'


@pytest.fixture
def files(tmp_path):
    gt, results = planted()
    gt_path, res_path = tmp_path / 'gt.json', tmp_path / 'results.json'
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return gt, gt_path, res_path


def test_tables_report_and_renders(files, tmp_path, capsys):
    gt, gt_path, res_path = files
    out = tmp_path / 'errors'
    tool = load_tool(TOOL)
    assert tool.main([str(gt_path), str(res_path), '--out-dir', str(out),
                      '--max-frames', '3']) == 0
    assert 'id_switches 1' in capsys.readouterr().out
    videos = list(csv.DictReader(open(out / 'videos.csv')))
    assert [v['video_id'] for v in videos] == ['1', '2']
    assert (videos[0]['missed'], videos[0]['false'], videos[0]['id_switches'],
            videos[0]['class_confusions']) == ('1', '1', '1', '1')
    objects = {o['gt_id']: o for o in csv.DictReader(open(out /
                                                          'objects.csv'))}
    assert objects['11']['switch_frames'] == '3'
    assert objects['11']['occlusion_level'] == 'heavy'
    report = (out / 'report.md').read_text()
    assert 'object 11 (cat1, heavy occlusion): ID switch at frame 3 ' \
        '(result #1 -> #2)' in report
    assert 'object 12 (cat1, light occlusion): missed (2 frames)' in report
    assert 'object 13 (cat2, light occlusion): tracked as cat1' in report
    assert 'false track: result #4 (cat2, score 0.60, 1 frames)' in report
    full = json.loads((out / 'errors.json').read_text())
    assert full['matches']['1'][3] == {'11': 1, '13': 2}
    # one render (video 2 has no error): 3 frames incl. the switch frame,
    # GT | prediction side by side
    (png, ) = sorted(out.glob('worst_*.png'))
    assert png.name == 'worst_01_video1.png'
    image = cv2.imread(str(png))
    assert image.shape[0] == 3 * 12 + 2 * 4 and image.shape[1] == 2 * 16 + 4
    # re-running replaces the folder; a foreign file is refused
    (out / 'mine.txt').write_text('x')
    assert tool.main([str(gt_path), str(res_path), '--out-dir',
                      str(out)]) == 1
    assert 'mine.txt' in capsys.readouterr().err


def test_bad_input_one_line_error_and_no_output(files, tmp_path, capsys):
    gt, gt_path, _ = files
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps([dict(video_id=9, category_id=1, score=0.9,
                                    segmentations=[None] * 5)]))
    out = tmp_path / 'errors'
    assert load_tool(TOOL).main([str(gt_path), str(bad), '--out-dir',
                                 str(out)]) == 1
    err = capsys.readouterr().err
    assert 'result #0' in err and 'video_id=9' in err
    assert err.count('\n') == 1 and not out.exists()
    # frames that are not there: named
    res = tmp_path / 'r.json'
    res.write_text(json.dumps([dict(video_id=1, category_id=1, score=0.9,
                                    segmentations=[None] * 5)]))
    assert load_tool(TOOL).main([str(gt_path), str(res), '--out-dir',
                                 str(out), '--img-prefix',
                                 str(tmp_path / 'frames')]) == 1
    assert 'video 1 frame 0: cannot read' in capsys.readouterr().err
    assert not out.exists()


def test_frames_are_drawn_under_the_masks(files, tmp_path):
    gt, gt_path, res_path = files
    frames = tmp_path / 'frames'
    for v in gt['videos']:
        for name in v['file_names']:
            (frames / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(frames / name),
                        np.full((12, 16, 3), 200, np.uint8))
    out = tmp_path / 'errors'
    assert load_tool(TOOL).main([str(gt_path), str(res_path), '--out-dir',
                                 str(out), '--img-prefix', str(frames),
                                 '--max-frames', '2']) == 0
    image = cv2.imread(str(out / 'worst_01_video1.png'))
    bare = (image == 200).all(-1)  # pixels of the frame, not drawn over
    assert bare.any() and not (image == 96).all(-1).any()  # no grey canvas
