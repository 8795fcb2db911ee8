"""The official YouTube-VIS / OVIS video instance segmentation evaluation.

A vectorised re-implementation (numpy + ``pycocotools.mask``) of
youtubevos/cocoapi ``ytvos.py`` + ``ytvoseval.py`` (ported to mmdet as
``mmdet.evaluation.functional.YTVIS`` / ``YTVISeval``) and of the OVIS
variant (qjy981010/cocoapi ``oviseval.py``). Given the same valid input it
reproduces the official numbers (tested against mmdet's port to 1e-9).

Definitions (as in the official code)
-------------------------------------
* **Sequence IoU** of a result and a GT track: ``sum_t |d_t & g_t| /
  sum_t |d_t | g_t|`` (:mod:`.seq_iou`).
* **Matching** per (video, category), for each IoU threshold
  ``.50:.05:.95``: results sorted by score (stable), only the top
  ``max(max_dets)`` of each (video, category) kept; each result in turn
  takes the still unmatched non-ignored GT of highest IoU >= threshold
  (the last one on ties); only if there is none, the best ignored GT
  (crowd GTs may take any number of results). A result matched to an
  ignored GT is ignored.
* **Ignored GT**: ``iscrowd=1``, or its area (or occlusion) outside the
  range evaluated. **Ignored results**: matched to an ignored GT, or
  unmatched with an area outside the area range.
* **Areas**: a GT's area is the mean of the truthy (non-null, non-zero)
  entries of its ``areas`` list (from the mask areas when the annotation has
  no ``areas``, where the official code fails); a result's area is the mean
  of its non-zero per-frame mask areas (``loadRes``). Ranges (inclusive on
  both ends): all ``[0, 1e10]``, small ``[0, 128^2]``, medium
  ``[128^2, 256^2]``, large ``[256^2, 1e10]``.
* **AP / AR**: 101-point interpolated precision per (category, range,
  max_dets); AP is its mean over IoU thresholds, recall points and the
  categories that have non-ignored GT; AR the mean final recall. ``AP``,
  ``AP_s/m/l`` and ``AR_s/m/l`` use ``max_dets[-1]`` results per (video,
  category), ``AR1/AR10/AR100`` use ``max_dets`` 1 / 10 / 100.
* **OVIS occlusion** (``oviseval.py``; the OVIS challenge paper): every GT
  annotation carries a per-frame ``occlusion`` list of ``'no_occlusion'``
  (0), ``'slight_occlusion'`` (0.25), ``'severe_occlusion'`` (0.75) or
  ``None``. Its occlusion score is the mean of the highest half
  (``ceil(n / 2)``) of its ``n`` non-null frame scores. Ranges (inclusive):
  light ``[0, .25]``, medium ``[.25, .5]``, heavy ``[.5, 1]``; a GT outside
  the range is ignored (results are never ignored for occlusion).
  ``AP_lo/mo/ho`` and ``AR_lo/mo/ho`` are reported at area 'all' and
  ``max_dets[-1]``.

Reporting
---------
A statistic with no non-ignored GT anywhere (e.g. ``AP_l`` when no object is
large) is **-1.0**, as the official ``summarize`` prints it; never NaN.
Per-category AP (area all, IoU .50:.95) is returned under ``per_category``
keyed by category name (``'name (id N)'`` when names repeat), -1.0 for a
category without non-crowd GT.

Deliberate differences from the official code (which asserts, crashes or
silently drops data instead): invalid input raises ``ValueError`` naming
the video / category / annotation or result (see :func:`evaluate_vis`);
an empty result list gives 0 (official: ``IndexError``); a GT annotation id
0 is an ordinary id (the official code mistakes a match with it for no
match).
"""
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .seq_iou import sequence_iou
from .vis_rle import track_rles

