"""Per-frame cost of the video demo's outputs, against a model's frames/s.

Usage::

    python tools/analysis_tools/benchmark_render.py \
        [--size H W [--size H W ...]] [--instances N [N ...]] \
        [--frames K] [--warmup W] [--threads T] \
        [--model-fps F | --fps-json benchmark_fps.json] [--out r.json]

For each frame size and instance count, ``K`` frames (after ``W`` untimed
ones) of synthetic predictions (``N`` moving, overlapping ellipses with
boxes, labels, scores and track ids, on a textured frame) go through the
exact calls of ``demo/video_demo.py`` per frame, each timed on its own:

* ``draw``: :meth:`ClipLocalVisualizer.draw_instances` (masks, contours,
  boxes, labels; raster) after the BGR->RGB flip;
* ``mp4``: :class:`Mp4Writer.write` (RGB->BGR, OpenCV ``mp4v`` encoding);
* ``png``: :class:`IdPngWriter.write` (id map + palette PNG, ``auto``);
* ``json``: :class:`TracksJsonWriter.add_frame` (RLE encoding of every
  mask; the file itself is written once at the end, untimed).

``render_s`` is the median of their per-frame sum. With a model's
end-to-end frames/s (``--model-fps``, or the ``end_to_end`` fps of a
``benchmark_fps.py --out`` report via ``--fps-json``, matched by source
frame size, the size the demo draws at) the tool reports the demo's
expected frames/s, ``1 / (1 / model_fps + render_s)``, and
``within_2x``: whether rendering keeps it within a factor 2 of the model
alone (``render_s <= 1 / model_fps``). Without either, the paper's 9.7 frames/s (online VIS R50 on
YouTube-VIS, its GPU) is the reference. Results are recorded in
``docs/benchmarks.md`` (rendering).
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.structures import InstanceData

from mmvis_pretrain.apis import IdPngWriter, Mp4Writer, TracksJsonWriter
from mmvis_pretrain.utils.benchmark_report import ascii_table, write_report
from mmvis_pretrain.utils.benchmark_timing import timing_stats
from mmvis_pretrain.visualization import ClipLocalVisualizer

#: The online VIS paper's R50 speed on YouTube-VIS (frames/s, its GPU).
PAPER_FPS = 9.7
CLASSES = ('person', 'car', 'dog', 'cat', 'bird', 'horse')
STEPS = ('draw', 'mp4', 'png', 'json')


def synthetic_frame(rng: np.random.Generator, height: int,
                    width: int) -> np.ndarray:
    """A textured BGR ``uint8`` frame (gradient + noise)."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    base = np.stack([xx / width, yy / height, (xx + yy) / (height + width)],
                    -1) * 200
    noise = rng.normal(0, 12, (height, width, 3))
    return (base + noise).clip(0, 255).astype(np.uint8)


def synthetic_instances(rng: np.random.Generator, num: int, height: int,
                        width: int, t: int) -> Dict[str, np.ndarray]:
    """``num`` ellipses (about 1/5 of the frame each, overlapping) moving
    with ``t``: masks ``(N, H, W)``, boxes, labels, scores, ids 1..N."""
    yy, xx = np.ogrid[:height, :width]
    state = np.random.default_rng(1234)  # the same objects every frame
    cy = state.uniform(0.15, 0.85, num) * height
    cx = state.uniform(0.15, 0.85, num) * width
    ry = state.uniform(0.06, 0.12, num) * height
    rx = state.uniform(0.04, 0.09, num) * width
    cx = (cx + 3 * t) % width
    masks = np.stack([((yy - cy[i]) / ry[i])**2 + ((xx - cx[i]) / rx[i])**2
                      < 1 for i in range(num)]) if num else np.zeros(
                          (0, height, width), bool)
    boxes = np.stack([cx - rx, cy - ry, cx + rx, cy + ry], 1).astype(
        np.float32).reshape(-1, 4)
    return dict(
        masks=masks,
        bboxes=boxes,
        labels=state.integers(0, len(CLASSES), num),
        scores=state.uniform(0.3, 1.0, num).astype(np.float32),
        ids=np.arange(1, num + 1))


