"""Per-video error analysis (``analyze_vis_errors``): a planted miss, false
track, ID switch (at its frame) and class confusion are found; the switch
count equals TrackEval's ID switches with one category."""
import sys

import numpy as np
import pytest

from mmvis_pretrain.evaluation.functional.vis_errors import (
    analyze_vis_errors, occlusion_level)

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from test_vis_eval import ann, gt_dict, rect, res, video  # noqa: E402

A, B, C = rect(0, 0, 5, 5), rect(6, 0, 11, 5), rect(0, 9, 5, 15)


def planted():
    """Video 1 (5 frames): object 11 (cat1) tracked but its id changes at
    frame 3; object 12 (cat1) missed; object 13 (cat2) tracked as cat1
    (class confusion); one false track. Video 2: perfect."""
    occ = ['no_occlusion', 'severe_occlusion', 'severe_occlusion', None,
           'slight_occlusion']
    gt = gt_dict([video(1, 5), video(2, 2)], [
        ann(11, 1, 1, [A] * 5, occlusion=occ),
        ann(12, 1, 1, [B, B, None, None, None], occlusion=['no_occlusion'] *
            2 + [None] * 3),
        ann(13, 1, 2, [None, C, C, C, None], occlusion=[None] +
            ['no_occlusion'] * 3 + [None]),
        ann(14, 2, 2, [A, A], occlusion=['no_occlusion'] * 2)])
    results = [
        res(1, 1, 0.9, [A, A, A, None, None]),      # 0: object 11, 0-2
        res(1, 1, 0.8, [None, None, None, A, A]),   # 1: object 11, 3-4
        res(1, 1, 0.7, [None, C, C, C, None]),      # 2: object 13 as cat1
        res(1, 2, 0.6, [None, None, rect(8, 8, 11, 11)] + [None] * 2),  # 3
        res(1, 2, 0.1, [B, B, None, None, None]),   # 4: below threshold
        res(2, 2, 0.9, [A, A]),                     # 5
    ]
    return gt, results


def test_planted_errors_are_found():
    out = analyze_vis_errors(*planted())
    worst, best = out['videos']
    assert worst['video_id'] == 1 and best['errors'] == 0
    assert (worst['missed'], worst['false'], worst['id_switches'],
            worst['class_confusions'], worst['errors']) == (1, 1, 1, 1, 4)
    assert worst['recall'] == pytest.approx(8 / 10)
    obj = {o['gt_id']: o for o in out['objects']}
    assert obj[11]['switch_frames'] == [3] and obj[11]['results'] == [0, 1]
    assert obj[11]['status'] == 'tracked'
    assert obj[12]['status'] == 'missed' and obj[12]['matched_frames'] == 0
    assert obj[13]['status'] == 'class_confused'
    assert (obj[13]['category'], obj[13]['matched_category']) == ('cat2',
                                                                   'cat1')
    # occlusion: mean of the top half of (0, .75, .75, .25) = .75 -> heavy
    assert obj[11]['occlusion'] == 0.75
    assert obj[11]['occlusion_level'] == 'heavy'
    assert obj[14]['occlusion_level'] == 'light'
    trk = {t['result']: t for t in out['tracks']}
    assert trk[3]['status'] == 'false' and trk[2]['gt_ids'] == [13]
    assert 4 not in trk and out['num_kept'] == 5  # 0.1 <= 0.3
    assert out['matches'][1][3] == {11: 1, 13: 2}
    # the low-scoring result counts once kept: object 12 is found
    low = analyze_vis_errors(*planted(), score_thr=0.05)
    assert low['videos'][0]['missed'] == 0


def test_occlusion_levels():
    assert [occlusion_level(s) for s in (None, 0, .25, .3, .5, .75)] == \
        ['', 'light', 'light', 'medium', 'medium', 'heavy']


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_switches_equal_trackeval_idsw_with_one_category(seed):
    pytest.importorskip('trackeval')
    from mmvis_pretrain.evaluation.functional.identity_eval import \
        evaluate_identity
    from test_identity_eval import _random_case
    gt, results = _random_case(np.random.default_rng(seed), num_cats=1)
    errors = analyze_vis_errors(gt, results)
    ident = evaluate_identity(gt, results)
    assert sum(v['id_switches'] for v in errors['videos']) == ident['IDSW']
    for row in errors['videos']:
        assert row['id_switches'] == ident['per_video'][row['video_id']][
            'IDSW']