#: IoU thresholds .50:.05:.95, computed as the official ``Params`` does.
DEFAULT_IOU_THRS = np.linspace(
    .5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
#: The 101 recall points 0:.01:1.
RECALL_THRS = np.linspace(
    .0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
#: (name, [low, high]) object area ranges in pixels (mean over frames).
AREA_RANGES = (('all', (0.0, 1e5**2)), ('small', (0.0, 128.0**2)),
               ('medium', (128.0**2, 256.0**2)), ('large', (256.0**2, 1e5**2)))
#: (name, [low, high]) OVIS occlusion-score ranges.
OCCLUSION_RANGES = (('all', (0.0, 1.0)), ('light', (0.0, 0.25)),
                    ('medium', (0.25, 0.5)), ('heavy', (0.5, 1.0)))
#: Per-frame OVIS occlusion labels and their scores.
OCCLUSION_SCORES = {
    'no_occlusion': 0.0,
    'slight_occlusion': 0.25,
    'severe_occlusion': 0.75
}
#: The 12 standard statistics, in the official order.
STAT_KEYS = ('AP', 'AP50', 'AP75', 'AP_s', 'AP_m', 'AP_l', 'AR1', 'AR10',
             'AR100', 'AR_s', 'AR_m', 'AR_l')
#: Added when the ground truth has OVIS occlusion labels.
OCCLUSION_STAT_KEYS = ('AP_lo', 'AP_mo', 'AP_ho', 'AR_lo', 'AR_mo', 'AR_ho')


@dataclass
class _Track:
    """A GT annotation or a result, prepared for evaluation."""
    where: str  # names it in error messages
    video_id: int
    category_id: int
    rles: list  # T compressed RLEs / None
    areas: np.ndarray  # (T,) uint32
    avg_area: float
    score: float = 1.0
    iscrowd: bool = False
    occ_score: Optional[float] = None
    ident: object = None  # GT: the annotation id; result: its list index


@dataclass
class _PairEval:
    """Matching of one (video, category) for one (area, occlusion) range."""
    scores: np.ndarray  # (D,) sorted descending
    matched: np.ndarray  # (T, D) bool
    ignored: np.ndarray  # (T, D) bool
    num_pos: int  # non-ignored GTs


@dataclass
class _Video:
    height: int
    width: int
    length: int
    gts: List[_Track] = field(default_factory=list)
    dts: List[_Track] = field(default_factory=list)


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _mean_truthy(values) -> float:
    """``np.array([v for v in values if v]).mean()``, 0 when none (the
    official ``avg_area``)."""
    kept = [v for v in values if v]
    return float(np.array(kept).mean()) if kept else 0.0


def occlusion_score(labels: Sequence[Optional[str]], where: str) -> float:
    """OVIS occlusion score of an annotation from its per-frame labels.

    Args:
        labels (Sequence[str | None]): Per-frame ``occlusion`` labels.
        where (str): Names the annotation in error messages.

    Returns:
        float: Mean of the highest ``ceil(n / 2)`` of the ``n`` non-null
        frame scores.
    """
    if not isinstance(labels, (list, tuple)):
        raise ValueError(f"{where}: 'occlusion' must be a per-frame list, "
                         f'got {type(labels).__name__}')
    scores = []
    for t, label in enumerate(labels):
        if label is None:
            continue
        if label not in OCCLUSION_SCORES:
            raise ValueError(
                f"{where}: 'occlusion'[{t}] is {label!r}, expected one of "
                f'{sorted(OCCLUSION_SCORES)} or null')
        scores.append(OCCLUSION_SCORES[label])
    if not scores:
        raise ValueError(f"{where}: 'occlusion' has no non-null label, its "
                         'occlusion score is undefined')
    scores.sort()
    top = scores[-math.ceil(len(scores) / 2):]
    return sum(top) / len(top)


def index_gt(gt: dict) -> Tuple[Dict[int, _Video], Dict[int, str]]:
    """Videos and categories of the GT dict, validated."""
    if not isinstance(gt, dict):
        raise ValueError('the ground truth must be a dict (a raw YouTube-VIS'
                         f' / OVIS JSON), got {type(gt).__name__}')
    for key in ('videos', 'categories'):
        if not isinstance(gt.get(key), list):
            raise ValueError(f"the ground truth needs a '{key}' list")
    videos: Dict[int, _Video] = {}
    for entry in gt['videos']:
        if not isinstance(entry, dict) or not _is_int(entry.get('id')):
            raise ValueError(
                f'ground-truth video entry without an int id: '
                f'{str(entry)[:120]}')
        vid = entry['id']
        if vid in videos:
            raise ValueError(f'ground-truth video id {vid} appears twice')
        length = entry.get('length')
        if length is None and isinstance(entry.get('file_names'), list):
            length = len(entry['file_names'])
        for key, value in (('height', entry.get('height')),
                           ('width', entry.get('width')), ('length',
                                                           length)):
            if not _is_int(value) or value <= 0:
                raise ValueError(f"ground-truth video {vid}: '{key}' must be "
                                 f'a positive int, got {value!r}')
        videos[vid] = _Video(int(entry['height']), int(entry['width']),
                             int(length))
    categories: Dict[int, str] = {}
    for cat in gt['categories']:
        if not isinstance(cat, dict) or not _is_int(cat.get('id')):
            raise ValueError('ground-truth category entry without an int id:'
                             f' {str(cat)[:120]}')
        if cat['id'] in categories:
            raise ValueError(f"ground-truth category id {cat['id']} appears "
                             'twice')
        categories[cat['id']] = str(cat.get('name', cat['id']))
    return videos, categories


def _prepare_gt(gt: dict, videos: Dict[int, _Video],
                categories: Dict[int, str]) -> bool:
    """Attach the GT annotations to their videos; whether they carry OVIS
    occlusion labels."""
    anns = gt.get('annotations')
    if not anns:
        raise ValueError(
            "the ground truth has no annotations ('annotations' is "
            f"{'null' if anns is None else 'empty'}), e.g. an official "
            'YouTube-VIS / OVIS valid.json whose annotations are withheld: '
            'evaluate on a split with annotations, or submit results.json '
            'to the official server')
    with_occ = [isinstance(a, dict) and 'occlusion' in a for a in anns]
    has_occlusion = any(with_occ)
    seen_ids = Counter()
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise ValueError(f'ground-truth annotation #{i} is not a dict')
        where = f"ground-truth annotation id={ann.get('id')!r}"
        seen_ids[ann.get('id')] += 1
        if seen_ids[ann.get('id')] == 2:
            raise ValueError(f'{where}: the id appears twice')
        video = videos.get(ann.get('video_id'))
        if video is None:
            raise ValueError(f"{where}: video_id={ann.get('video_id')!r} is "
                             "not in the ground truth's videos")
        where += f" (video {ann['video_id']})"
        cat_id = ann.get('category_id')
        if cat_id not in categories:
            raise ValueError(f'{where}: category_id={cat_id!r} is not in the'
                             f' categories {sorted(categories)}')
        segs = ann.get('segmentations')
        if not isinstance(segs, list) or len(segs) != video.length:
            got = len(segs) if isinstance(segs, list) else repr(segs)[:40]
            raise ValueError(f"{where}: 'segmentations' must be a list of "
                             f'the video length {video.length}, got {got}')
        rles, areas = track_rles(segs, video.height, video.width, where)
        if 'areas' in ann:
            if not isinstance(ann['areas'], list) or not all(
                    a is None or (isinstance(a, Real)
                                  and math.isfinite(a))
                    for a in ann['areas']):
                raise ValueError(f"{where}: 'areas' must be a list of "
                                 'numbers or nulls')
            avg_area = _mean_truthy(ann['areas'])
        else:
            avg_area = _mean_truthy(areas)
        occ = None
        if has_occlusion:
            if not with_occ[i]:
                raise ValueError(
                    f"{where}: no 'occlusion' list while other annotations "
                    'have one (OVIS occlusion labels must be on all or none)')
            occ = occlusion_score(ann['occlusion'], where)
        video.gts.append(
            _Track(where, ann['video_id'], cat_id, rles, areas, avg_area,
                   iscrowd=bool(ann.get('iscrowd', 0)), occ_score=occ,
                   ident=ann.get('id')))
    return has_occlusion


def _prepare_results(results: Sequence[dict], videos: Dict[int, _Video],
                     categories: Dict[int, str]) -> None:
    """Validate the results and attach them to their videos."""
    if not isinstance(results, (list, tuple)):
        raise ValueError('results must be a list of dicts, got '
                         f'{type(results).__name__}')
    for i, res in enumerate(results):
        where = f'result #{i}'
        if not isinstance(res, dict):
            raise ValueError(f'{where} is not a dict')
        missing = [
            k for k in ('video_id', 'category_id', 'score', 'segmentations')
            if k not in res
        ]
        if missing:
            raise ValueError(f'{where} has no {missing}')
        video = videos.get(res['video_id'])
        if video is None:
            raise ValueError(
                f"{where}: video_id={res['video_id']!r} is not a video of "
                'the ground truth')
        where += f" (video {res['video_id']})"
        if res['category_id'] not in categories:
            raise ValueError(
                f"{where}: category_id={res['category_id']!r} is not in the "
                f'ground-truth categories {sorted(categories)}')
        score = res['score']
        if not isinstance(score, Real) or isinstance(score, bool) or \
                not math.isfinite(score):
            raise ValueError(f'{where}: score must be a finite number, got '
                             f'{score!r}')
        segs = res['segmentations']
        if not isinstance(segs, list) or len(segs) != video.length:
            got = len(segs) if isinstance(segs, list) else repr(segs)[:40]
            raise ValueError(
                f"{where}: 'segmentations' must be a list of the video "
                f'length {video.length} (null where absent), got {got}')
        rles, areas = track_rles(segs, video.height, video.width, where)
        nonzero = areas[areas > 0]
        avg_area = float(nonzero.mean()) if nonzero.size else 0.0
        video.dts.append(
            _Track(where, res['video_id'], res['category_id'], rles, areas,
                   avg_area, score=float(score), ident=i))


def load_vis_inputs(gt: dict, results: Sequence[dict]
                    ) -> Tuple[Dict[int, _Video], Dict[int, str], bool]:
    """Validate the GT and the results (the checks of :func:`evaluate_vis`,
    errors naming the video and the annotation / result) and index them.

    Returns:
        tuple: ``videos`` ``{video_id: _Video}`` (``height``, ``width``,
        ``length``, ``gts`` and ``dts``: tracks with per-frame compressed
        RLEs / None, ``areas`` (T,), ``category_id``, ``score``, ``ident``
        (GT annotation id / result index)), ``categories`` ``{id: name}``,
        and whether the GT carries OVIS occlusion labels.
    """
    videos, categories = index_gt(gt)
    has_occlusion = _prepare_gt(gt, videos, categories)
    _prepare_results(results, videos, categories)
    return videos, categories, has_occlusion


def greedy_match(ious: np.ndarray, gt_ignore: np.ndarray,
                 gt_crowd: np.ndarray,
                 iou_thrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """COCO greedy matching of score-sorted results to GTs.

    Args:
        ious (np.ndarray): (D, G) IoUs, rows sorted by descending score.
        gt_ignore (np.ndarray): (G,) bool, ignored GTs.
        gt_crowd (np.ndarray): (G,) bool, crowd GTs (may match many results).
        iou_thrs (np.ndarray): (T,) IoU thresholds.

    Returns:
        tuple: ``gt_index`` (T, D) int64, the GT (column of ``ious``) each
        result matched at each threshold or -1, and ``on_ignored`` (T, D)
        bool, whether that GT is ignored.
    """
    num_dt, num_gt = ious.shape
    num_thr = len(iou_thrs)
    gt_index = np.full((num_thr, num_dt), -1, dtype=np.int64)
    on_ignored = np.zeros((num_thr, num_dt), dtype=bool)
    if num_dt == 0 or num_gt == 0:
        return gt_index, on_ignored
    # the official loop visits non-ignored GTs first (stable order)
    order = np.argsort(gt_ignore, kind='mergesort')
    ious = ious[:, order]
    crowd = gt_crowd[order]
    num_reg = int(np.count_nonzero(~gt_ignore))
    thr = np.minimum(np.asarray(iou_thrs, dtype=np.float64), 1 - 1e-10)
    taken = np.zeros((num_thr, num_gt), dtype=bool)
    rows = np.arange(num_thr)
    for d in range(num_dt):
        eligible = (ious[d][None, :] >= thr[:, None]) & ~(taken & ~crowd)
        vals = np.where(eligible, ious[d][None, :], -1.0)
        best = np.full(num_thr, -1)
        # the best non-ignored GT; only without one, the best ignored GT.
        # Ties go to the later GT (the official ``>=`` update).
        for lo, hi in ((0, num_reg), (num_reg, num_gt)):
            if hi == lo:
                continue
            block = vals[:, lo:hi]
            last_max = hi - 1 - np.argmax(block[:, ::-1], axis=1)
            best = np.where((best < 0) & (block.max(1) >= 0), last_max, best)
        hit = best >= 0
        gt_index[hit, d] = order[best[hit]]
        on_ignored[hit, d] = best[hit] >= num_reg
        taken[rows[hit], best[hit]] = True
    return gt_index, on_ignored


def _evaluate_video(video: _Video, cat_ids: Sequence[int],
                    ranges: Sequence[Tuple[Tuple[float, float],
                                           Tuple[float, float]]],
                    iou_thrs: np.ndarray,
                    max_det: int) -> Dict[int, List[_PairEval]]:
    """Match the results of one video, per category and range."""
    by_cat_gt, by_cat_dt = defaultdict(list), defaultdict(list)
    for g in video.gts:
        by_cat_gt[g.category_id].append(g)
    for d in video.dts:
        by_cat_dt[d.category_id].append(d)
    for cat in list(by_cat_dt):
        dts = by_cat_dt[cat]
        order = np.argsort([-d.score for d in dts], kind='mergesort')
        by_cat_dt[cat] = [dts[i] for i in order[:max_det]]
    # IoUs of all kept results against all GTs of the video at once
    dts = [d for c in cat_ids for d in by_cat_dt.get(c, [])]
    gts = [g for c in cat_ids for g in by_cat_gt.get(c, [])]
    ious_all = sequence_iou([d.rles for d in dts],
                            np.array([d.areas for d in dts]).reshape(
                                len(dts), video.length),
                            [g.rles for g in gts],
                            np.array([g.areas for g in gts]).reshape(
                                len(gts), video.length))
    out = {}
    d0 = g0 = 0
    for cat in cat_ids:
        cdts, cgts = by_cat_dt.get(cat, []), by_cat_gt.get(cat, [])
        nd, ng = len(cdts), len(cgts)
        if nd == 0 and ng == 0:
            continue
        ious = ious_all[d0:d0 + nd, g0:g0 + ng]
        d0, g0 = d0 + nd, g0 + ng
        scores = np.array([d.score for d in cdts], dtype=np.float64)
        dt_area = np.array([d.avg_area for d in cdts], dtype=np.float64)
        gt_area = np.array([g.avg_area for g in cgts], dtype=np.float64)
        gt_occ = np.array([g.occ_score or 0.0 for g in cgts])
        crowd = np.array([g.iscrowd for g in cgts], dtype=bool)
        cache = {}
        evals = []
        for (a_lo, a_hi), (o_lo, o_hi) in ranges:
            ignore = crowd | (gt_area < a_lo) | (gt_area > a_hi) | \
                (gt_occ < o_lo) | (gt_occ > o_hi)
            key = ignore.tobytes()
            if key not in cache:
                gt_index, on_ig = greedy_match(ious, ignore, crowd, iou_thrs)
                cache[key] = (gt_index >= 0, on_ig)
            matched, on_ignored = cache[key]
            outside = (dt_area < a_lo) | (dt_area > a_hi)
            ignored = on_ignored | (~matched & outside[None, :])
            evals.append(
                _PairEval(scores, matched, ignored,
                          int(np.count_nonzero(~ignore))))
        out[cat] = evals
    return out


def _accumulate(pair_evals: Dict[Tuple[int, int], List[_PairEval]],
                video_ids: Sequence[int], cat_ids: Sequence[int],
                num_ranges: int, iou_thrs: np.ndarray,
                max_dets: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, K, C, M) and recall (T, K, C, M), -1 where a
    category has no non-ignored GT (C: the evaluated ranges)."""
    num_thr, num_rec = len(iou_thrs), len(RECALL_THRS)
    shape = (num_thr, len(cat_ids), num_ranges, len(max_dets))
    precision = -np.ones((num_thr, num_rec) + shape[1:])
    recall = -np.ones(shape)
    for k, cat in enumerate(cat_ids):
        per_video = [
            pair_evals[vid, cat] for vid in video_ids
            if (vid, cat) in pair_evals
        ]
        if not per_video:
            continue
        for c in range(num_ranges):
            evals = [e[c] for e in per_video]
            num_pos = sum(e.num_pos for e in evals)
            if num_pos == 0:
                continue
            for m, max_det in enumerate(max_dets):
                scores = np.concatenate([e.scores[:max_det] for e in evals])
                order = np.argsort(-scores, kind='mergesort')
                matched = np.concatenate(
                    [e.matched[:, :max_det] for e in evals], axis=1)[:, order]
                ignored = np.concatenate(
                    [e.ignored[:, :max_det] for e in evals], axis=1)[:, order]
                tp = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
                fp = np.cumsum(~matched & ~ignored,
                               axis=1).astype(np.float64)
                num_dt = tp.shape[1]
                if num_dt == 0:
                    recall[:, k, c, m] = 0
                    precision[:, :, k, c, m] = 0
                    continue
                rc = tp / num_pos
                pr = tp / (fp + tp + np.spacing(1))
                recall[:, k, c, m] = rc[:, -1]
                # precision envelope: max over this and all later points
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(num_thr):
                    inds = np.searchsorted(rc[t], RECALL_THRS, side='left')
                    valid = inds < num_dt
                    q = np.zeros(num_rec)
                    q[valid] = pr[t, inds[valid]]
                    precision[t, :, k, c, m] = q
    return precision, recall


def _mean_valid(values: np.ndarray) -> float:
    """Mean of the entries > -1, or -1.0 (the official ``summarize``)."""
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else -1.0


def evaluate_vis(gt: dict,
                 results: Sequence[dict],
                 iou_thrs: Optional[Sequence[float]] = None,
                 max_dets: Sequence[int] = (1, 10, 100),
                 classwise: bool = True) -> dict:
    """Evaluate VIS results with the official YouTube-VIS / OVIS metric.

    Args:
        gt (dict): A raw YouTube-VIS 2019 / 2021 / OVIS annotation dict:
            ``videos`` (``id``, ``height``, ``width``, ``length`` or
            ``file_names``), ``categories`` (``id``, ``name``) and
            ``annotations`` (``id``, ``video_id``, ``category_id``,
            ``iscrowd``, ``segmentations`` (one entry per frame: null,
            polygons, uncompressed or compressed RLE), ``areas``, OVIS:
            ``occlusion``). Not modified.
        results (Sequence[dict]): ``video_id``, ``category_id``, ``score``
            and ``segmentations`` (one entry per frame: null or an RLE with
            ``counts`` str / bytes / list, polygons also accepted) at the
            original resolution. Not modified.
        iou_thrs (Sequence[float], optional): IoU thresholds; default
            ``.50:.05:.95``. ``AP50`` / ``AP75`` are -1.0 when 0.5 / 0.75 is
            not among them.
        max_dets (Sequence[int]): Three increasing numbers of results per
            (video, category); the recall keys are named after them
            (``AR1``, ``AR10``, ``AR100`` by default).
        classwise (bool): Add ``per_category``. Defaults to True.

    Returns:
        dict: Floats (fractions in [0, 1], or -1.0 where no GT is in range)
        under :data:`STAT_KEYS` (with the ``AR`` keys named after
        ``max_dets``), plus :data:`OCCLUSION_STAT_KEYS` when the GT has OVIS
        occlusion labels, plus ``per_category`` ``{name: AP}`` when
        ``classwise``.

    Raises:
        ValueError: The GT has no annotations (null or empty); a result's
            ``video_id`` or ``category_id`` is not in the GT; a
            ``segmentations`` list is not of the video's ``length``; an RLE
            ``size`` is not the video's ``[height, width]``; a score is not
            finite; or any other malformed entry. The message names the
            video and the annotation / result.
    """
    iou_thrs = DEFAULT_IOU_THRS if iou_thrs is None else np.asarray(
        iou_thrs, dtype=np.float64)
    if iou_thrs.ndim != 1 or iou_thrs.size == 0 or not np.all(
            (iou_thrs > 0) & (iou_thrs <= 1)):
        raise ValueError(f'iou_thrs must be thresholds in (0, 1], got '
                         f'{iou_thrs!r}')
    max_dets = [int(m) for m in max_dets]
    if len(max_dets) != 3 or sorted(max_dets) != max_dets or \
            max_dets[0] < 1:
        raise ValueError('max_dets must be three increasing positive ints, '
                         f'got {max_dets}')

    videos, categories, has_occlusion = load_vis_inputs(gt, results)
    video_ids = sorted(videos)
    cat_ids = sorted(categories)
    no_occ = OCCLUSION_RANGES[0][1]
    ranges = [(rng, no_occ) for _, rng in AREA_RANGES]
    if has_occlusion:
        ranges += [(AREA_RANGES[0][1], rng) for _, rng in OCCLUSION_RANGES[1:]]
    pair_evals = {}
    for vid in video_ids:
        for cat, evals in _evaluate_video(videos[vid], cat_ids, ranges,
                                          iou_thrs, max_dets[-1]).items():
            pair_evals[vid, cat] = evals
    precision, recall = _accumulate(pair_evals, video_ids, cat_ids,
                                    len(ranges), iou_thrs, max_dets)

    def ap(rng: int = 0, iou: Optional[float] = None) -> float:
        p = precision[..., rng, -1]  # (T, R, K)
        if iou is not None:
            t = np.flatnonzero(np.isclose(iou_thrs, iou))
            if t.size == 0:
                return -1.0
            p = p[t]
        return _mean_valid(p)

    def ar(rng: int = 0, m: int = -1) -> float:
        return _mean_valid(recall[:, :, rng, m])

    stats = {
        'AP': ap(),
        'AP50': ap(iou=.5),
        'AP75': ap(iou=.75),
        'AP_s': ap(1),
        'AP_m': ap(2),
        'AP_l': ap(3),
        f'AR{max_dets[0]}': ar(m=0),
        f'AR{max_dets[1]}': ar(m=1),
        f'AR{max_dets[2]}': ar(m=2),
        'AR_s': ar(1),
        'AR_m': ar(2),
        'AR_l': ar(3),
    }
    if has_occlusion:
        for i, short in enumerate(('lo', 'mo', 'ho')):
            stats[f'AP_{short}'] = ap(4 + i)
        for i, short in enumerate(('lo', 'mo', 'ho')):
            stats[f'AR_{short}'] = ar(4 + i)
    if classwise:
        counts = Counter(categories.values())
        stats['per_category'] = {
            (name if counts[name] == 1 else f'{name} (id {cat})'):
            _mean_valid(precision[:, :, k, 0, -1])
            for k, (cat, name) in enumerate(
                (c, categories[c]) for c in cat_ids)
        }
    return stats
