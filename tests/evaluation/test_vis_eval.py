"""The official YouTube-VIS / OVIS evaluation (``evaluate_vis``): hand-computed
cases, validation errors, and equality with mmdet's port of the official
code on random data."""
import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import mmvis_pretrain  # noqa: F401  (np.float shim for mmdet's ytviseval)
from mmvis_pretrain.evaluation.functional import (STAT_KEYS, evaluate_vis,
                                                  greedy_match,
                                                  occlusion_score,
                                                  sequence_iou, track_rles)

H, W = 12, 16


def approx(value):
    """Equal up to float rounding: the official precision ``tp / (tp + fp +
    eps)`` makes a single true positive 1 - 2e-16."""
    return pytest.approx(value, rel=0, abs=1e-12)


def rect(y0, x0, y1, x1, h=H, w=W) -> np.ndarray:
    """A (h, w) uint8 mask with rows y0:y1 and columns x0:x1 set."""
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def rle(mask: np.ndarray, as_bytes: bool = False) -> dict:
    """Compressed RLE of a mask, counts as str (or bytes)."""
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return r if as_bytes else dict(size=r['size'],
                                   counts=r['counts'].decode())


def video(vid: int, length: int, h: int = H, w: int = W) -> dict:
    return dict(id=vid, height=h, width=w, length=length,
                file_names=[f'v{vid}/{t}.jpg' for t in range(length)])


def ann(aid, vid, cat, masks, iscrowd=0, **extra) -> dict:
    """A GT annotation from per-frame masks (None where absent)."""
    return dict(id=aid, video_id=vid, category_id=cat, iscrowd=iscrowd,
                segmentations=[None if m is None else rle(m) for m in masks],
                areas=[None if m is None else int(m.sum()) for m in masks],
                bboxes=[None] * len(masks), **extra)


def res(vid, cat, score, masks) -> dict:
    return dict(video_id=vid, category_id=cat, score=score,
                segmentations=[None if m is None else rle(m) for m in masks])


def gt_dict(videos, anns, num_cats=2) -> dict:
    return dict(videos=videos, annotations=anns,
                categories=[dict(id=c, name=f'cat{c}')
                            for c in range(1, num_cats + 1)])


def all_thresholds_ap(iou: float) -> float:
    """AP of a single GT matched by a single result of sequence IoU
    ``iou``: precision 1 at the thresholds <= iou, 0 above."""
    thrs = np.linspace(.5, .95, 10)
    return float(np.mean(thrs <= iou))


# --------------------------------------------------------- GT as results
def test_gt_as_results_gives_one():
    """Two videos, two categories, one GT per (video, category) in all mask
    forms (RLE str / bytes, uncompressed RLE, polygons, null frames)."""
    m0 = rect(1, 1, 5, 6)
    poly = [[8.0, 2.0, 14.0, 2.0, 14.0, 9.0, 8.0, 9.0]]
    a1 = ann(1, 1, 1, [m0, None, m0])
    a2 = ann(2, 1, 2, [None, None, None])
    a2['segmentations'] = [poly, poly, None]
    a2['areas'] = [42.0, 42.0, None]
    a3 = ann(3, 2, 1, [None, None])
    a3['segmentations'] = [dict(size=[H, W], counts=[20, 5, 7, 5,
                                                     H * W - 37]), None]
    a3['areas'] = [10, None]
    a4 = ann(4, 2, 2, [m0, m0])
    a4['segmentations'][1] = rle(m0, as_bytes=True)
    gt = gt_dict([video(1, 3), video(2, 2)], [a1, a2, a3, a4])
    results = []
    for a in gt['annotations']:
        rles, _ = track_rles(a['segmentations'], H, W, 'gt')
        results.append(
            dict(video_id=a['video_id'], category_id=a['category_id'],
                 score=1.0,
                 segmentations=[None if r is None else dict(
                     size=r['size'], counts=r['counts'].decode())
                     for r in rles]))
    gt_before = copy.deepcopy(gt)
    stats = evaluate_vis(gt, results)
    assert gt == gt_before  # inputs are not modified
    for key in ('AP', 'AP50', 'AP75', 'AP_s', 'AR1', 'AR10', 'AR100',
                'AR_s'):
        assert stats[key] == approx(1.0), key
    # no medium / large object: -1 as in the official summary, never NaN
    for key in ('AP_m', 'AP_l', 'AR_m', 'AR_l'):
        assert stats[key] == -1.0, key
    assert stats['per_category'] == {'cat1': 1.0, 'cat2': 1.0}
    assert 'AP_lo' not in stats
    assert set(stats) == set(STAT_KEYS) | {'per_category'}


