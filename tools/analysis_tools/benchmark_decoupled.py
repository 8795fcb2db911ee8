"""Decoupled VIS (DVIS++ tracker / refiner): parameters, frames/s and
memory against video length.

Usage::

    python tools/analysis_tools/benchmark_decoupled.py [CONFIG] \
        [--segmenter-config CFG] [--stage-size dvis++|dvis] \
        [--size H W] [--video-length N] [--chunk-size C] \
        [--iters K] [--warmup W] \
        [--memory-config CFG] [--memory-size H W] \
        [--memory-lengths 100 1000] [--memory-chunk-size C] \
        [--memory-modes online offline] \
        [--skip-params] [--skip-fps] [--skip-memory] \
        [--amp] [--device cpu|cuda] [--seed S] [--threads N] \
        [--cfg-options k=v ...] [--out results.json]

Three parts (each can be skipped):

* **params**: the ``ReferringTracker`` and the ``TemporalRefiner`` built
  alone at DVIS++ R50 size (hidden 512 = 256-d queries + 256-d re-id
  embeddings, 6 layers, 8 heads, FFN 2048, mask features 256, 40 classes
  as YouTube-VIS 2019) and at the original DVIS size (hidden 256,
  ``variant='dvis'``, no denoising); total, in the layers, in the heads.
* **fps**: a ``DecoupledVIS`` -- ``CONFIG``, or by default the R50
  segmenter of ``--segmenter-config`` (Mask2Former R50 + re-id head, 40
  classes) with the tracker and the refiner of ``--stage-size`` -- with
  random weights (no ``init_weights``), on a random video of ``N`` frames
  at ``H x W`` (already normalised float32 frames, so no data
  preprocessor or pipeline), online (``predict_online``, frame by frame)
  and offline (``predict_offline`` on pieces of ``--chunk-size`` frames,
  default the whole video); ``W`` untimed videos first, then ``K`` timed
  ones: frames/s = ``N`` / median video time. The segmenter
  (``frame_features`` + ``panoptic_head.forward_export``), tracker
  (``tracker.track``) and refiner calls are timed inside the same runs
  (``ms_per_frame``; ``rest``: mask resize / threshold, boxes or RLE,
  bookkeeping).
* **memory**: for each mode and each length of ``--memory-lengths`` a
  fresh process builds ``--memory-config`` (default the tiny refiner
  config), predicts a 1-frame video (warm-up), takes the baseline, then
  streams a synthetic random video of that length, online frame by frame
  and offline in pieces of ``--memory-chunk-size`` frames, drawn on the
  fly; each returned sample is counted and dropped (a streaming consumer).
  The process's peak is reset at the baseline (Linux ``/proc/self/
  clear_refs``; ``peak_reset`` says whether it worked), so the imports'
  and the build's peak does not hide the run's. Reported: the peak RSS
  (``VmHWM``, not ``ru_maxrss``, which in a child process includes the
  parent's RSS; CUDA: ``max_memory_allocated``) at the baseline and at
  the end, its growth, the RSS at the end, the
  live torch tensors and the tensors the model holds between calls
  (``video_state``: tracker state, feature window, score accumulators) at
  both points. The ratio longest / shortest of the growth above the
  baseline is compared with the targets (online 1.1, offline 1.3); the
  ratio of the whole-process peaks is given too.

Known limits: ``--amp`` fails on CPU (``ReferringTracker.align`` turns a
bf16 autocast cost matrix into numpy); the ``--device cuda`` paths have
not been run yet. Results: docs/benchmarks.md, "Decoupled VIS".

The helpers are in ``mmvis_pretrain/utils/benchmark_decoupled.py``.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import cv2
import torch
from mmengine.runner import set_random_seed

from mmvis_pretrain.utils.benchmark_args import (add_common_arguments,
                                                 check_common_arguments)
from mmvis_pretrain.utils.benchmark_decoupled import (
    STAGE_SIZES, build_decoupled_model, memory_ratios, memory_run,
    model_params, r50_decoupled_cfg, random_frames, stage_params,
    time_video_mode, video_state_bytes)
from mmvis_pretrain.utils.benchmark_memory import CUDA_MEMORY_KIND
from mmvis_pretrain.utils.benchmark_report import ascii_table, write_report
from mmvis_pretrain.utils.split_dataset import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R50_SEGMENTER_CONFIG = osp.join(
    REPO, 'configs/_base_/models/online_mask2former_vis_r50.py')
TINY_CONFIG = osp.join(
    REPO, 'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')
#: Targets of the memory ratio longest / shortest video (growth above the
#: baseline).
MEMORY_TARGETS = dict(online=1.1, offline=1.3)
MODES = ('online', 'offline')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='DVIS++ tracker / refiner: parameters, online / '
        'offline frames/s, memory against video length.')
    add_common_arguments(parser)
    # one optional config (default: the R50 model built here)
    for action in parser._actions:
        if action.dest == 'configs':
            action.nargs = '?'
            action.default = None
            action.metavar = 'CONFIG'
            action.help = ('DecoupledVIS config of the fps part (default: '
                           'the R50 segmenter of --segmenter-config with '
                           'the --stage-size tracker and refiner)')
        elif action.dest == 'iters':
            action.default = 3
            action.help = 'timed videos of the fps part (default: 3)'
        elif action.dest == 'warmup':
            action.default = 1
            action.help = 'untimed videos first (default: 1)'
    parser.add_argument('--segmenter-config', default=R50_SEGMENTER_CONFIG,
                        help='segmenter of the default fps model (default: '
                        'configs/_base_/models/online_mask2former_vis_r50.py)')
    parser.add_argument('--stage-size', choices=tuple(STAGE_SIZES),
                        default='dvis++', help='tracker / refiner size of '
                        'the default fps model (default: dvis++)')
    parser.add_argument('--size', type=int, nargs=2, default=[192, 320],
                        metavar=('H', 'W'),
                        help='fps input size (default: 192 320)')
    parser.add_argument('--video-length', type=int, default=8,
                        help='frames N of the fps video (default: 8)')
    parser.add_argument('--chunk-size', type=int, default=None,
                        help='offline pieces / refiner chunks of the fps '
                        'part (default: the whole video)')
    parser.add_argument('--memory-config', default=TINY_CONFIG,
                        help='DecoupledVIS config of the memory part '
                        '(default: the tiny refiner config)')
    parser.add_argument('--memory-size', type=int, nargs=2, default=[64, 96],
                        metavar=('H', 'W'),
                        help='memory input size (default: 64 96)')
    parser.add_argument('--memory-lengths', type=int, nargs='+',
                        default=[100, 1000],
                        help='video lengths of the memory part (default: '
                        '100 1000)')
    parser.add_argument('--memory-chunk-size', type=int, default=50,
                        help='offline pieces / refiner chunks of the memory '
                        'part (default: 50)')
    parser.add_argument('--memory-modes', nargs='+', choices=MODES,
                        default=list(MODES),
                        help='modes of the memory part (default: both)')
    for part in ('params', 'fps', 'memory'):
        parser.add_argument(f'--skip-{part}', action='store_true',
                            help=f'do not run the {part} part')
    parser.add_argument('--memory-run', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_run is not None:
        return args
    check_common_arguments(parser, args)
    if args.video_length < 1:
        parser.error('--video-length must be >= 1')
    if args.chunk_size is not None and args.chunk_size < 1:
        parser.error('--chunk-size must be >= 1')
    if args.memory_chunk_size < 1:
        parser.error('--memory-chunk-size must be >= 1')
    if min(args.memory_size) < 8:
        parser.error('--memory-size must be at least 8 x 8')
    if min(args.memory_lengths) < 1:
        parser.error('--memory-lengths must be >= 1')
    return args


# -------------------------------------------------------------------- fps
def fps_model_cfg(args: argparse.Namespace):
    """The config of the fps model (``--cfg-options`` merged)."""
    if args.configs:
        return load_config(args.configs, args.cfg_options)
    cfg = r50_decoupled_cfg(args.segmenter_config, args.stage_size,
                            chunk_size=args.chunk_size or args.video_length)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def benchmark_fps(args: argparse.Namespace) -> Dict[str, Any]:
    """Online and offline frames/s of the fps model."""
    cfg = fps_model_cfg(args)
    set_random_seed(args.seed)
    model = build_decoupled_model(cfg, args.device)
    generator = torch.Generator().manual_seed(args.seed)
    inputs = random_frames(args.video_length, args.size, generator,
                           args.device)
    chunk = args.chunk_size or args.video_length
    modes = [time_video_mode(model, 'online', inputs, chunk, args.iters,
                             args.warmup, args.device, args.amp)]
    if model.refiner is not None:
        modes.append(time_video_mode(model, 'offline', inputs, chunk,
                                     args.iters, args.warmup, args.device,
                                     args.amp))
    head = model.panoptic_head
    return dict(
        config=str(args.configs) if args.configs else None,
        segmenter_config=None if args.configs else str(
            args.segmenter_config),
        stage_size=None if args.configs else args.stage_size,
        model=type(model).__name__,
        backbone=dict(type=type(model.backbone).__name__,
                      depth=getattr(model.backbone, 'depth', None)),
        num_queries=head.num_queries,
        num_classes=head.num_things_classes,
        tracker_embed_dims=model.tracker.embed_dims,
        tracker_variant=model.tracker.variant,
        params=model_params(model),
        input_shape=list(inputs.shape),
        device=args.device,
        amp=args.amp,
        threads=torch.get_num_threads(),
        iters=args.iters,
        warmup=args.warmup,
        modes=modes,
        # what the model holds between frames after the last video
        video_state=video_state_bytes(model))


# ----------------------------------------------------------------- memory
def memory_child(spec: Dict[str, Any]) -> Dict[str, Any]:
    """One ``(mode, length)`` memory run (in this, fresh, process)."""
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
        cv2.setNumThreads(spec['threads'])
    cfg = load_config(spec['config'], spec.get('cfg_options'))
    set_random_seed(spec['seed'])
    model = build_decoupled_model(cfg, spec['device'])
    return memory_run(model, spec['mode'], spec['length'], spec['size'],
                      spec['chunk_size'], spec['seed'], spec['device'])


def benchmark_memory(args: argparse.Namespace) -> Dict[str, Any]:
    """The memory runs, one fresh process each, and the ratios."""
    runs = []
    for mode in args.memory_modes:
        for length in args.memory_lengths:
            spec = dict(config=str(args.memory_config), mode=mode,
                        length=length, size=list(args.memory_size),
                        chunk_size=args.memory_chunk_size, seed=args.seed,
                        device=args.device, threads=args.threads,
                        cfg_options=args.cfg_options)
            cmd = [sys.executable, osp.abspath(__file__), '--memory-run',
                   json.dumps(spec)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                raise RuntimeError(f'the {mode} {length}-frame memory run '
                                   'failed')
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = runs[-1]
            print(f'memory {mode:7s} {length:6d} frames: growth '
                  f"{r['growth_mb']:.1f} MiB, {r['fps']:.1f} frames/s",
                  flush=True)
    return dict(
        config=str(args.memory_config),
        kind=CUDA_MEMORY_KIND if args.device == 'cuda' else
        'VmHWM of /proc/self/status (peak RSS), reset at the baseline by '
        '/proc/self/clear_refs; one fresh process per run',
        size=list(args.memory_size),
        chunk_size=args.memory_chunk_size,
        runs=runs,
        ratios=memory_ratios(runs, MEMORY_TARGETS))


# ----------------------------------------------------------------- tables
def format_params_table(params: Dict[str, Any]) -> str:
    rows = [('size', 'hidden', 'tracker M', 'layers / heads M',
             'refiner M', 'layers / heads M', 'both M')]
    for size, p in params.items():
        t, r = p['tracker'], p['refiner']
        rows.append((size, str(p['config']['embed_dims']),
                     f"{t['total'] / 1e6:.3f}",
                     f"{t['layers'] / 1e6:.3f} / {t['heads'] / 1e6:.3f}",
                     f"{r['total'] / 1e6:.3f}",
                     f"{r['layers'] / 1e6:.3f} / {r['heads'] / 1e6:.3f}",
                     f"{p['total'] / 1e6:.3f}"))
    return ascii_table(rows)


def format_fps_table(fps: Dict[str, Any]) -> str:
    name = Path(fps['config']).name if fps['config'] else \
        f"R50 + {fps['stage_size']}"
    shape = fps['input_shape']
    rows = [('model', 'input', 'mode', 'chunk', 'fps', 'ms/frame',
             'segmenter', 'tracker', 'refiner', 'rest', 'masks/frame')]
    for m in fps['modes']:
        ms = m['ms_per_frame']
        rows.append((name, f'{shape[1]}x{shape[3]}x{shape[4]}', m['mode'],
                     str(m['chunk_size'] or '-'), f"{m['fps']:.2f}",
                     f"{1e3 * m['s_per_frame']['median']:.1f}",
                     f"{ms['segmenter']:.1f}", f"{ms['tracker']:.1f}",
                     f"{ms['refiner']:.1f}", f"{ms['rest']:.1f}",
                     f"{m['masks_per_frame']:.1f}"))
    return ascii_table(rows)


def format_memory_table(memory: Dict[str, Any]) -> str:
    rows = [('mode', 'frames', 'chunk', 'baseline peak MiB',
             'end peak MiB', 'growth MiB', 'end RSS MiB',
             'live tensors MiB', 'model state KiB', 'fps')]
    for r in memory['runs']:
        b, e = r['baseline'], r['end']
        end_rss = e['current_mb']
        rows.append((
            r['mode'], str(r['length']), str(r['chunk_size'] or '-'),
            f"{b['peak_mb']:.1f}", f"{e['peak_mb']:.1f}",
            f"{r['growth_mb']:.1f}",
            '-' if end_rss is None else f'{end_rss:.1f}',
            f"{b['live_tensors']['mb']:.1f} -> "
            f"{e['live_tensors']['mb']:.1f}",
            f"{b['video_state']['total'] / 1024:.1f} -> "
            f"{e['video_state']['total'] / 1024:.1f}", f"{r['fps']:.1f}"))
    table = ascii_table(rows)
    lines = []
    for q in memory['ratios']:
        growth = ('n/a (no growth at the shorter length)'
                  if q['growth_ratio'] is None else
                  f"x{q['growth_ratio']:.3f}")
        met = {True: 'met', False: 'NOT met', None: '-'}[q['target_met']]
        lines.append(f"{q['mode']}: {q['lengths'][1]} / {q['lengths'][0]} "
                     f'frames: growth {growth} (target <= '
                     f"x{q['target']}: {met}), whole-process peak "
                     f"x{q['peak_ratio']:.3f}")
    return '\n'.join([table] + lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the tool; returns the report's result dict."""
    args = parse_args(argv)
    if args.memory_run is not None:
        print(json.dumps(memory_child(json.loads(args.memory_run))))
        return {}
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    result: Dict[str, Any] = {}
    if not args.skip_params:
        result['params'] = stage_params()
        print(format_params_table(result['params']))
    if not args.skip_fps:
        result['fps'] = benchmark_fps(args)
        print(format_fps_table(result['fps']))
    if not args.skip_memory:
        result['memory'] = benchmark_memory(args)
        print(format_memory_table(result['memory']))
    if args.out:
        out = write_report(args.out, sys.argv[1:] if argv is None else argv,
                           'decoupled', args.device, [result])
        print(f'Wrote {out.resolve()}')
    return result


if __name__ == '__main__':
    main()
