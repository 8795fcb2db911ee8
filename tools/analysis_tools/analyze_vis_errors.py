"""Per-video error analysis of VIS results: which videos fail, and how.

Example::

    python tools/analysis_tools/analyze_vis_errors.py \
        data/ovis/annotations/valid_sub.json work_dirs/test/results.json \
        --out-dir work_dirs/errors --img-prefix data/ovis/valid \
        [--score-thr 0.3] [--topk K] [--iou-thr 0.5] [--show 5]

``RESULTS``: a ``results.json``, a submission zip or a ``video_demo.py
--json`` file (as ``eval_vis.py`` reads them). Per video and per track
(:func:`mmvis_pretrain.evaluation.functional.vis_errors.analyze_vis_errors`,
docs/error_analysis.md): missed objects, false tracks, ID switches with
the frames where they happen, class confusions, the OVIS occlusion level of
each object. Writes into ``--out-dir`` (replaced as a whole, only on
success):

* ``videos.csv``: one row per video, worst first (most errors, then lowest
  recall);
* ``objects.csv`` / ``tracks.csv``: one row per ground-truth object / kept
  result;
* ``report.md``: the worst videos and each error with its frames;
* ``errors.json``: all of it, with the per-frame matches;
* ``worst_<rank>_video<id>.png`` for the ``--show`` worst videos with
  errors: per frame (the frames with an ID switch first, then evenly
  spaced ones, ``--max-frames`` in all) the ground truth (left, ``#`` the
  annotation id) beside the prediction (right, ``#`` the result's index
  + 1), drawn by the package's renderer on the video's frames
  (``--img-prefix``; a grey canvas without it).

Invalid input ends with a one-line error and exit status 1.
"""
import argparse
import csv
import io
import json
import os.path as osp
import re
import sys
import zipfile
from typing import Dict, List, Optional

import cv2
import numpy as np

from mmvis_pretrain.evaluation.functional.identity_eval import \
    DEFAULT_SCORE_THR
from mmvis_pretrain.evaluation.functional.results_io import (load_json,
                                                             load_results)
from mmvis_pretrain.evaluation.functional.vis_errors import \
    analyze_vis_errors

#: The files this tool writes (an earlier run's may be replaced).
OWN_FILE = re.compile(r'(videos|objects|tracks)\.csv|report\.md|'
                      r'errors\.json|worst_\d+_video.+\.png')
VIDEO_COLUMNS = ('video_id', 'name', 'frames', 'objects', 'tracks', 'missed',
                 'false', 'id_switches', 'class_confusions', 'errors',
                 'recall')
OBJECT_COLUMNS = ('video_id', 'gt_id', 'category', 'frames',
                  'matched_frames', 'status', 'matched_category', 'results',
                  'switch_frames', 'occlusion', 'occlusion_level')
TRACK_COLUMNS = ('video_id', 'result', 'category', 'score', 'frames',
                 'matched_frames', 'status', 'gt_ids')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Per-video and per-track errors of VIS results.')
    parser.add_argument('gt', help='raw YouTube-VIS / OVIS annotation JSON')
    parser.add_argument('results', help='results.json, a submission zip or '
                        'a video_demo.py --json file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--score-thr', type=float, default=DEFAULT_SCORE_THR,
                        help='results scoring above it are tracks (default '
                        f'{DEFAULT_SCORE_THR})')
    parser.add_argument('--topk', type=int, default=None,
                        help='then the best TOPK results per video')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='mask IoU of a match (default 0.5)')
    parser.add_argument('--show', type=int, default=5,
                        help='render the N worst videos with errors '
                        '(default 5; 0: none)')
    parser.add_argument('--max-frames', type=int, default=8,
                        help='frames per rendered video (default 8)')
    parser.add_argument('--img-prefix', default=None,
                        help="folder of the frames (the GT's file_names); "
                        'without it the masks are drawn on grey')
    return parser


def _cell(value):
    if isinstance(value, list):
        return ' '.join(str(v) for v in value)
    if isinstance(value, float):
        return f'{value:.4f}'
    return '' if value is None else value


def to_csv(rows: List[dict], columns) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return buf.getvalue()


def _md_table(rows: List[dict], columns) -> List[str]:
    lines = ['| ' + ' | '.join(columns) + ' |',
             '|' + '---|' * len(columns)]
    lines += ['| ' + ' | '.join(str(_cell(r[c])) for c in columns) + ' |'
              for r in rows]
    return lines


