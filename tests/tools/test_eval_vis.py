"""tools/analysis_tools/eval_vis.py on a small hand-made GT / result pair."""
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from tool_loader import REPO, load_tool

TOOL = 'tools/analysis_tools/eval_vis.py'


def rle(y0, x0, y1, x1, h=10, w=10):
    m = np.zeros((h, w), np.uint8, order='F')
    m[y0:y1, x0:x1] = 1
    r = mask_utils.encode(m)
    return dict(size=r['size'], counts=r['counts'].decode())


@pytest.fixture
def files(tmp_path):
    """One video of 2 frames; GT 'cat' (2 frames) and 'dog' (frame 1).
    Results: the cat exactly, the dog as a cat (wrong class): AP(cat) is
    1, AP(dog) 0, so AP = 0.5; AR100 = 0.5."""
    cat, dog = rle(0, 0, 4, 4), rle(5, 5, 9, 9)
    gt = dict(
        videos=[dict(id=1, height=10, width=10, length=2,
                     file_names=['a/0.jpg', 'a/1.jpg'])],
        categories=[dict(id=1, name='cat'), dict(id=2, name='dog')],
        annotations=[
            dict(id=1, video_id=1, category_id=1, iscrowd=0,
                 segmentations=[cat, cat], areas=[16, 16], bboxes=[None] * 2),
            dict(id=2, video_id=1, category_id=2, iscrowd=0,
                 segmentations=[None, dog], areas=[None, 16],
                 bboxes=[None] * 2),
        ])
    results = [
        dict(video_id=1, category_id=1, score=.9, segmentations=[cat, cat]),
        dict(video_id=1, category_id=1, score=.8, segmentations=[None, dog]),
    ]
    gt_path, res_path = tmp_path / 'gt.json', tmp_path / 'results.json'
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return gt_path, res_path


