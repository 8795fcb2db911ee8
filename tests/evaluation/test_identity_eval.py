"""Identity-aware VIS metrics (``evaluate_identity``): ground truth fed
back, a track split in two computed by hand, equality with TrackEval's own
YouTube-VIS evaluation run on the same files, the kept results, errors."""
import json
import sys

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_pretrain.evaluation.functional.identity_eval import (
    evaluate_identity, kept_result_indices)

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from test_vis_eval import ann, gt_dict, rect, res, video  # noqa: E402

pytest.importorskip('trackeval')

M = rect(2, 2, 8, 8)


def test_ground_truth_fed_back_is_perfect():
    m2 = rect(0, 9, 5, 15)
    gt = gt_dict([video(1, 4), video(2, 3)], [
        ann(7, 1, 1, [M, M, None, M]), ann(8, 1, 2, [m2] * 4),
        ann(9, 2, 1, [None, m2, m2])])
    results = [res(a['video_id'], a['category_id'], 1.0,
                   [None if s is None else mask_utils.decode(s)
                    for s in a['segmentations']])
               for a in gt['annotations']]
    stats = evaluate_identity(gt, results)
    assert (stats['HOTA'], stats['IDF1'], stats['IDSW']) == (1.0, 1.0, 0)
    assert stats['DetA'] == stats['AssA'] == stats['MOTA'] == 1.0
    assert stats['HOTA_cls'] == stats['IDF1_cls'] == 1.0
    assert set(stats['per_video']) == {1, 2}
    assert stats['per_category']['cat2']['HOTA'] == 1.0
    assert (stats['num_results'], stats['num_kept']) == (3, 3)


def test_a_track_split_in_two_by_hand():
    """One object over 4 frames; the prediction changes id at frame 2.

    CLEAR: 4 TP, 1 ID switch, MOTA = (4 - 0 - 1) / 4. IDF1: the best
    one-to-one id match covers 2 of 4 frames: IDTP 2, IDFN 2, IDFP 2 ->
    2 / (2 + 1 + 1). HOTA: every frame a perfect detection (DetA 1); each
    TP's association is 2 frames of the 4 of the union of the two ids'
    frames (TPA 2, FNA 2, FPA 0): AssA 1/2, HOTA sqrt(1/2)."""
    gt = gt_dict([video(1, 4)], [ann(7, 1, 1, [M] * 4)])
    split = [res(1, 1, 0.9, [M, M, None, None]),
             res(1, 1, 0.8, [None, None, M, M])]
    stats = evaluate_identity(gt, split)
    assert stats['IDSW'] == 1 and stats['CLR_TP'] == 4
    assert stats['MOTA'] == pytest.approx(0.75)
    assert (stats['IDTP'], stats['IDFN'], stats['IDFP']) == (2, 2, 2)
    assert stats['IDF1'] == pytest.approx(0.5)
    assert stats['DetA'] == pytest.approx(1.0)
    assert stats['AssA'] == pytest.approx(0.5)
    assert stats['HOTA'] == pytest.approx(np.sqrt(0.5))
    assert stats['per_video'][1]['IDSW'] == 1


def test_kept_results_score_threshold_and_topk():
    results = [dict(video_id=1, score=s) for s in (0.9, 0.3, 0.31, 0.2)] + \
        [dict(video_id=2, score=0.5)]
    assert kept_result_indices(results, 0.3, None) == [0, 2, 4]
    assert kept_result_indices(results, 0.0, 2) == [0, 2, 4]
    with pytest.raises(ValueError, match='topk_per_video'):
        kept_result_indices(results, 0.3, 0)
    # a low-scoring duplicate is a false track only when kept
    gt = gt_dict([video(1, 4)], [ann(7, 1, 1, [M] * 4)])
    dup = [res(1, 1, 0.9, [M] * 4), res(1, 1, 0.1, [M] * 4)]
    assert evaluate_identity(gt, dup)['IDF1'] == 1.0
    low = evaluate_identity(gt, dup, score_thr=0.05)
    assert low['IDFP'] == 4 and low['IDF1'] == pytest.approx(4 / 6)
    assert evaluate_identity(gt, dup, score_thr=0.05,
                             topk_per_video=1)['IDF1'] == 1.0