def report_markdown(out: dict, gt_path: str, res_path: str,
                    num_worst: int = 20) -> str:
    """The worst videos and, for each video with errors, its errors."""
    topk = out['topk_per_video']
    lines = [
        '# VIS error analysis', '',
        f'Ground truth `{gt_path}`, results `{res_path}`: '
        f"{out['num_kept']} of {out['num_results']} results kept (score > "
        f"{out['score_thr']:g}" + (f', best {topk} per video' if topk
                                   else '') + ').', '',
        f'## Videos, worst first ({min(num_worst, len(out["videos"]))} of '
        f'{len(out["videos"])})', '']
    lines += _md_table(out['videos'][:num_worst], VIDEO_COLUMNS)
    totals = {k: sum(v[k] for v in out['videos'])
              for k in ('missed', 'false', 'id_switches', 'class_confusions')}
    lines += ['', 'Totals: ' + ', '.join(f'{k} {v}' for k, v in
                                         totals.items()), '',
              '## Errors by video', '']
    objects = _by_video(out['objects'])
    tracks = _by_video(out['tracks'])
    for video in out['videos']:
        if not video['errors']:
            continue
        vid = video['video_id']
        lines.append(f"### video {vid} {video['name']}".rstrip())
        lines.append('')
        for o in objects.get(vid, []):
            occ = f", {o['occlusion_level']} occlusion" \
                if o['occlusion_level'] else ''
            what = f"object {o['gt_id']} ({o['category']}{occ})"
            if o['status'] == 'missed':
                lines.append(f"- {what}: missed ({o['frames']} frames)")
            if o['status'] == 'class_confused':
                lines.append(f"- {what}: tracked as {o['matched_category']}")
            for t, a, b in o['switches']:
                lines.append(f'- {what}: ID switch at frame {t} (result '
                             f'#{a + 1} -> #{b + 1})')
        for trk in tracks.get(vid, []):
            if trk['status'] == 'false':
                lines.append(
                    f"- false track: result #{trk['result'] + 1} "
                    f"({trk['category']}, score {trk['score']:.2f}, "
                    f"{trk['frames']} frames)")
        lines.append('')
    return '\n'.join(lines)


def _by_video(rows: List[dict]) -> Dict[int, List[dict]]:
    out: Dict[int, List[dict]] = {}
    for row in rows:
        out.setdefault(row['video_id'], []).append(row)
    return out