def test_ar_at_one_result_per_video_and_category():
    """Two GTs of one category in one video, both found: AR1 = 0.5."""
    a, b = rect(0, 0, 4, 4), rect(6, 6, 10, 12)
    gt = gt_dict([video(1, 1)], [ann(1, 1, 1, [a]), ann(2, 1, 1, [b])])
    stats = evaluate_vis(gt, [res(1, 1, .9, [a]), res(1, 1, .8, [b])])
    assert stats['AR1'] == approx(0.5)
    assert stats['AR10'] == stats['AR100'] == approx(1.0)
    assert stats['AP'] == approx(1.0)


# ------------------------------------------------------ hand-computed AP
def test_partial_overlap_counts_up_to_its_iou():
    """Sequence IoU (5 + 1) / (5 + 5) = 0.6: a true positive at IoU
    thresholds .50, .55, .60 only -> AP 3/10, AP50 1, AP75 0."""
    g = rect(0, 0, 1, 5)  # 5 px
    part = rect(0, 0, 1, 1)  # 1 px inside g
    gt = gt_dict([video(1, 2)], [ann(1, 1, 1, [g, g])])
    results = [res(1, 1, .9, [g, part])]
    rles, areas = track_rles(results[0]['segmentations'], H, W, 'r')
    grles, gareas = track_rles(gt['annotations'][0]['segmentations'], H, W,
                               'g')
    assert sequence_iou([rles], areas[None], [grles], gareas[None]) == 0.6
    stats = evaluate_vis(gt, results)
    assert stats['AP'] == approx(0.3)
    assert stats['AP'] == approx(all_thresholds_ap(0.6))
    assert stats['AP50'] == approx(1.0) and stats['AP75'] == approx(0.0)
    assert stats['AR100'] == approx(0.3)


@pytest.mark.parametrize('pred_frames', [
    [True, True, False, True],  # absent in a GT frame
    'extra',  # present in a frame where the GT is absent
])
def test_missed_or_extra_frame_lowers_sequence_iou(pred_frames):
    """4 px per frame: a frame with only one side adds 4 px to the union:
    IoU 12 / 16 = .75 -> AP over thresholds .50 .. .75 = 6/10."""
    m = rect(2, 2, 4, 4)
    if pred_frames == 'extra':
        gt_masks = [m, m, m, None]
        pred = [m, m, m, m]
    else:
        gt_masks = [m, m, m, m]
        pred = [m if keep else None for keep in pred_frames]
    gt = gt_dict([video(1, 4)], [ann(1, 1, 1, gt_masks)])
    results = [res(1, 1, .5, pred)]
    rles, areas = track_rles(results[0]['segmentations'], H, W, 'r')
    grles, gareas = track_rles(gt['annotations'][0]['segmentations'], H, W,
                               'g')
    assert sequence_iou([rles], areas[None], [grles],
                        gareas[None])[0, 0] == 0.75
    stats = evaluate_vis(gt, results)
    assert stats['AP'] == approx(0.6)
    assert stats['AP75'] == approx(1.0)