def test_errors_name_the_result_and_a_missing_trackeval(monkeypatch):
    gt = gt_dict([video(1, 4)], [ann(7, 1, 1, [M] * 4)])
    with pytest.raises(ValueError, match=r'result #0 \(video 1\).*length 4'):
        evaluate_identity(gt, [res(1, 1, 0.9, [M] * 3)])
    monkeypatch.setitem(sys.modules, 'trackeval', None)
    with pytest.raises(ImportError, match=r"mmvis_pretrain\[identity\]"):
        evaluate_identity(gt, [res(1, 1, 0.9, [M] * 4)])


# ----------------------------------------- equality with TrackEval itself
def _random_case(rng, num_videos=4, num_cats=3, h=20, w=24):
    """GT tracks of random boxes and predictions made from them: kept,
    shifted, split in two, swapped between objects, missed, or false."""
    videos, anns, results = [], [], []
    aid = 1
    for vid in range(1, num_videos + 1):
        length = int(rng.integers(3, 7))
        videos.append(video(vid, length, h, w))
        tracks = []
        for _ in range(int(rng.integers(1, 4))):
            cat = int(rng.integers(1, num_cats + 1))
            y, x = int(rng.integers(0, h - 8)), int(rng.integers(0, w - 8))
            masks = []
            for t in range(length):
                if rng.random() < 0.15:
                    masks.append(None)
                    continue
                dy, dx = int(rng.integers(-1, 2)), int(rng.integers(-1, 2))
                yy, xx = np.clip(y + dy, 0, h - 8), np.clip(x + dx, 0, w - 8)
                masks.append(rect(yy, xx, yy + 6 + t % 2, xx + 7, h, w))
            if all(m is None for m in masks):
                masks[0] = rect(0, 0, 5, 5, h, w)
            tracks.append((cat, masks))
            a = ann(aid, vid, cat, masks)
            a.update(height=h, width=w)
            anns.append(a)
            aid += 1
        for cat, masks in tracks:
            kind = rng.integers(0, 5)
            pred = [None if m is None else np.roll(m, int(rng.integers(
                0, 3)), axis=1) for m in masks]
            score = float(rng.uniform(0.2, 1.0))
            label = cat if rng.random() < 0.85 else int(
                rng.integers(1, num_cats + 1))
            if kind == 1:  # split
                cut = length // 2
                results.append(res(vid, label, score,
                                   pred[:cut] + [None] * (length - cut)))
                results.append(res(vid, label, score * 0.9,
                                   [None] * cut + pred[cut:]))
            elif kind != 2:  # (2: missed)
                results.append(res(vid, label, score, pred))
        if len(tracks) > 1 and rng.random() < 0.5:  # swapped ids
            (c0, m0), (_, m1) = tracks[0], tracks[1]
            cut = length // 2
            results.append(res(vid, c0, 0.95, m0[:cut] + m1[cut:]))
        results.append(res(vid, int(rng.integers(1, num_cats + 1)),
                           float(rng.uniform(0, 1)),
                           [rect(h - 4, w - 4, h, w, h, w)] * length))
    return gt_dict(videos, anns, num_cats), results


def _uncompressed(seg):
    if seg is None:
        return None
    mask = mask_utils.decode(seg)
    counts, last, run = [], 0, 0
    for v in mask.flatten(order='F'):
        if v != last:
            counts.append(run)
            run, last = 0, v
        run += 1
    counts.append(run)
    return dict(size=list(mask.shape), counts=counts)