def render_video(gt: dict, results: list, out: dict, video_id,
                 img_prefix: Optional[str], max_frames: int) -> np.ndarray:
    """Ground truth beside prediction, one row per chosen frame."""
    from mmengine.structures import InstanceData
    from pycocotools import mask as mask_utils

    from mmvis_pretrain.evaluation.functional.vis_rle import track_rles
    from mmvis_pretrain.visualization import ClipLocalVisualizer
    from mmvis_pretrain.visualization.clip_writers import make_strip
    from mmvis_pretrain.visualization.raster import draw_label

    video = next(v for v in gt['videos'] if v['id'] == video_id)
    h, w, length = video['height'], video['width'], len(
        out['matches'][video_id])
    switch = sorted({t for o in out['objects'] if o['video_id'] == video_id
                     for t in o['switch_frames']})
    chosen = switch[:max_frames]
    for t in np.linspace(0, length - 1, max_frames).round().astype(int):
        if len(chosen) < max_frames and int(t) not in chosen:
            chosen.append(int(t))
    frames = sorted(chosen)
    names = [c['name'] for c in sorted(gt['categories'],
                                       key=lambda c: c['id'])]
    label_of = {c['id']: names.index(c['name']) for c in gt['categories']}
    vis = ClipLocalVisualizer(draw_bbox=False)
    vis.dataset_meta = dict(classes=names)
    kept = {t['result'] for t in out['tracks'] if t['video_id'] == video_id}
    gts = [a for a in gt['annotations'] if a['video_id'] == video_id]
    dts = [(i, results[i]) for i in sorted(kept)]
    gt_rles = [track_rles(a['segmentations'], h, w, f"annotation {a['id']}")[
        0] for a in gts]
    dt_rles = [track_rles(r['segmentations'], h, w, f'result #{i}')[0]
               for i, r in dts]
    rows = []
    for t in frames:
        image = _frame_image(video, t, img_prefix, h, w)
        sides = []
        for cats, rles, ids in (
                ([a['category_id'] for a in gts], gt_rles,
                 [a['id'] for a in gts]),
                ([r['category_id'] for _, r in dts], dt_rles,
                 [i + 1 for i, _ in dts])):
            present = [k for k, r in enumerate(rles) if r[t] is not None]
            inst = InstanceData()
            inst.masks = mask_utils.decode([rles[k][t] for k in present]
                                           ).transpose(2, 0, 1).astype(bool) \
                if present else np.zeros((0, h, w), bool)
            inst.labels = np.array([label_of[cats[k]] for k in present],
                                   dtype=np.int64)
            inst.instances_id = np.array([ids[k] for k in present],
                                         dtype=np.int64)
            sides.append(vis.draw_instances(image, inst))
        row = make_strip(sides)
        tag = f'frame {t}' + (' ID switch' if t in switch else '')
        draw_label(row, tag, 2, 2, max(8, min(h, w) // 20),
                   (255, 80, 80) if t in switch else (230, 230, 230))
        rows.append(row)
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate(sum(([r, gap] for r in rows), [])[:-1], axis=0)


def _frame_image(video: dict, t: int, img_prefix: Optional[str], h: int,
                 w: int) -> np.ndarray:
    if img_prefix is None or not video.get('file_names'):
        return np.full((h, w, 3), 96, np.uint8)
    path = osp.join(img_prefix, video['file_names'][t])
    image = cv2.imread(path)
    if image is None:
        raise ValueError(f"video {video['id']} frame {t}: cannot read {path}")
    if image.shape[:2] != (h, w):
        raise ValueError(f"video {video['id']} frame {t}: {path} is "
                         f'{image.shape[1]}x{image.shape[0]}, the ground '
                         f'truth says {w}x{h}')
    return image[..., ::-1].copy()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from mmvis_pretrain.apis.staged_outputs import (OutputPathError,
                                                    StagedOutputs,
                                                    check_output_folder)
    from mmvis_pretrain.visualization.clip_writers import write_png
    try:
        if args.show < 0 or args.max_frames < 1:
            raise ValueError('--show must be >= 0 and --max-frames >= 1')
        check_output_folder(args.out_dir, '--out-dir',
                            lambda name: bool(OWN_FILE.fullmatch(name)))
        gt = load_json(args.gt, 'ground truth')
        results = load_results(args.results, gt)
        out = analyze_vis_errors(gt, results, score_thr=args.score_thr,
                                 topk_per_video=args.topk,
                                 iou_thr=args.iou_thr)
        with StagedOutputs() as staged:
            folder = staged.folder(args.out_dir)
            for name, rows, cols in (('videos', out['videos'], VIDEO_COLUMNS),
                                     ('objects', out['objects'],
                                      OBJECT_COLUMNS),
                                     ('tracks', out['tracks'],
                                      TRACK_COLUMNS)):
                (folder / f'{name}.csv').write_text(to_csv(rows, cols))
            (folder / 'report.md').write_text(
                report_markdown(out, args.gt, args.results))
            (folder / 'errors.json').write_text(json.dumps(dict(
                out, matches={str(v): [{str(g): r for g, r in f.items()}
                                       for f in m]
                              for v, m in out['matches'].items()}),
                indent=1))
            worst = [v for v in out['videos'] if v['errors']][:args.show]
            for rank, video in enumerate(worst, 1):
                image = render_video(gt, results, out, video['video_id'],
                                     args.img_prefix, args.max_frames)
                write_png(image, folder /
                          f"worst_{rank:02d}_video{video['video_id']}.png")
            staged.commit()
    except (OSError, ValueError, OutputPathError, zipfile.BadZipFile) as err:
        msg = ' '.join(str(err).split())
        print(f'analyze_vis_errors.py: error: {msg}', file=sys.stderr)
        return 1
    totals = {k: sum(v[k] for v in out['videos'])
              for k in ('missed', 'false', 'id_switches', 'class_confusions')}
    print(f"{len(out['videos'])} videos, {out['num_kept']} of "
          f"{out['num_results']} results kept: " +
          ', '.join(f'{k} {v}' for k, v in totals.items()))
    print(f'wrote {args.out_dir}/ (videos.csv, objects.csv, tracks.csv, '
          f'report.md, errors.json, {len(worst)} rendered)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
