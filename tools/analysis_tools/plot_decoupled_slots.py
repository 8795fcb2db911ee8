"""Draw the slots of a decoupled VIS model (``DecoupledVIS``) on a video,
online (segmenter + tracker) and offline (refined), one row each.

Example (the figure of docs/decoupled_vis.md, after ``make demo``)::

    python tools/analysis_tools/plot_decoupled_slots.py \\
        configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py \\
        work_dirs/demo/dvis_refiner/iter_300.pth \\
        data/synthetic/ytvis/valid/JPEGImages/<first video> \\
        --out docs/figures/decoupled_vis_slots.png

Each row shows ``--num-frames`` evenly spaced frames; a slot is drawn when
its video-level class score (the last frame's ``class_scores``) is at least
``--score-thr``, in the colour of its slot id, so one colour is one slot
through the video. The PNG is written to a temporary file and moved into
place at the end.
"""
import argparse
import glob
import os.path as osp
import sys

import cv2
import numpy as np

from mmvis_pretrain.apis import (get_track_instances, inference_vis_video,
                                 init_vis_model)
from mmvis_pretrain.apis.staged_outputs import StagedOutputs
from mmvis_pretrain.visualization.drawing_utils import instance_color

MODES = ('online', 'offline')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a DecoupledVIS config with a refiner')
    parser.add_argument('checkpoint', help='its stage-3 checkpoint')
    parser.add_argument('frames', help='a folder of the video\'s frames')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--num-frames', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def slot_row(model, frames, picks, score_thr: float, label: str):
    """The frames ``picks`` with the kept slots drawn; returns the row and
    the kept slots with their scores."""
    preds = [get_track_instances(r) for _, r in inference_vis_video(
        model, iter(frames), len(frames))]
    final = preds[-1].class_scores.max(-1).values
    keep = (final >= score_thr).nonzero().flatten().tolist()
    tiles = []
    for t in picks:
        img = frames[t].copy()
        masks = preds[t].masks.cpu().numpy().astype(bool)
        for k in keep:
            color = np.array(instance_color(k)[::-1], dtype=np.float32)
            img[masks[k]] = (0.45 * img[masks[k]] + 0.55 * color).astype(
                np.uint8)
        cv2.putText(img, f'{label} t={t}', (3, 12), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (255, 255, 255), 1)
        tiles.append(img)
    return np.concatenate(tiles, axis=1), {k: float(final[k]) for k in keep}


def main(argv=None) -> int:
    args = parse_args(argv)
    names = sorted(glob.glob(osp.join(args.frames, '*.jpg')) +
                   glob.glob(osp.join(args.frames, '*.png')))
    if not names:
        print(f'error: no .jpg / .png frames in {args.frames}',
              file=sys.stderr)
        return 1
    frames = [cv2.imread(n) for n in names]
    bad = [n for n, f in zip(names, frames) if f is None]
    if bad:
        print(f'error: cannot decode {bad[0]}', file=sys.stderr)
        return 1
    if args.num_frames < 1:
        print('error: --num-frames must be >= 1', file=sys.stderr)
        return 1
    picks = np.linspace(0, len(frames) - 1,
                        min(args.num_frames, len(frames))).round().astype(int)
    rows = []
    for mode in MODES:
        model = init_vis_model(args.config, args.checkpoint, args.device,
                               cfg_options={'model.inference_mode': mode})
        if type(model).__name__ != 'DecoupledVIS':
            print(f'error: {args.config} is not a DecoupledVIS config',
                  file=sys.stderr)
            return 1
        row, kept = slot_row(model, frames, picks, args.score_thr, mode)
        rows.append(row)
        print(f'{mode}: slots {kept}')
    with StagedOutputs() as staged:
        if not cv2.imwrite(str(staged.file(args.out)),
                           np.concatenate(rows, axis=0)):
            raise OSError(f'cannot write {args.out}')
        staged.commit()
    print(args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
