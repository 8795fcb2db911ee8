"""tools/analysis_tools/check_submission.py: a correct archive passes; each
planted fault is reported under its video, all at once, with exit 1."""
import json
import zipfile

import numpy as np
from pycocotools import mask as mask_utils

from tool_loader import load_tool

TOOL = 'tools/analysis_tools/check_submission.py'
H, W = 8, 10


def rle(h=H, w=W):
    m = np.zeros((h, w), np.uint8, order='F')
    m[1:4, 2:6] = 1
    r = mask_utils.encode(m)
    return dict(size=r['size'], counts=r['counts'].decode())


def valid_json(tmp_path):
    """The public valid.json: videos and categories, no annotations."""
    valid = dict(
        videos=[dict(id=v, height=H, width=W, length=3,
                     file_names=[f'v{v}/{t}.jpg' for t in range(3)])
                for v in (1, 2, 3)],
        categories=[dict(id=1, name='cat'), dict(id=2, name='dog')],
        annotations=None)
    path = tmp_path / 'valid.json'
    path.write_text(json.dumps(valid))
    return path


def good_results():
    return [dict(video_id=v, category_id=1 + v % 2, score=0.5,
                 segmentations=[rle(), None, rle()]) for v in (1, 2, 3)]


def write_zip(path, results, name='results.json'):
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(name, json.dumps(results))
    return path


def run(tmp_path, zip_path, capsys, *extra):
    rc = load_tool(TOOL).main([str(valid_json(tmp_path)), str(zip_path),
                               *extra])
    return rc, capsys.readouterr().out


def test_a_correct_submission_passes(tmp_path, capsys):
    rc, out = run(tmp_path, write_zip(tmp_path / 's.zip', good_results()),
                  capsys)
    assert rc == 0 and 'OK, 3 results for 3 videos' in out


def test_planted_faults_are_reported_by_video(tmp_path, capsys):
    results = good_results()
    results[0]['segmentations'] = [rle(), None]              # wrong length
    results[1]['segmentations'][0] = rle(H, W + 2)           # wrong size
    results[2]['score'] = 1.5                                # out of range
    bad = rle()
    bad['counts'] = bad['counts'][:-2] + 'zz'                # bad RLE
    results += [
        dict(video_id=9, category_id=1, score=0.5,
             segmentations=[None] * 3),                      # unknown video
        dict(video_id=3, category_id=7, score=0.5,
             segmentations=[bad, None, None]),               # bad RLE, cat
    ]
    rc, out = run(tmp_path, write_zip(tmp_path / 's.zip', results), capsys)
    assert rc == 1
    blocks = {b.split(':\n')[0]: b for b in out.split('\nvideo ')}
    assert "result #0: 'segmentations' has 2 entries, the video has 3 " \
        'frames' in blocks['1']
    assert 'result #1: frame 0:' in blocks['2'] and '[8, 12]' in blocks['2']
    assert 'result #2: score 1.5 is not a number in [0, 1]' in blocks['3']
    assert 'result #4: category_id=7' in blocks['3']
    assert 'result #4: frame 0:' in blocks['3']
    assert 'result #3: video_id=9 is not a video of valid.json' in \
        blocks['9']
    assert out.index('video 1:') < out.index('video 2:') < \
        out.index('video 3:') < out.index('video 9:')


def test_archive_faults(tmp_path, capsys):
    nested = tmp_path / 'nested.zip'
    with zipfile.ZipFile(nested, 'w') as zf:
        zf.writestr('sub/results.json', json.dumps(good_results()))
    rc, out = run(tmp_path, nested, capsys)
    assert rc == 1 and 'no results.json at the archive root' in out
    assert 'move sub/results.json to the root' in out
    rc, out = run(tmp_path, write_zip(tmp_path / 'n.zip', good_results(),
                                      'result.json'), capsys)
    assert rc == 1 and 'found result.json' in out
    plain = tmp_path / 'results.json'
    plain.write_text(json.dumps(good_results()))
    rc, out = run(tmp_path, plain, capsys)
    assert rc == 1 and 'is not a zip archive' in out
    broken = tmp_path / 'b.zip'
    with zipfile.ZipFile(broken, 'w') as zf:
        zf.writestr('results.json', '[{"video_id": 1,')
    rc, out = run(tmp_path, broken, capsys)
    assert rc == 1 and 'not valid JSON' in out


def test_too_many_results_and_warnings(tmp_path, capsys):
    results = good_results()[:2] + [
        dict(video_id=1, category_id=1, score=0.1, segmentations=[None] * 3)
    ] * 3
    rc, out = run(tmp_path, write_zip(tmp_path / 's.zip', results), capsys,
                  '--max-per-video', '2')
    assert rc == 1 and '4 results, more than 2' in out
    assert '1 of 3 videos have no result' in out
    assert 'result #2 has no mask in any frame' in out


def test_bad_valid_json_one_line_error(tmp_path, capsys):
    valid = tmp_path / 'v.json'
    valid.write_text('{"videos": [{"id": 1}], "categories": []}')
    assert load_tool(TOOL).main([str(valid), str(tmp_path / 'x.zip')]) == 1
    err = capsys.readouterr().err
    assert "video 1: 'height' must be a positive int" in err
    assert err.count('\n') == 1