def _trackeval_direct(tmp_path, gt, results, score_thr):
    """TrackEval's Evaluator + YouTubeVIS dataset on files (GT as
    uncompressed RLE, its only accepted RLE form; results numbered from 1,
    as its loader's ids from 0 meet a ``> 0`` test elsewhere)."""
    import trackeval
    gt = json.loads(json.dumps(gt))
    for a in gt['annotations']:
        a['segmentations'] = [_uncompressed(s) for s in a['segmentations']]
    gt_dir = tmp_path / 'gt' / 'youtube_vis_x'
    tr_dir = tmp_path / 'tr' / 'youtube_vis_x' / 'mine' / 'data'
    gt_dir.mkdir(parents=True)
    tr_dir.mkdir(parents=True)
    (gt_dir / 'gt.json').write_text(json.dumps(gt))
    (tr_dir / 'results.json').write_text(json.dumps(
        [r for r in results if r['score'] > score_thr]))
    dataset = trackeval.datasets.YouTubeVIS(dict(
        GT_FOLDER=str(tmp_path / 'gt') + '/',
        TRACKERS_FOLDER=str(tmp_path / 'tr') + '/', SPLIT_TO_EVAL='x',
        OUTPUT_FOLDER=str(tmp_path / 'out'), PRINT_CONFIG=False))
    dataset.global_tid_counter = 1
    evaluator = trackeval.Evaluator(dict(
        USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False,
        TIME_PROGRESS=False, OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
        PLOT_CURVES=False, OUTPUT_EMPTY_CLASSES=False,
        DISPLAY_LESS_PROGRESS=True, BREAK_ON_ERROR=True,
        RETURN_ON_ERROR=False, LOG_ON_ERROR=str(tmp_path / 'err.log')))
    metrics = [trackeval.metrics.HOTA(dict(PRINT_CONFIG=False)),
               trackeval.metrics.Identity(dict(PRINT_CONFIG=False)),
               trackeval.metrics.CLEAR(dict(PRINT_CONFIG=False))]
    out, _ = evaluator.evaluate([dataset], metrics)
    return out['YouTubeVIS']['mine']['COMBINED_SEQ']


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_equals_trackeval_run_directly_on_the_same_files(tmp_path, seed,
                                                         capsys):
    gt, results = _random_case(np.random.default_rng(seed))
    mine = evaluate_identity(gt, results, score_thr=0.3)
    ref = _trackeval_direct(tmp_path, gt, results, 0.3)
    capsys.readouterr()
    det = ref['cls_comb_det_av']
    for key in ('HOTA', 'DetA', 'AssA', 'LocA'):
        assert mine[key] == pytest.approx(float(np.mean(det['HOTA'][key])),
                                          abs=1e-12), key
    for key in ('IDF1', 'IDTP', 'IDFN', 'IDFP'):
        assert mine[key] == pytest.approx(det['Identity'][key], abs=1e-12)
    for key in ('MOTA', 'IDSW', 'Frag', 'CLR_TP', 'CLR_FP', 'MT', 'ML'):
        assert mine[key] == pytest.approx(det['CLEAR'][key], abs=1e-12)
    for name, per in mine['per_category'].items():
        assert per['HOTA'] == pytest.approx(
            float(np.mean(ref[name]['HOTA']['HOTA'])), abs=1e-12)
        assert per['IDSW'] == ref[name]['CLEAR']['IDSW']
    assert mine['IDSW'] > 0 or seed != 0  # the cases do switch ids


def test_a_malformed_result_is_an_error_even_below_the_threshold():
    gt = gt_dict([video(1, 4)], [ann(7, 1, 1, [M] * 4)])
    bad = [res(1, 1, 0.9, [M] * 4), res(1, 1, 0.01, [M] * 3)]
    with pytest.raises(ValueError, match=r'result #1 \(video 1\)'):
        evaluate_identity(gt, bad)
    with pytest.raises(ValueError, match='score must be a finite number'):
        evaluate_identity(gt, [dict(res(1, 1, 0.9, [M] * 4), score='x')])