def test_wrong_class():
    """Video 1: a cat1 object predicted as cat2 (score .9); video 2: a cat2
    object predicted right (score .8). cat1: missed -> AP 0. cat2: ranked
    FP, TP -> precision 1/2 at every recall -> AP .5. Mean .25."""
    a, b = rect(0, 0, 4, 4), rect(5, 5, 9, 9)
    gt = gt_dict([video(1, 1), video(2, 1)],
                 [ann(1, 1, 1, [a]), ann(2, 2, 2, [b])])
    results = [res(1, 2, .9, [a]), res(2, 2, .8, [b])]
    stats = evaluate_vis(gt, results)
    assert stats['per_category']['cat1'] == 0.0
    assert stats['per_category']['cat2'] == approx(0.5)
    assert stats['AP'] == approx(0.25)
    # only the wrong-class result: cat2 has no GT (-1, left out of the
    # mean), cat1 has no true positive
    stats = evaluate_vis(gt_dict([video(1, 1)], [ann(1, 1, 1, [a])]),
                         [res(1, 2, .9, [a])])
    assert stats['per_category'] == {'cat1': 0.0, 'cat2': -1.0}
    assert stats['AP'] == approx(0.0) and stats['AR100'] == approx(0.0)


def test_duplicate_detection_is_a_false_positive():
    """Video 1: GT a, results a (.9) and its duplicate (.8); video 2: GT b,
    result b (.7). Ranked TP, FP, TP over 2 GTs: recall .5, .5, 1 and
    precision 1, 1/2, 2/3 -> interpolated 1 for recall <= .5 (51 points),
    2/3 above (50 points): AP = (51 + 50 * 2/3) / 101 = 253/303."""
    a, b = rect(0, 0, 4, 4), rect(5, 5, 9, 9)
    gt = gt_dict([video(1, 1), video(2, 1)],
                 [ann(1, 1, 1, [a]), ann(2, 2, 1, [b])], num_cats=1)
    results = [res(1, 1, .9, [a]), res(1, 1, .8, [a]), res(2, 1, .7, [b])]
    stats = evaluate_vis(gt, results)
    assert stats['AP'] == approx(253 / 303)
    assert stats['AP50'] == approx(253 / 303)
    # one result per (video, category): the duplicate is cut
    assert stats['AR1'] == approx(1.0)
    # without the duplicate: AP 1
    assert evaluate_vis(gt, [results[0], results[2]])['AP'] == approx(1.0)


def test_crowd_gt_absorbs_any_number_of_results():
    """Regular GT g and crowd GT c. Results (score): c-copy (.95), c-copy
    (.93), stray (.92), g-copy (.9). Both c-copies match the crowd and are
    ignored; ranked FP, TP over 1 GT -> precision 1/2 everywhere: AP .5.
    With iscrowd=0 the second c-copy is a FP: TP, FP, FP, TP over 2 GTs ->
    1 for recall <= .5, 1/2 above: AP (51 + 25) / 101."""
    g, c, stray = rect(0, 0, 3, 3), rect(5, 0, 12, 6), rect(0, 10, 3, 16)
    results = [res(1, 1, .95, [c]), res(1, 1, .93, [c]),
               res(1, 1, .92, [stray]), res(1, 1, .9, [g])]

    def run(iscrowd):
        gt = gt_dict([video(1, 1)], [ann(1, 1, 1, [g]),
                                     ann(2, 1, 1, [c], iscrowd=iscrowd)],
                     num_cats=1)
        return evaluate_vis(gt, results)

    assert run(1)['AP'] == approx(0.5)
    assert run(1)['AR100'] == approx(1.0)  # the crowd is not a GT to find
    assert run(0)['AP'] == approx(76 / 101)


