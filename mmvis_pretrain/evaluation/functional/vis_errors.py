"""Per-video, per-track error analysis of VIS results: missed objects,
false tracks, ID switches (with their frames), class confusions and the
OVIS occlusion level of each object (docs/error_analysis.md).

Matching, per video and **class-agnostic** (so that a well-tracked object
given the wrong class is a class confusion, not a miss plus a false
track): frame by frame, the objects and result masks present are matched
one-to-one by the Hungarian algorithm on mask IoU >= ``iou_thr``, an
object's match of the previous frame kept when it still qualifies (the
CLEAR MOT rule of TrackEval's ``CLEAR`` metric). TrackEval returns only
counts, not the frames where the switches happen nor which result matched
which object, so this matching is written here; a test checks that its
switch count equals TrackEval's ``IDSW`` when there is one category.

Definitions:

* **ID switch** of an object at frame ``t``: it is matched to another
  result than the last time it was matched (any number of frames before).
* **Missed** object: matched in no frame. **False** track: a kept result
  matched in no frame.
* **Class confusion**: an object whose matched frames are mostly (the
  largest share; ties: the object's own class) matched to results of
  another category.
* **Occlusion level** (OVIS ``occlusion`` labels): the annotation's
  occlusion score (:func:`~.vis_eval.occlusion_score`) as ``light``
  (<= .25), ``medium`` (<= .5) or ``heavy``; ``''`` without labels.
* A video's **errors**: missed + false + ID switches + class confusions;
  videos are ranked by errors, then by lower recall (matched object frames
  / object frames).

The results kept are those of the identity metrics
(:func:`~.identity_eval.load_kept`: ``score > score_thr``, then the top-k
per video; every result is validated, kept or not).
"""
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .identity_eval import DEFAULT_SCORE_THR, frame_mask_ious, load_kept

__all__ = ['analyze_vis_errors', 'occlusion_level', 'match_video']

_EPS = np.finfo('float').eps


def occlusion_level(score: Optional[float]) -> str:
    """``light`` / ``medium`` / ``heavy`` of an OVIS occlusion score;
    ``''`` for None."""
    if score is None:
        return ''
    return 'light' if score <= 0.25 else (
        'medium' if score <= 0.5 else 'heavy')


def match_video(gts: list, dts: list, length: int,
                iou_thr: float = 0.5) -> List[Dict[int, int]]:
    """Frame-by-frame one-to-one matching (CLEAR's rule, class-agnostic).

    Args:
        gts (list): Objects of one video (``rles``: T RLEs / None).
        dts (list): Kept results of the video.
        length (int): T.
        iou_thr (float): Mask IoU of a match.

    Returns:
        list[dict]: Per frame ``{object index: result index}``.
    """
    matches: List[Dict[int, int]] = []
    previous: Dict[int, int] = {}
    for t in range(length):
        g_idx = [j for j, g in enumerate(gts) if g.rles[t] is not None]
        d_idx = [i for i, d in enumerate(dts) if d.rles[t] is not None]
        frame: Dict[int, int] = {}
        if g_idx and d_idx:
            ious = frame_mask_ious([gts[j].rles[t] for j in g_idx],
                               [dts[i].rles[t] for i in d_idx])
            kept = np.array([[previous.get(j) == i for i in d_idx]
                             for j in g_idx], dtype=np.float64)
            score = 1000 * kept + ious
            score[ious < iou_thr - _EPS] = 0
            rows, cols = linear_sum_assignment(-score)
            for r, c in zip(rows, cols):
                if score[r, c] > _EPS:
                    frame[g_idx[r]] = d_idx[c]
        matches.append(frame)
        previous = frame
    return matches