def time_size(height: int, width: int, num: int, frames: int, warmup: int,
              work_dir: str, seed: int = 0) -> Dict[str, object]:
    """Time the demo's per-frame output calls at one size and count."""
    rng = np.random.default_rng(seed)
    frame = synthetic_frame(rng, height, width)
    total = frames + warmup
    visualizer = ClipLocalVisualizer(name=f'benchmark_render_{height}_'
                                     f'{width}_{num}')
    visualizer.dataset_meta = dict(classes=CLASSES)
    stem = osp.join(work_dir, f'{height}x{width}_{num}')
    mp4 = Mp4Writer(stem + '.mp4', 25.0, height, width)
    png = IdPngWriter(stem + '_ids', height, width)
    tracks = TracksJsonWriter(stem + '.json', total, height, width,
                              classes=CLASSES)
    per_step: Dict[str, List[float]] = {step: [] for step in STEPS}
    for t in range(total):
        inst = synthetic_instances(rng, num, height, width, t)
        pred = InstanceData(
            instances_id=torch.from_numpy(inst['ids']),
            labels=torch.from_numpy(inst['labels']),
            scores=torch.from_numpy(inst['scores']),
            masks=inst['masks'],
            bboxes=torch.from_numpy(inst['bboxes']))
        times = {}
        start = time.perf_counter()
        drawn = visualizer.draw_instances(
            np.ascontiguousarray(frame[..., ::-1]), pred)
        times['draw'] = time.perf_counter() - start
        start = time.perf_counter()
        mp4.write(drawn)
        times['mp4'] = time.perf_counter() - start
        start = time.perf_counter()
        png.write(t, inst['masks'], inst['ids'], inst['scores'])
        times['png'] = time.perf_counter() - start
        start = time.perf_counter()
        tracks.add_frame(t, inst['ids'], inst['labels'], inst['scores'],
                         inst['masks'])
        times['json'] = time.perf_counter() - start
        if t >= warmup:
            for step in STEPS:
                per_step[step].append(times[step])
    mp4.close()
    tracks.close()
    sums = [sum(per_step[s][i] for s in STEPS) for i in range(frames)]
    return dict(
        size=[height, width],
        instances=num,
        frames=frames,
        steps_ms={s: round(1e3 * timing_stats(per_step[s])['median'], 2)
                  for s in STEPS},
        render_s=timing_stats(sums)['median'],
        render_fps=1.0 / timing_stats(sums)['median'])


def model_fps_by_size(path: str) -> Dict[tuple, float]:
    """``{(H, W): fps}`` of a ``benchmark_fps.py --out`` report: the
    ``end_to_end`` frames/s keyed by the source frame size (``src_size``,
    the size the demo draws and encodes at; the network input may be
    smaller)."""
    with open(path) as f:
        report = json.load(f)
    out = {}
    for result in report.get('results', []):
        fps = (result.get('end_to_end') or {}).get('fps')
        size = result.get('src_size') or result.get('size')
        if fps and size:
            out[tuple(size)] = float(fps)
    if not out:
        raise ValueError(f'{path}: no results with "end_to_end.fps" and '
                         '"src_size" (a benchmark_fps.py --out report is '
                         'expected)')
    return out


def compare(result: Dict[str, object], model_fps: float,
            source: str) -> None:
    """Add the demo's expected fps and the 2x check to ``result``."""
    demo_fps = 1.0 / (1.0 / model_fps + result['render_s'])
    result.update(
        model_fps=round(model_fps, 3),
        model_fps_source=source,
        demo_fps=round(demo_fps, 3),
        slowdown=round(model_fps / demo_fps, 3),
        within_2x=bool(result['render_s'] <= 1.0 / model_fps))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', nargs=2, type=int, action='append',
                        metavar=('H', 'W'),
                        help='frame size, repeatable (default: 360 640 and '
                        '720 1280)')
    parser.add_argument('--instances', nargs='+', type=int, default=[10],
                        help='instances per frame (default: 10)')
    parser.add_argument('--frames', type=int, default=20,
                        help='timed frames K (default: 20)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed frames first (default: 2)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch / OpenCV threads (default: as they are)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--model-fps', type=float,
                       help='the model\'s end-to-end frames/s')
    group.add_argument('--fps-json',
                       help='a benchmark_fps.py --out report (its fps per '
                       'size)')
    parser.add_argument('--out', help='write the report to this JSON file')
    args = parser.parse_args(argv)
    if args.frames < 1 or args.warmup < 0:
        parser.error('--frames must be >= 1 and --warmup >= 0')
    if any(n < 0 for n in args.instances):
        parser.error('--instances must be >= 0')
    if args.model_fps is not None and args.model_fps <= 0:
        parser.error('--model-fps must be positive')
    args.size = [tuple(s) for s in (args.size or [(360, 640), (720, 1280)])]
    if any(h < 2 or w < 2 for h, w in args.size):
        parser.error('--size H W must be at least 2 x 2')
    return args


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    fps_of = model_fps_by_size(args.fps_json) if args.fps_json else None
    results = []
    with tempfile.TemporaryDirectory() as work_dir:
        for height, width in args.size:
            for num in args.instances:
                result = time_size(height, width, num, args.frames,
                                   args.warmup, work_dir)
                if args.model_fps is not None:
                    compare(result, args.model_fps, '--model-fps')
                elif fps_of is not None:
                    if (height, width) in fps_of:
                        compare(result, fps_of[(height, width)],
                                args.fps_json)
                else:
                    compare(result, PAPER_FPS, 'paper (R50, its GPU)')
                results.append(result)
    rows = [['size', 'inst'] + [f'{s} ms' for s in STEPS] +
            ['render fps', 'model fps', 'demo fps', 'within 2x']]
    for r in results:
        rows.append([f"{r['size'][0]}x{r['size'][1]}", str(r['instances'])]
                    + [f"{r['steps_ms'][s]:.1f}" for s in STEPS]
                    + [f"{r['render_fps']:.1f}",
                       str(r.get('model_fps', '-')),
                       str(r.get('demo_fps', '-')),
                       str(r.get('within_2x', '-'))])
    print(ascii_table(rows))
    if args.out:
        write_report(args.out, sys.argv if argv is None else argv, 'render',
                     'cpu', results, cv2_threads=cv2.getNumThreads())
    return results


if __name__ == '__main__':
    main()