def test_area_ranges():
    """One category, one frame of 320 x 700: GTs small (10^2), medium
    (150^2) and large (300^2 > 256^2); results: a large stray hitting no GT
    (.95), small (.9) and large (.8) found, medium missed.
    all: FP, TP, TP over 3 GTs -> precision 2/3 up to recall 2/3 (points
    0 .. .66: 67 of 101), AP = 67/101 * 2/3.
    small: the stray (outside the range, unmatched) and the large result
    (matched to an ignored GT) are ignored -> AP_s 1.
    medium: nothing found -> AP_m 0. large: FP, (ignored), TP -> 1/2."""
    h, w = 320, 700
    small, med = rect(0, 0, 10, 10, h, w), rect(10, 10, 160, 160, h, w)
    large = rect(20, 0, 320, 300, h, w)
    stray = rect(20, 400, 320, 700, h, w)
    gt = dict(videos=[video(1, 1, h, w)],
              categories=[dict(id=1, name='thing')],
              annotations=[ann(1, 1, 1, [small]), ann(2, 1, 1, [med]),
                           ann(3, 1, 1, [large])])
    results = [res(1, 1, .95, [stray]), res(1, 1, .9, [small]),
               res(1, 1, .8, [large])]
    stats = evaluate_vis(gt, results)
    assert stats['AP'] == approx(67 / 101 * 2 / 3)
    assert stats['AR100'] == approx(2 / 3)
    assert stats['AP_s'] == approx(1.0) and stats['AR_s'] == approx(1.0)
    assert stats['AP_m'] == approx(0.0) and stats['AR_m'] == approx(0.0)
    assert stats['AP_l'] == approx(0.5)
    assert stats['AR_l'] == approx(1.0)


def test_gt_area_is_the_mean_of_its_areas_entries():
    """The official avg_area comes from the 'areas' list (truthy entries),
    not from the masks: a 4-px mask declared 40000 px is 'medium'."""
    m = rect(0, 0, 2, 2)
    a = ann(1, 1, 1, [m, m])
    a['areas'] = [40000, 0]  # the 0 is skipped like a null
    stats = evaluate_vis(gt_dict([video(1, 2)], [a], 1),
                         [res(1, 1, .9, [m, m])])
    assert stats['AP_m'] == approx(1.0) and stats['AP_s'] == -1.0
    del a['areas']  # without 'areas': the mask areas (4 px)
    stats = evaluate_vis(gt_dict([video(1, 2)], [a], 1),
                         [res(1, 1, .9, [m, m])])
    assert stats['AP_s'] == approx(1.0) and stats['AP_m'] == -1.0


def test_greedy_match_prefers_regular_gt_and_later_ties():
    ious = np.array([[.8, .9, .9], [.3, .7, .95]])
    # GT 1 is ignored: result 0 takes GT 2 (regular, despite the .9 of the
    # ignored GT 1); result 1 finds no free regular GT >= .5 and falls back
    # to the ignored GT 1
    gt_index, on_ig = greedy_match(ious, np.array([False, True, False]),
                                   np.zeros(3, bool), np.array([.5]))
    assert gt_index.tolist() == [[2, 1]]
    assert on_ig.tolist() == [[False, True]]
    # nothing ignored: result 0 takes the later of the two .9 (GT 2), so
    # result 1 takes GT 1 at .5; at .92 result 0 has no GT, result 1 GT 2
    gt_index, on_ig = greedy_match(ious, np.zeros(3, bool),
                                   np.zeros(3, bool), np.array([.5, .92]))
    assert gt_index.tolist() == [[2, 1], [-1, 2]]
    assert not on_ig.any()
    # a crowd GT takes several results; a regular one only the first
    crowd = np.array([False, False, True])
    gt_index, on_ig = greedy_match(np.array([[.0, .0, .6], [.0, .0, .7]]),
                                   crowd, crowd, np.array([.5]))
    assert gt_index.tolist() == [[2, 2]] and on_ig.all()