def test_metrics_json(files, tmp_path, capsys):
    gt_path, res_path = files
    out = tmp_path / 'metrics.json'
    assert load_tool(TOOL).main([str(gt_path), str(res_path), '--out',
                                 str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics['AP'] == pytest.approx(0.5, abs=1e-12)
    assert metrics['AP50'] == pytest.approx(0.5, abs=1e-12)
    assert metrics['AR100'] == pytest.approx(0.5, abs=1e-12)
    assert metrics['AP_m'] == -1.0  # no medium object
    assert metrics['per_category'] == {
        'cat': pytest.approx(1.0, abs=1e-12), 'dog': 0.0}
    printed = capsys.readouterr().out
    assert 'AP50' in printed and 'dog' in printed


def test_submission_zip(files, tmp_path):
    gt_path, res_path = files
    archive = tmp_path / 'submission.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        zf.write(res_path, 'results.json')
    out = tmp_path / 'metrics.json'
    assert load_tool(TOOL).main([str(gt_path), str(archive), '--out',
                                 str(out)]) == 0
    assert json.loads(out.read_text())['AP'] == pytest.approx(0.5,
                                                              abs=1e-12)


def test_invalid_input_one_line_error(files, tmp_path, capsys):
    gt_path, res_path = files
    results = json.loads(res_path.read_text())
    results[0]['video_id'] = 5
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(results))
    tool = load_tool(TOOL)
    assert tool.main([str(gt_path), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert 'video_id=5' in err
    # GT without annotations (an official valid.json)
    gt = json.loads(gt_path.read_text())
    gt['annotations'] = None
    gt_path.write_text(json.dumps(gt))
    assert tool.main([str(gt_path), str(res_path)]) == 1
    assert 'no annotations' in capsys.readouterr().err


def test_cli_exit_status(files, tmp_path):
    gt_path, _ = files
    proc = subprocess.run(
        [sys.executable, TOOL, str(gt_path), str(tmp_path / 'missing.json')],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith('eval_vis.py: error:')
    assert 'missing.json' in proc.stderr


def _compressed(h, w, size):
    r = mask_utils.encode(np.ones((h, w), np.uint8, order='F'))
    return dict(size=size, counts=r['counts'].decode())


@pytest.mark.parametrize('extra,match', [
    # more pixels than the frame: pycocotools' mask.iou loops for ever
    ((7, 3), 'cover 221 pixels, the frame has 10 x 10 = 100'),
    # fewer: scored silently before
    ((-3, 0), 'cover 70 pixels, the frame has 10 x 10 = 100'),
])
def test_malformed_compressed_rle_fails_fast(files, tmp_path, extra, match):
    """A result RLE labelled [10, 10] whose counts are of another size: a
    one-line error naming result, video and frame, in a subprocess with a
    timeout (the official code, and this tool before, hang on the first)."""
    gt_path, res_path = files
    results = json.loads(res_path.read_text())
    results[1]['segmentations'][1] = _compressed(10 + extra[0],
                                                 10 + extra[1], [10, 10])
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(results))
    proc = subprocess.run([sys.executable, TOOL, str(gt_path), str(bad)],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    assert 'result #1 (video 1), frame 1: compressed RLE' in err[0]
    assert match in err[0]


def test_demo_json_categories_mapped_by_name(files, tmp_path, capsys):
    """A video_demo.py --json file: its category ids are the model's
    (label + 1, named in 'categories') and are mapped to the ground truth's
    by name; an unknown id or a class the ground truth lacks is a one-line
    error."""
    gt_path, res_path = files
    results = json.loads(res_path.read_text())
    # the model's classes in another order than the GT ids: dog=1, cat=2
    swap = {1: 2, 2: 1}
    demo = dict(video=dict(id=1, name='a'),
                categories=[dict(id=1, name='dog'), dict(id=2, name='cat')],
                results=[dict(r, category_id=swap[r['category_id']])
                         for r in results])
    demo_path = tmp_path / 'demo.json'
    demo_path.write_text(json.dumps(demo))
    tool = load_tool(TOOL)
    out = tmp_path / 'metrics.json'
    assert tool.main([str(gt_path), str(demo_path), '--out', str(out)]) == 0
    assert json.loads(out.read_text())['AP'] == pytest.approx(0.5,
                                                              abs=1e-12)
    bad = dict(demo, results=[dict(demo['results'][0], category_id=9)])
    demo_path.write_text(json.dumps(bad))
    assert tool.main([str(gt_path), str(demo_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "result #0 has category_id=9, not in its 'categories'" in err
    bad = dict(demo, categories=[dict(id=1, name='dog'),
                                 dict(id=2, name='bird')])
    demo_path.write_text(json.dumps(bad))
    assert tool.main([str(gt_path), str(demo_path)]) == 1
    assert ("is of class 'bird', which the ground truth has no category of"
            in capsys.readouterr().err)


def test_identity_metrics(files, tmp_path, capsys, monkeypatch):
    """--identity on the fixture: class 'cat' has its object tracked
    exactly (2 frames) and a false 1-frame track (the dog called a cat),
    class 'dog' a missed 1-frame object. Detection-averaged: IDTP 2, IDFN
    1, IDFP 1 -> IDF1 2/3; DetA 2 / (2 + 1 + 1), AssA 1 -> HOTA sqrt(.5).
    Above --score-thr .85 the false track goes: IDF1 = 2 / 2.5."""
    pytest.importorskip('trackeval')
    gt_path, res_path = files
    out = tmp_path / 'metrics.json'
    tool = load_tool(TOOL)
    assert tool.main([str(gt_path), str(res_path), '--identity', '--out',
                      str(out)]) == 0
    assert 'IDSW' in capsys.readouterr().out
    ident = json.loads(out.read_text())['identity']
    assert ident['IDF1'] == pytest.approx(2 / 3)
    assert (ident['IDTP'], ident['IDFN'], ident['IDFP'], ident['IDSW']) == \
        (2, 1, 1, 0)
    assert ident['HOTA'] == pytest.approx(0.5 ** 0.5)
    assert ident['per_video']['1']['IDF1'] == pytest.approx(2 / 3)
    assert tool.main([str(gt_path), str(res_path), '--identity',
                      '--score-thr', '0.85', '--out', str(out)]) == 0
    ident = json.loads(out.read_text())['identity']
    assert ident['IDF1'] == pytest.approx(0.8) and ident['num_kept'] == 1
    # without TrackEval: one line naming the extra, exit 1
    monkeypatch.setitem(sys.modules, 'trackeval', None)
    capsys.readouterr()
    assert tool.main([str(gt_path), str(res_path), '--identity']) == 1
    err = capsys.readouterr().err
    assert "mmvis_pretrain[identity]" in err and err.count('\n') == 1
