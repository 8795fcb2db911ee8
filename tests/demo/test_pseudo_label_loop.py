"""The pseudo-label loop: the simulated annotator's rules on planted
predictions, and the whole loop (demo/pseudo_label_loop.py) on tiny
synthetic data with its tools run in-process: the corrected training JSON
round-trips to the ground truth's objects; the AP is reported, not
asserted."""
import importlib.util
import json
import os.path as osp
import sys
from collections import Counter

import numpy as np
import pytest
from pycocotools import mask as mask_utils

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(relpath: str, name: str):
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


annotator = _load('demo/simulate_annotator.py', 'simulate_annotator_t')


def _rect(y0, x0, y1, x1, h=12, w=16):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_annotator_rules_on_planted_predictions():
    """Object 0 (cat, 4 frames) predicted as two ids (a split) with one
    poor mask; object 1 (dog) missed; id 9 false; id 2 labelled dog."""
    a, b = _rect(0, 0, 6, 6), _rect(6, 8, 12, 16)
    video = dict(stems=['0', '1', '2', '3'], height=12, width=16,
                 objects=[('cat', [a, a, a, None]),
                          ('dog', [b, b, None, None])])
    poor = _rect(0, 0, 2, 2)  # IoU 4/36 with a
    pred = {1: [a, a, None, None], 2: [None, None, poor, a],
            9: [_rect(10, 0, 12, 2)] * 4}
    classes = {1: 'cat', 2: 'dog', 9: 'cat'}
    edits = Counter()
    maps, out_classes = annotator.correct_video(pred, classes, video, 0.5,
                                                edits)
    assert edits == Counter(deleted_tracks=1, merged_tracks=1,
                            relabelled_tracks=1, added_tracks=1,
                            kept_masks=2, redrawn_masks=3, erased_masks=1)
    assert out_classes == {1: 'cat', 10: 'dog'}
    assert np.array_equal(maps[2] == 1, a)  # the poor mask redrawn
    assert np.array_equal(maps[0] == 10, b)  # the missed dog added
    assert not (maps[3] > 0).any()  # the cat is gone: its mask erased
    assert not (maps[0] == 9).any()


@pytest.mark.slow
def test_loop_round_trips_on_tiny_synthetic_data(tmp_path, monkeypatch):
    loop = _load('demo/pseudo_label_loop.py', 'pseudo_label_loop_t')
    tools = {}

    def in_process(cmd, log_file=None):  # the tools without new processes
        script, *argv = [str(c) for c in cmd]
        if script not in tools:
            tools[script] = _load(script, 'tool_' + script.replace(
                '/', '_').replace('.py', '') + '_loop')
        rc = tools[script].main(argv)
        assert rc in (None, 0) or not isinstance(rc, int), (script, rc)

    monkeypatch.setattr(loop.run_demo, 'run', in_process)
    work = tmp_path / 'loop'
    report = loop.main(['--work-dir', str(work), '--train-iters', '2',
                        '--finetune-iters', '1', '--own-videos', '2',
                        '--held-out-videos', '1', '--public-images', '4',
                        '--public-videos', '2', '--score-thr', '0.0',
                        '--arms', 'corrected'])
    assert set(report['metrics']) == {'public only',
                                      'fine-tuned on corrected'}
    for row in report['metrics'].values():
        assert -1 <= row['AP'] <= 1 and 0 <= row['HOTA'] <= 1
    assert (work / 'report.md').is_file()
    # the corrected JSON holds the ground truth's objects: every frame of
    # every object, each mask the prediction's (kept) or the truth's
    gt = json.load(open(work / 'data/own/ytvis/train.json'))
    corrected = json.load(open(work / 'corrected_train.json'))
    edits = report['edits']
    gt_masks = sum(s is not None for a in gt['annotations']
                   for s in a['segmentations'])
    assert edits['kept_masks'] + edits['redrawn_masks'] == gt_masks
    assert len(corrected['annotations']) == len(gt['annotations'])
    frames = sorted(tuple(s is not None for s in a['segmentations'])
                    for a in corrected['annotations'])
    assert frames == sorted(tuple(s is not None for s in a['segmentations'])
                            for a in gt['annotations'])
    names = {c['id']: c['name'] for c in corrected['categories']}
    gt_names = {c['id']: c['name'] for c in gt['categories']}
    assert sorted(names[a['category_id']] for a in corrected['annotations']
                  ) == sorted(gt_names[a['category_id']]
                              for a in gt['annotations'])
    if edits['kept_masks'] == 0:  # all redrawn: exactly the truth
        areas = sorted(int(mask_utils.area(s)) for a in
                       corrected['annotations'] for s in a['segmentations']
                       if s is not None)
        assert areas == sorted(a for ann in gt['annotations']
                               for a in ann['areas'] if a is not None)
    sys.modules.pop('pseudo_label_loop_t', None)


def test_annotator_names_a_png_folder_without_a_video(tmp_path):
    """A PNG folder no ground-truth video has its frames in: a ValueError
    naming the folder and the JSON; the output folder is not written."""
    gt = dict(categories=[dict(id=1, name='cat')],
              videos=[dict(id=1, file_names=['vid_a/0.jpg'], height=4,
                           width=4)],
              annotations=[])
    gt_json = tmp_path / 'gt.json'
    gt_json.write_text(json.dumps(gt))
    png_dir = tmp_path / 'png'
    (png_dir / 'vid_b').mkdir(parents=True)
    (png_dir / 'classes.json').write_text('{}')
    out = tmp_path / 'corrected'
    with pytest.raises(ValueError, match=r'png/vid_b: no video of .*gt\.json'):
        annotator.simulate_annotator(str(png_dir), str(gt_json), str(out))
    assert not out.exists()