# ------------------------------------------------------------ occlusion
def test_occlusion_score():
    assert occlusion_score(['no_occlusion', 'slight_occlusion',
                            'severe_occlusion', None], 'a') == 0.5
    assert occlusion_score(['slight_occlusion'] + ['no_occlusion'] * 3,
                           'a') == 0.125
    assert occlusion_score(['severe_occlusion', None], 'a') == 0.75
    with pytest.raises(ValueError, match='no non-null'):
        occlusion_score([None, None], 'annotation 7')
    with pytest.raises(ValueError, match="'partial'"):
        occlusion_score(['partial'], 'annotation 7')


def test_occlusion_ranges():
    """GTs A (score 0: light), B (top half of 0, .25, .75 -> .5: medium
    and heavy), C (.75: heavy); A and C found. light: A -> 1. medium: B
    missed -> 0. heavy: B, C with A's result matched to an ignored GT:
    (ignored), TP -> 1 up to recall .5 (51 points): 51/101."""
    a, b, c = rect(0, 0, 3, 3), rect(4, 4, 7, 7), rect(8, 8, 11, 11)
    no, sl, se = 'no_occlusion', 'slight_occlusion', 'severe_occlusion'
    gt = gt_dict([video(1, 3)], [
        ann(1, 1, 1, [a, a, a], occlusion=[no, no, no]),
        ann(2, 1, 1, [b, b, b], occlusion=[se, sl, no]),
        ann(3, 1, 1, [c, None, None], occlusion=[se, None, None]),
    ], num_cats=1)
    results = [res(1, 1, .9, [a, a, a]), res(1, 1, .8, [c, None, None])]
    stats = evaluate_vis(gt, results)
    assert stats['AP_lo'] == approx(1.0) and stats['AR_lo'] == approx(1.0)
    assert stats['AP_mo'] == approx(0.0) and stats['AR_mo'] == approx(0.0)
    assert stats['AP_ho'] == approx(51 / 101)
    assert stats['AR_ho'] == approx(0.5)
    # the standard statistics do not depend on the occlusion labels
    plain = copy.deepcopy(gt)
    for x in plain['annotations']:
        del x['occlusion']
    base = evaluate_vis(plain, results)
    assert {k: stats[k] for k in STAT_KEYS} == \
        {k: base[k] for k in STAT_KEYS}
    # labels on some annotations only
    del plain['annotations'][0], gt['annotations'][1]['occlusion']
    with pytest.raises(ValueError, match=r"id=2 .*no 'occlusion'"):
        evaluate_vis(gt, [])


# ----------------------------------------------------------- validation
def _one():
    m = rect(0, 0, 3, 3)
    return gt_dict([video(1, 2)], [ann(1, 1, 1, [m, None])]), \
        res(1, 1, .5, [m, None])


@pytest.mark.parametrize('change, match', [
    (lambda g, r: r.update(video_id=9), r'result #0: video_id=9'),
    (lambda g, r: r.update(category_id=5),
     r'result #0 \(video 1\): category_id=5'),
    (lambda g, r: r['segmentations'].append(None),
     r"result #0 \(video 1\): 'segmentations' .* length 2.* got 3"),
    (lambda g, r: r['segmentations'][0].update(size=[W, H]),
     r'result #0 \(video 1\), frame 0: RLE .*\[16, 12\].*\[12, 16\]'),
    (lambda g, r: r.update(score=float('nan')),
     r'result #0 \(video 1\): score must be a finite number'),
    (lambda g, r: r.update(score=float('inf')), 'finite'),
    (lambda g, r: g.update(annotations=None), 'null'),
    (lambda g, r: g.update(annotations=[]), 'empty'),
    (lambda g, r: g['annotations'][0].update(category_id=3),
     r'annotation id=1 \(video 1\): category_id=3'),
    (lambda g, r: g['annotations'][0]['segmentations'].pop(),
     r"annotation id=1 \(video 1\): 'segmentations'"),
    (lambda g, r: g['annotations'][0].update(video_id=4),
     r'annotation id=1.*video_id=4'),
])
def test_validation_errors(change, match):
    gt, result = _one()
    change(gt, result)
    with pytest.raises(ValueError, match=match):
        evaluate_vis(gt, [result])


