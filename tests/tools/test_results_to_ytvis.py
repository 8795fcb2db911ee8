"""tools/dataset_converters/results_to_ytvis.py: demo JSONs and a
results.json become a validated training JSON (score threshold, one
annotation per track, frame paths, errors naming the file)."""
import json

import numpy as np
from pycocotools import mask as mask_utils

from tool_loader import load_tool

TOOL = 'tools/dataset_converters/results_to_ytvis.py'
H, W = 8, 10


def rle(y0=1, x0=2, y1=4, x1=6, h=H, w=W):
    m = np.zeros((h, w), np.uint8, order='F')
    m[y0:y1, x0:x1] = 1
    r = mask_utils.encode(m)
    return dict(size=r['size'], counts=r['counts'].decode())


def demo_json(path, frames_dir, results, categories=('cat', 'dog')):
    names = [str(frames_dir / f'{t:05d}.jpg') for t in range(3)]
    path.write_text(json.dumps(dict(
        video=dict(id=1, name=str(frames_dir), file_names=names, length=3,
                   height=H, width=W, fps=25, skipped_frames=[]),
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(categories)],
        results=results)))
    return path


def test_demo_jsons_to_training_json(tmp_path, capsys):
    root = tmp_path / 'frames'
    empty = rle(0, 0, 0, 0)
    first = demo_json(tmp_path / 'a.json', root / 'a', [
        dict(video_id=1, category_id=1, score=0.9, track_id=1,
             segmentations=[rle(), empty, rle()]),
        dict(video_id=1, category_id=2, score=0.6, track_id=1,  # same track
             segmentations=[rle(), empty, rle()]),
        dict(video_id=1, category_id=2, score=0.4, track_id=2,  # too low
             segmentations=[rle()] * 3)])
    second = demo_json(tmp_path / 'b.json', root / 'b', [
        dict(video_id=1, category_id=2, score=0.8, track_id=1,
             segmentations=[None, rle(5, 5, 8, 9), None])])
    out = tmp_path / 'train.json'
    assert load_tool(TOOL).main([str(first), str(second), '--out', str(out),
                                 '--frames-root', str(root)]) == 0
    data = json.loads(out.read_text())
    assert [v['id'] for v in data['videos']] == [1, 2]  # renumbered
    assert data['videos'][1]['file_names'][0] == 'b/00000.jpg'
    assert [c['name'] for c in data['categories']] == ['cat', 'dog']
    (a, b) = data['annotations']
    assert (a['video_id'], a['category_id'], a['score']) == (1, 1, 0.9)
    assert a['segmentations'][1] is None  # empty mask -> null
    assert a['areas'][0] == 12 and a['iscrowd'] == 0
    assert (b['video_id'], b['category_id']) == (2, 2)
    assert 'wrote' in capsys.readouterr().out


def test_results_json_with_videos_and_errors(tmp_path, capsys):
    valid = dict(videos=[dict(id=5, height=H, width=W, length=3,
                              file_names=['v/0.jpg', 'v/1.jpg', 'v/2.jpg'])],
                 categories=[dict(id=3, name='cat')], annotations=None)
    (tmp_path / 'valid.json').write_text(json.dumps(valid))
    results = [dict(video_id=5, category_id=3, score=0.7,
                    segmentations=[rle(), None, None])]
    (tmp_path / 'results.json').write_text(json.dumps(results))
    out = tmp_path / 'train.json'
    tool = load_tool(TOOL)
    argv = [str(tmp_path / 'results.json'), '--videos',
            str(tmp_path / 'valid.json'), '--out', str(out)]
    assert tool.main(argv) == 0
    data = json.loads(out.read_text())
    assert data['annotations'][0]['video_id'] == 5
    assert data['categories'] == [dict(id=1, name='cat')]
    # a result of an unknown video; a mask of another size: named
    (tmp_path / 'results.json').write_text(json.dumps(
        results + [dict(results[0], video_id=6)]))
    assert tool.main(argv) == 1
    assert 'result #1 has video_id=6' in capsys.readouterr().err
    (tmp_path / 'results.json').write_text(json.dumps(
        [dict(results[0], segmentations=[None, rle(h=9), None])]))
    assert tool.main(argv) == 1
    err = capsys.readouterr().err
    assert 'video 5, frame 1: a mask of size [9, 10]' in err
    # a results.json without --videos; a demo run on a video file
    assert tool.main([str(tmp_path / 'results.json'), '--out',
                      str(out)]) == 1
    assert 'needs --videos' in capsys.readouterr().err
    mp4 = demo_json(tmp_path / 'm.json', tmp_path, [])
    data = json.loads(mp4.read_text())
    data['video']['file_names'] = None
    mp4.write_text(json.dumps(data))
    assert tool.main([str(mp4), '--out', str(out)]) == 1
    assert 'run video_demo.py on a folder of its frames' in \
        capsys.readouterr().err
