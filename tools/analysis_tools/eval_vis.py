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

from mmvis_pretrain.evaluation.functional import evaluate_vis
from mmvis_pretrain.evaluation.functional.identity_eval import (
    DEFAULT_SCORE_THR, evaluate_identity)
from mmvis_pretrain.evaluation.functional.results_io import (load_json,
                                                             load_results)
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


def main(argv=None) -> int:
    """Evaluate, print, write ``--out``; the exit status."""
    args = build_parser().parse_args(argv)
    try:
        gt = load_json(args.gt, 'ground truth')
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