def test_no_results_gives_zero():
    gt, _ = _one()
    stats = evaluate_vis(gt, [])
    assert stats['AP'] == approx(0.0) and stats['AR100'] == approx(0.0)


# ------------------------------------------- equality with mmdet's port
def _random_case(seed):
    """Random videos / categories / tracks with null frames, crowds, score
    ties, duplicates, wrong classes and strays."""
    rng = np.random.default_rng(seed)
    h, w = (int(rng.choice([24, 300])), int(rng.choice([30, 400])))
    length, num_cats = int(rng.integers(1, 5)), int(rng.integers(1, 4))

    def rand_mask():
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        return rect(y0, x0, rng.integers(y0, h + 1), rng.integers(x0, w + 1),
                    h, w)

    videos = [video(v, length, h, w) for v in range(1, rng.integers(2, 5))]
    anns, results = [], []
    for v in videos:
        for _ in range(rng.integers(0, 4)):
            masks = [None if rng.random() < .25 else rand_mask()
                     for _ in range(length)]
            if all(m is None for m in masks):
                continue
            cat = int(rng.integers(1, num_cats + 1))
            anns.append(ann(len(anns) + 1, v['id'], cat, masks,
                            iscrowd=int(rng.random() < .15)))
            for _ in range(rng.integers(0, 3)):
                pred = []
                for m in masks:
                    if m is None or rng.random() < .2:
                        pred.append(None if rng.random() < .7 else
                                    rand_mask())
                    else:
                        pred.append(np.roll(m, int(rng.integers(-3, 4)),
                                            axis=int(rng.integers(0, 2))))
                c = cat if rng.random() < .8 else int(
                    rng.integers(1, num_cats + 1))
                results.append(res(v['id'], c, float(
                    np.round(rng.random(), 1)), pred))
        for _ in range(rng.integers(0, 3)):
            results.append(res(
                v['id'], int(rng.integers(1, num_cats + 1)),
                float(np.round(rng.random(), 1)),
                [None if rng.random() < .3 else rand_mask()
                 for _ in range(length)]))
    results += [dict(r) for r in results if rng.random() < .3]
    return gt_dict(videos, anns, num_cats), results


def _mmdet_stats(gt, results):
    from mmdet.evaluation.functional import YTVIS, YTVISeval
    with contextlib.redirect_stdout(io.StringIO()):
        ytvis = YTVIS(copy.deepcopy(gt))
        dets = ytvis.loadRes(copy.deepcopy(results))
        ev = YTVISeval(ytvis, dets, 'segm')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def test_equal_to_mmdet_port_on_random_data():
    checked = 0
    for seed in range(40):
        gt, results = _random_case(seed)
        if not gt['annotations'] or not results:
            continue
        ours = evaluate_vis(gt, results)
        theirs = _mmdet_stats(gt, results)
        np.testing.assert_allclose(
            [ours[k] for k in STAT_KEYS], theirs, rtol=0, atol=1e-9,
            err_msg=f'seed {seed}')
        checked += 1
    assert checked >= 25


def test_equal_to_mmdet_port_beyond_max_dets():
    """120 copies of a GT (ties in score): only the top 1 / 10 / 100 per
    (video, category) count."""
    gt, results = _random_case(3)
    target = gt['annotations'][0]
    rng = np.random.default_rng(0)
    for _ in range(120):
        results.append(dict(video_id=target['video_id'],
                            category_id=target['category_id'],
                            score=float(np.round(rng.random(), 1)),
                            segmentations=copy.deepcopy(
                                target['segmentations'])))
    ours = evaluate_vis(gt, results)
    np.testing.assert_allclose([ours[k] for k in STAT_KEYS],
                               _mmdet_stats(gt, results), rtol=0, atol=1e-9)
