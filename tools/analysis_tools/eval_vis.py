"""Evaluate a YouTube-VIS / OVIS results file offline (official metric).

Example::

    python tools/analysis_tools/eval_vis.py \
        data/youtube_vis_2019/annotations/valid_sub.json \
        work_dirs/vis_results/submission.zip --out metrics.json

``RESULTS`` is the official ``results.json`` (a list of ``{video_id,
category_id, score, segmentations}``), a submission archive holding it
(``results.json`` at the root, or the archive's only ``.json``), or the
``--json`` of ``demo/video_demo.py`` (a header and ``results``; its
``category_id`` s are mapped to the ground truth's by the class names of
its ``categories``, so a demo run scores against any annotation file whose
category names are the model's; its ``video.id`` must be the video's id in
the ground truth, ``video_demo.py --video-id``). Prints the
statistics and the per-category AP; ``--out`` writes them as a JSON object
(fractions; -1.0 where no GT is in range) with ``per_category``.
Invalid input ends with a one-line error and exit status 1.

``--identity`` adds HOTA (DetA, AssA), IDF1, ID switches and MOTA
(TrackEval's arithmetic, docs/identity_metrics.md) on the results scoring
above ``--score-thr`` (default 0.3), then the best ``--topk`` per video if
given; ``--out`` then has them under ``identity`` (with ``per_category`` and
``per_video``). Needs ``pip install 'mmvis_pretrain[identity]'``.

The computation is :func:`mmvis_pretrain.evaluation.functional.evaluate_vis`
(docs/vis_metric.md).
"""
import argparse
import json
import sys
import zipfile
from typing import Optional

from mmengine.fileio import get_text

from mmvis_pretrain.evaluation.functional import evaluate_vis
from mmvis_pretrain.evaluation.functional.identity_eval import (
    DEFAULT_SCORE_THR, evaluate_identity)
from mmvis_pretrain.evaluation.functional.vis_report import (
    identity_table, per_category_table, stats_table)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Official YouTube-VIS / OVIS evaluation of a results '
        'file or submission zip.')
    parser.add_argument('gt', help='raw YouTube-VIS / OVIS annotation JSON '
                        '(with annotations)')
    parser.add_argument('results', help='results.json or a submission .zip')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--max-dets', type=int, nargs=3, default=[1, 10, 100],
        metavar='N', help='results per (video, category) for AR (default '
        '1 10 100)')
    parser.add_argument(
        '--identity', action='store_true',
        help='also HOTA, IDF1, ID switches (TrackEval; needs the '
        "'identity' extra)")
    parser.add_argument(
        '--score-thr', type=float, default=DEFAULT_SCORE_THR,
        help='--identity scores the results above this (default '
        f'{DEFAULT_SCORE_THR})')
    parser.add_argument(
        '--topk', type=int, default=None,
        help='--identity: then the best TOPK results per video')
    return parser


def _load_json(path: str, what: str):
    try:
        return json.loads(get_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path} is not valid JSON ({err})') from err


def demo_results(data: dict, path: str, gt: Optional[dict]) -> list:
    """The results of a ``video_demo.py --json`` file, their category ids
    mapped to the ground truth's through the class names."""
    results = data['results']
    categories = data.get('categories')
    if not isinstance(results, list):
        raise ValueError(f"{path}: 'results' must be a list")
    if gt is None or not categories:
        return results
    names = {c['id']: c['name'] for c in categories}
    gt_ids = {c.get('name'): c.get('id') for c in gt.get('categories', [])
              if isinstance(c, dict)}
    mapped = []
    for i, res in enumerate(results):
        name = names.get(res.get('category_id')) if isinstance(res, dict) \
            else None
        if name is None:
            raise ValueError(f"{path}: result #{i} has category_id="
                             f"{res.get('category_id')!r}, not in its "
                             "'categories'")
        if name not in gt_ids:
            raise ValueError(
                f"{path}: result #{i} is of class '{name}', which the "
                f'ground truth has no category of (its categories: '
                f'{sorted(str(n) for n in gt_ids)})')
        mapped.append(dict(res, category_id=gt_ids[name]))
    return mapped


def load_results(path: str, gt: Optional[dict] = None) -> list:
    """The result list of a ``results.json``, of a submission zip or of a
    ``video_demo.py --json`` file (categories mapped to ``gt``'s)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith('.json')]
            name = 'results.json' if 'results.json' in names else (
                names[0] if len(names) == 1 else None)
            if name is None:
                raise ValueError(
                    f'{path}: a submission zip needs results.json at its '
                    f'root, found {zf.namelist()}')
            try:
                results = json.loads(zf.read(name))
            except json.JSONDecodeError as err:
                raise ValueError(
                    f'{path}:{name} is not valid JSON ({err})') from err
    else:
        results = _load_json(path, 'results file')
    if isinstance(results, dict) and 'results' in results:
        results = demo_results(results, path, gt)
    if not isinstance(results, list):
        raise ValueError(f'{path}: the results must be a JSON list of '
                         f'{{video_id, category_id, score, segmentations}}, '
                         f'got a {type(results).__name__}')
    return results


def main(argv=None) -> int:
    """Evaluate, print, write ``--out``; the exit status."""
    args = build_parser().parse_args(argv)
    try:
        gt = _load_json(args.gt, 'ground truth')
        results = load_results(args.results, gt)
        stats = evaluate_vis(gt, results, max_dets=args.max_dets)
        if args.identity:
            ident = evaluate_identity(gt, results, score_thr=args.score_thr,
                                      topk_per_video=args.topk)
    except (OSError, ValueError, ImportError, zipfile.BadZipFile) as err:
        msg = ' '.join(str(err).split())  # one line
        print(f'eval_vis.py: error: {msg}', file=sys.stderr)
        return 1
    print(f'{len(results)} results on {len(gt["videos"])} videos of '
          f'{args.gt}')
    print(stats_table(stats))
    print(per_category_table(stats['per_category']))
    if args.identity:
        print(identity_table(ident))
        stats['identity'] = dict(ident, per_video={
            str(k): v for k, v in ident['per_video'].items()})
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(stats, f, indent=2)
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