def analyze_vis_errors(gt: dict,
                       results: Sequence[dict],
                       score_thr: float = DEFAULT_SCORE_THR,
                       topk_per_video: Optional[int] = None,
                       iou_thr: float = 0.5) -> dict:
    """Errors per video and per track (see the module docstring).

    Args:
        gt (dict): Raw YouTube-VIS / OVIS annotation dict.
        results (Sequence[dict]): ``{video_id, category_id, score,
            segmentations}`` entries.
        score_thr (float): Results scoring ``> score_thr`` are tracks.
        topk_per_video (int, optional): Then the best this many per video.
        iou_thr (float): Mask IoU of a match. Defaults to 0.5.

    Returns:
        dict: ``videos``: one row per video (``video_id``, ``name``,
        ``frames``, ``objects``, ``tracks``, ``missed``, ``false``,
        ``id_switches``, ``class_confusions``, ``errors``, ``recall``),
        worst first; ``objects``: one row per ground-truth object
        (``video_id``, ``gt_id``, ``category``, ``frames``,
        ``matched_frames``, ``results`` (indices in ``results``, in order
        of first match), ``switch_frames``, ``switches`` (``(frame, result
        before, result after)`` per switch), ``matched_category``,
        ``status`` (``tracked`` / ``missed`` / ``class_confused``),
        ``occlusion``, ``occlusion_level``); ``tracks``: one row per kept
        result (``video_id``, ``result``, ``category``, ``score``,
        ``frames``, ``matched_frames``, ``gt_ids``, ``status``
        (``matched`` / ``false``)); ``matches``: per video the per-frame
        ``{gt_id: result index}``; ``score_thr``, ``topk_per_video``,
        ``num_results``, ``num_kept``.
    """
    if not 0 < iou_thr <= 1:
        raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
    videos, categories, num_kept = load_kept(gt, results, score_thr,
                                             topk_per_video)
    names = {v['id']: _video_name(v) for v in gt['videos']}
    video_rows, objects, tracks, all_matches = [], [], [], {}
    for vid, video in videos.items():
        gts, dts = video.gts, video.dts
        matches = match_video(gts, dts, video.length, iou_thr)
        all_matches[vid] = [{gts[j].ident: dts[i].ident
                             for j, i in frame.items()} for frame in matches]
        obj_rows = []
        for j, g in enumerate(gts):
            seq = [(t, frame[j]) for t, frame in enumerate(matches)
                   if j in frame]
            switches, order, last = [], [], None
            for t, i in seq:
                if last is not None and i != last:
                    switches.append((t, dts[last].ident, dts[i].ident))
                if i not in order:
                    order.append(i)
                last = i
            cats = Counter(dts[i].category_id for _, i in seq)
            if cats:
                best = max(cats.values())
                matched_cat = g.category_id if cats.get(
                    g.category_id) == best else min(
                        c for c, n in cats.items() if n == best)
            else:
                matched_cat = None
            status = 'missed' if not seq else (
                'tracked' if matched_cat == g.category_id else
                'class_confused')
            obj_rows.append(dict(
                video_id=vid, gt_id=g.ident,
                category=categories[g.category_id],
                frames=int(sum(r is not None for r in g.rles)),
                matched_frames=len(seq),
                results=[dts[i].ident for i in order],
                switch_frames=[t for t, _, _ in switches],
                switches=switches,
                matched_category=None if matched_cat is None else
                categories[matched_cat],
                status=status, occlusion=g.occ_score,
                occlusion_level=occlusion_level(g.occ_score)))
        matched_dt = Counter(i for frame in matches for i in frame.values())
        trk_rows = []
        for i, d in enumerate(dts):
            gt_ids = []
            for frame in matches:
                for j, di in frame.items():
                    if di == i and gts[j].ident not in gt_ids:
                        gt_ids.append(gts[j].ident)
            trk_rows.append(dict(
                video_id=vid, result=d.ident,
                category=categories[d.category_id], score=d.score,
                frames=int(sum(r is not None for r in d.rles)),
                matched_frames=int(matched_dt.get(i, 0)), gt_ids=gt_ids,
                status='matched' if matched_dt.get(i) else 'false'))
        gt_frames = sum(r['frames'] for r in obj_rows)
        row = dict(
            video_id=vid, name=names.get(vid, ''), frames=video.length,
            objects=len(gts), tracks=len(dts),
            missed=sum(r['status'] == 'missed' for r in obj_rows),
            false=sum(r['status'] == 'false' for r in trk_rows),
            id_switches=sum(len(r['switch_frames']) for r in obj_rows),
            class_confusions=sum(r['status'] == 'class_confused'
                                 for r in obj_rows),
            recall=(sum(r['matched_frames'] for r in obj_rows) / gt_frames
                    if gt_frames else 1.0))
        row['errors'] = (row['missed'] + row['false'] + row['id_switches']
                         + row['class_confusions'])
        video_rows.append(row)
        objects += obj_rows
        tracks += trk_rows
    video_rows.sort(key=lambda r: (-r['errors'], r['recall'], r['video_id']))
    return dict(videos=video_rows, objects=objects, tracks=tracks,
                matches=all_matches, score_thr=float(score_thr),
                topk_per_video=topk_per_video, num_results=len(results),
                num_kept=num_kept)


def _video_name(video: dict) -> str:
    """The folder of a GT video's frames (``file_names[0]``'s), or ''."""
    names = video.get('file_names') or []
    return str(names[0]).rsplit('/', 1)[0] if names and '/' in str(
        names[0]) else ''
