"""Identity-aware VIS metrics: HOTA (DetA, AssA), IDF1 and ID switches.

Track AP (:mod:`.vis_eval`) scores a track split in two at an occlusion
almost as well as an unbroken one; these metrics count the break. The
arithmetic is TrackEval's (``trackeval`` 1.3.0, the HOTA authors' code:
``HOTA``, ``Identity`` and ``CLEAR``, each ``eval_sequence`` per (video,
category), then ``combine_sequences`` per category and the combination over
categories); this module only builds their input from the package's
results, as TrackEval's own ``YouTubeVIS`` dataset loader does, without its
folder layout and quirks (it accepts ground-truth RLE only uncompressed,
numbers the results from 0 while other code tests ids ``> 0``):

* the inputs are validated as :func:`~.vis_eval.evaluate_vis` does (errors
  name the video and the annotation / result), in every mask format;
* each result is one track of its category (a CTVIS (track, class) pair is
  a track of that class); a frame's mask is a detection when it is not
  null (TrackEval's rule: an empty non-null mask is a detection that
  matches nothing);
* similarity: the per-frame mask IoU (``pycocotools.mask.iou``) of the
  ground-truth and result masks present in that frame, per category, ids
  relabelled in file order as TrackEval does;
* **results kept**: these metrics count every kept result as a track (a
  low-scoring one is a false positive in every frame it has), unlike AP,
  which ranks them. Kept are the results scoring ``> score_thr`` (default
  :data:`DEFAULT_SCORE_THR`, the video demo's display threshold), then
  the ``topk_per_video`` best of each video if given;
* ground truth marked ``iscrowd`` counts as an ordinary object (TrackEval's
  YouTube-VIS preprocessing removes nothing).

Reported (fractions; counts as ints): detection-averaged over categories
(TrackEval's ``cls_comb_det_av``: every detection counts once, whatever its
category) ``HOTA``, ``DetA``, ``AssA``, ``DetRe``, ``DetPr``, ``AssRe``,
``AssPr``, ``LocA`` (the means over TrackEval's 19 localisation thresholds
.05:.05:.95), ``IDF1``, ``IDP``, ``IDR``, ``MOTA``, ``MOTP``, ``IDSW``,
``Frag``, ``MT``, ``PT``, ``ML`` and the counts behind them; the
class-averaged ``HOTA_cls``, ``DetA_cls``, ``AssA_cls``, ``IDF1_cls`` (the
mean over categories with a ground-truth object or a kept result, TrackEval's
``ignore_empty_classes=True``); ``per_category`` and ``per_video``.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from .vis_eval import load_vis_inputs

__all__ = ['DEFAULT_SCORE_THR', 'IDENTITY_KEYS', 'evaluate_identity',
           'require_trackeval', 'kept_result_indices', 'load_kept',
           'frame_mask_ious', 'sequence_data']

#: Results scoring above this are tracks for the identity metrics (the
#: video demo draws the same ones: ``demo/video_demo.py --score-thr``).
DEFAULT_SCORE_THR = 0.3
#: The headline keys, in report order (detection-averaged over categories).
IDENTITY_KEYS = ('HOTA', 'DetA', 'AssA', 'LocA', 'IDF1', 'IDP', 'IDR',
                 'IDSW', 'MOTA', 'Frag')
_FLOAT_ARRAY = ('HOTA', 'DetA', 'AssA', 'DetRe', 'DetPr', 'AssRe', 'AssPr',
                'LocA')
_IDENTITY = ('IDF1', 'IDP', 'IDR', 'IDTP', 'IDFN', 'IDFP')
_CLEAR = ('MOTA', 'MOTP', 'IDSW', 'Frag', 'MT', 'PT', 'ML', 'CLR_TP',
          'CLR_FN', 'CLR_FP')


def require_trackeval():
    """Import ``trackeval`` or raise an ``ImportError`` that names the
    extra to install."""
    try:
        import trackeval
    except ImportError as err:
        raise ImportError(
            'the identity metrics (HOTA, IDF1, ID switches) are computed by '
            "TrackEval, which is not installed: pip install "
            "'mmvis_pretrain[identity]' (or pip install trackeval==1.3.0)"
        ) from err
    return trackeval


def kept_result_indices(results: Sequence[dict], score_thr: float,
                        topk_per_video: Optional[int]) -> List[int]:
    """Indices (in file order) of the results scoring ``> score_thr``, then
    the ``topk_per_video`` best of each video (ties: file order)."""
    if topk_per_video is not None and int(topk_per_video) < 1:
        raise ValueError(
            f'topk_per_video must be >= 1 or None, got {topk_per_video}')
    kept = [i for i, r in enumerate(results)
            if isinstance(r, dict) and isinstance(r.get('score'),
                                                  (int, float))
            and r['score'] > score_thr]
    if topk_per_video is None:
        return kept
    by_video: Dict = OrderedDict()
    for i in kept:
        by_video.setdefault(results[i]['video_id'], []).append(i)
    out = []
    for idx in by_video.values():
        order = sorted(idx, key=lambda i: -results[i]['score'])
        out += order[:int(topk_per_video)]
    return sorted(out)


def load_kept(gt: dict, results: Sequence[dict], score_thr: float,
              topk_per_video: Optional[int]):
    """Validate the GT and *all* results (as :func:`~.vis_eval.
    evaluate_vis`: a malformed low-scoring result is an error too), then
    keep the results of :func:`kept_result_indices` in each video.

    Returns:
        tuple: ``videos`` (as :func:`~.vis_eval.load_vis_inputs`, each
        video's ``dts`` the kept results in file order, ``ident`` their
        index in ``results``), ``categories`` and the number kept.
    """
    videos, categories, _ = load_vis_inputs(gt, results)
    kept = set(kept_result_indices(results, score_thr, topk_per_video))
    for video in videos.values():
        video.dts = [d for d in video.dts if d.ident in kept]
    return videos, categories, len(kept)


def frame_mask_ious(gt_rles: list, dt_rles: list) -> np.ndarray:
    """(G, D) mask IoU of the masks of one frame (TrackEval's
    ``_calculate_mask_ious``: ``pycocotools.mask.iou``, not crowd)."""
    if not gt_rles or not dt_rles:
        return np.zeros((len(gt_rles), len(dt_rles)))
    return np.asarray(mask_utils.iou(gt_rles, dt_rles, [0] * len(dt_rles)),
                      dtype=np.float64).reshape(len(gt_rles), len(dt_rles))


def sequence_data(gts: list, dts: list, length: int, name: str) -> dict:
    """TrackEval's per-(sequence, class) input from prepared tracks.

    Args:
        gts (list): Ground-truth tracks of one video and category
            (``rles``: T compressed RLEs / None), in file order.
        dts (list): Result tracks of the same video and category.
        length (int): T, the number of frames.
        name (str): The sequence name (TrackEval's error messages).

    Returns:
        dict: ``gt_ids`` / ``tracker_ids`` (per frame, (G_t,) / (D_t,)
        contiguous ids), ``similarity_scores`` (per frame (G_t, D_t) IoUs)
        and the counts (``num_gt_ids``, ``num_tracker_dets``, ...).
    """
    data = dict(gt_ids=[], tracker_ids=[], similarity_scores=[],
                num_timesteps=length, seq=name)
    gt_seen, dt_seen = set(), set()
    for t in range(length):
        g_idx = [j for j, g in enumerate(gts) if g.rles[t] is not None]
        d_idx = [i for i, d in enumerate(dts) if d.rles[t] is not None]
        data['gt_ids'].append(np.asarray(g_idx, dtype=int))
        data['tracker_ids'].append(np.asarray(d_idx, dtype=int))
        data['similarity_scores'].append(frame_mask_ious(
            [gts[j].rles[t] for j in g_idx], [dts[i].rles[t] for i in d_idx]))
        gt_seen.update(g_idx)
        dt_seen.update(d_idx)
    # contiguous ids in the order of the tracks (TrackEval relabels the
    # sorted original ids: annotation ids, results numbered in file order)
    gt_map = {j: k for k, j in enumerate(sorted(
        gt_seen, key=lambda j: (0, gts[j].ident, j) if isinstance(
            gts[j].ident, int) else (1, 0, j)))}
    dt_map = {i: k for k, i in enumerate(sorted(dt_seen))}
    data['gt_ids'] = [np.asarray([gt_map[j] for j in ids], dtype=int)
                      for ids in data['gt_ids']]
    data['tracker_ids'] = [np.asarray([dt_map[i] for i in ids], dtype=int)
                           for ids in data['tracker_ids']]
    data['num_gt_ids'], data['num_tracker_ids'] = len(gt_map), len(dt_map)
    data['num_gt_dets'] = int(sum(len(x) for x in data['gt_ids']))
    data['num_tracker_dets'] = int(sum(len(x) for x in data['tracker_ids']))
    return data


def _flat(combined: dict) -> dict:
    """TrackEval's combined result of the 3 metrics -> plain numbers
    (array fields: their mean over the localisation thresholds)."""
    out = {}
    for key in _FLOAT_ARRAY:
        out[key] = float(np.mean(combined['HOTA'][key]))
    for key in _IDENTITY:
        out[key] = combined['Identity'][key]
    for key in _CLEAR:
        out[key] = combined['CLEAR'][key]
    return {k: (int(v) if k in ('IDTP', 'IDFN', 'IDFP', 'IDSW', 'Frag', 'MT',
                                'PT', 'ML', 'CLR_TP', 'CLR_FN', 'CLR_FP')
                else float(v)) for k, v in out.items()}


def evaluate_identity(gt: dict,
                      results: Sequence[dict],
                      score_thr: float = DEFAULT_SCORE_THR,
                      topk_per_video: Optional[int] = None,
                      iou_thr: float = 0.5) -> dict:
    """HOTA, IDF1, ID switches (TrackEval) of VIS results.

    Args:
        gt (dict): Raw YouTube-VIS / OVIS annotation dict (as for
            :func:`~.vis_eval.evaluate_vis`). Not modified.
        results (Sequence[dict]): ``{video_id, category_id, score,
            segmentations}`` entries. Not modified.
        score_thr (float): Results scoring ``> score_thr`` are tracks.
            Defaults to :data:`DEFAULT_SCORE_THR`.
        topk_per_video (int, optional): Then keep the best this many per
            video. Defaults to None (all above the threshold).
        iou_thr (float): Mask IoU of a match for IDF1 and CLEAR (MOTA, ID
            switches); HOTA integrates over .05:.05:.95. Defaults to 0.5
            (TrackEval's).

    Returns:
        dict: The module docstring's keys, plus ``score_thr``,
        ``topk_per_video``, ``num_results`` (all) and ``num_kept``.

    Raises:
        ImportError: TrackEval is missing (the message names the extra).
        ValueError: Invalid GT or results (as :func:`evaluate_vis`).
    """
    trackeval = require_trackeval()
    if not 0 < iou_thr <= 1:
        raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
    videos, categories, num_kept = load_kept(gt, results, score_thr,
                                             topk_per_video)
    metrics = OrderedDict(
        HOTA=trackeval.metrics.HOTA(dict(PRINT_CONFIG=False)),
        Identity=trackeval.metrics.Identity(
            dict(THRESHOLD=iou_thr, PRINT_CONFIG=False)),
        CLEAR=trackeval.metrics.CLEAR(
            dict(THRESHOLD=iou_thr, PRINT_CONFIG=False)))
    # res[category][video][metric]
    per_seq = {cat: {} for cat in categories}
    for vid, video in videos.items():
        for cat in categories:
            gts = [g for g in video.gts if g.category_id == cat]
            dts = [d for d in video.dts if d.category_id == cat]
            data = sequence_data(gts, dts, video.length,
                                 f'video {vid}, category {cat}')
            per_seq[cat][vid] = {n: m.eval_sequence(data)
                                 for n, m in metrics.items()}
    per_cat = {cat: {n: m.combine_sequences(
        {v: r[n] for v, r in per_seq[cat].items()})
        for n, m in metrics.items()} for cat in categories}
    det_av = {n: m.combine_classes_det_averaged(
        {c: r[n] for c, r in per_cat.items()}) for n, m in metrics.items()}
    cls_av = {n: m.combine_classes_class_averaged(
        {c: r[n] for c, r in per_cat.items()}, ignore_empty_classes=True)
        for n, m in metrics.items()}
    stats = _flat(det_av)
    if any(_nonempty(r) for r in per_cat.values()):
        for key in ('HOTA', 'DetA', 'AssA'):
            stats[f'{key}_cls'] = float(np.mean(cls_av['HOTA'][key]))
        stats['IDF1_cls'] = float(cls_av['Identity']['IDF1'])
    else:  # nothing to average over (no GT object, no kept result)
        stats.update(HOTA_cls=0.0, DetA_cls=0.0, AssA_cls=0.0, IDF1_cls=0.0)
    names = {cat: name for cat, name in categories.items()}
    stats['per_category'] = {
        names[c]: _short(_flat(r)) for c, r in per_cat.items()
        if _nonempty(r)}
    stats['per_video'] = {
        vid: _short(_flat({n: m.combine_classes_det_averaged(
            {c: per_seq[c][vid][n] for c in categories})
            for n, m in metrics.items()})) for vid in videos}
    stats.update(score_thr=float(score_thr), topk_per_video=topk_per_video,
                 num_results=len(results), num_kept=num_kept)
    return stats


def _nonempty(cat_res: dict) -> bool:
    ident = cat_res['Identity']
    return ident['IDTP'] + ident['IDFN'] + ident['IDFP'] > 0


def _short(flat: dict) -> dict:
    return {k: flat[k] for k in ('HOTA', 'DetA', 'AssA', 'IDF1', 'IDSW',
                                 'MOTA')}
