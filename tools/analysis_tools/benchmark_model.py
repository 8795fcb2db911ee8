"""Time training and inference of the models of one or more configs.

Usage::

    python tools/analysis_tools/benchmark_model.py CONFIG [CONFIG ...] \
        [--num-frames T] [--size H W] [--batch N] [--iters K] [--warmup W] \
        [--num-instances I] [--amp] [--device cpu|cuda] [--seed S] \
        [--threads N] [--skip-inference] [--cfg-options k=v ...] \
        [--out results.json]

For each config the model is built from ``cfg.model`` (``--cfg-options``
applied to every config first, e.g. ``model.neck=None`` for the model
without MSTM) without ``init_weights``, so no pre-trained weights are
downloaded. Inputs are random ``uint8`` images; the ground truth is a few
random rectangular instances (box, mask, label) per frame, so the
Mask2Former loss (matching, point sampling, dice) runs in full.

* **clip models** (the data preprocessor is mmdet's
  ``TrackDataPreprocessor``, e.g. ``VideoMask2Former``): ``N`` clips of
  ``T`` frames, ``(N, T, 3, H, W)`` as ``TrackDataSample`` s;
* **image models** (any other preprocessor, e.g. ``DetDataPreprocessor``):
  ``N * T`` images as ``DetDataSample`` s, so both see the same frames.

Measured per config:

* ``train_s_per_iter``: ``model.train_step`` (data preprocessor, forward,
  loss, backward, gradient clipping and optimizer step of the config's
  ``optim_wrapper``; AdamW lr 1e-4 when the config has none), median / mean /
  min over ``K`` iterations after ``W`` warm-up iterations;
* ``infer_s_per_image``: ``model.test_step`` in eval mode on ``N`` images
  (a 1-frame clip for clip models, which replicate it to their ``T`` frames,
  appendix A.2), per image, same statistics;
* ``memory``: on CUDA ``torch.cuda.max_memory_allocated`` of training and of
  inference (reset before each); on CPU the process's peak resident set size
  from ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after training and
  after inference and its growth during this config (psutil is not used; the
  peak of a process only grows, so run one config per process for
  comparable CPU numbers);
* ``params``: total, trainable, and of the neck (0 without a neck).

``--amp``: on CUDA, mmengine's ``AmpOptimWrapper`` (fp16 with loss scaling)
and fp16 autocast for inference; on CPU, bf16 autocast around the train and
test steps (no loss scaling). A table is printed and, with ``--out``, the
report is written as JSON.

Online inference frames/s is ``tools/analysis_tools/benchmark_fps.py``;
``--mode fps`` here hands the whole command line over to it. The batches,
statistics, memory and parameter helpers are in
``mmvis_pretrain/utils/benchmark_*.py``.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence

import cv2
import torch
from mmengine.runner import set_random_seed

from mmvis_pretrain.utils.benchmark_args import (add_batch_arguments,
                                                 add_common_arguments,
                                                 check_common_arguments)
from mmvis_pretrain.utils.benchmark_batches import (is_clip_model,
                                                    make_batch,
                                                    num_classes_of)
from mmvis_pretrain.utils.benchmark_memory import (CUDA_MEMORY_KIND,
                                                   RSS_MEMORY_KIND,
                                                   max_rss_mb, peak_memory,
                                                   reset_peak_memory)
from mmvis_pretrain.utils.benchmark_params import count_params
from mmvis_pretrain.utils.benchmark_report import ascii_table, write_report
from mmvis_pretrain.utils.benchmark_timing import (autocast_context,
                                                   sync_device, timing_stats)
from mmvis_pretrain.utils.benchmark_models import (build_clip_model,
                                                   build_optimizer)
from mmvis_pretrain.utils.split_dataset import load_config

FPS_NOTE = ('benchmark_model.py --mode fps: handing over to '
            'tools/analysis_tools/benchmark_fps.py (same options)')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Time training and inference of config models on '
        'random clips.')
    add_common_arguments(parser)
    parser.add_argument('--mode', choices=('train', 'fps'), default='train',
                        help='train: training s/iter + inference s/image on '
                        'random tensors (default); fps: run benchmark_fps.py')
    add_batch_arguments(parser, default_size=(512, 512))
    parser.add_argument('--skip-inference', action='store_true',
                        help='time training only')
    args = parser.parse_args(argv)
    if args.mode == 'fps':
        parser.error('--mode fps is tools/analysis_tools/benchmark_fps.py '
                     '(main() hands over to it)')
    check_common_arguments(parser, args)
    if args.batch < 1:
        parser.error('--batch must be >= 1')
    if args.num_frames is not None and args.num_frames < 1:
        parser.error('--num-frames must be >= 1')
    if args.num_instances < 1:
        parser.error('--num-instances must be >= 1')
    return args


def time_training(model, optim_wrapper, batch_args: dict,
                  args: argparse.Namespace) -> List[float]:
    """Seconds per ``train_step`` on fresh random batches
    (:func:`make_batch` with ``batch_args``, seed ``args.seed + i``)."""
    model.train()
    seconds = []
    for i in range(args.warmup + args.iters):
        data = make_batch(seed=args.seed + i, **batch_args)
        sync_device(args.device)
        start = time.perf_counter()
        # on CUDA the AmpOptimWrapper autocasts itself
        with (autocast_context(args.device, args.amp)
              if args.device == 'cpu' else nullcontext()):
            losses = model.train_step(data, optim_wrapper)
        sync_device(args.device)
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
        loss = torch.as_tensor(losses['loss']).detach().float()
        if not torch.isfinite(loss).all():
            raise FloatingPointError(f'non-finite loss at iteration {i}')
    return seconds


def time_inference(model, batch_args: dict,
                   args: argparse.Namespace) -> List[float]:
    """Seconds per call of ``test_step`` on ``N`` images."""
    model.eval()
    seconds = []
    for i in range(args.warmup + args.iters):
        data = make_batch(seed=args.seed + 1000 + i, with_gt=False,
                          **batch_args)
        sync_device(args.device)
        start = time.perf_counter()
        with torch.no_grad(), autocast_context(args.device, args.amp):
            results = model.test_step(data)
        sync_device(args.device)
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
        assert len(results) == len(data['data_samples'])
    return seconds


def benchmark_config(path: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Build one config's model and measure it."""
    cfg = load_config(path, args.cfg_options)
    set_random_seed(args.seed)
    rss_before = max_rss_mb()
    model, T = build_clip_model(cfg, args.num_frames, args.device)
    clip_model = is_clip_model(model)
    H, W = args.size
    batch_args = dict(clip_model=clip_model, n=args.batch, t=T, h=H, w=W,
                      num_instances=args.num_instances,
                      num_classes=num_classes_of(model))
    params = count_params(model)
    optim_wrapper = build_optimizer(cfg, model, args.amp, args.device)

    memory: Dict[str, Any] = {}
    reset_peak_memory(args.device)
    train_s = time_training(model, optim_wrapper, batch_args, args)
    memory.update(peak_memory(args.device, 'train'))

    infer = None
    if not args.skip_inference:
        optim_wrapper.zero_grad()
        reset_peak_memory(args.device, empty_cache=True)
        # inference on images: 1-frame clips, replicated to T by the model
        infer_args = dict(batch_args, t=1)
        infer_s = [s / args.batch
                   for s in time_inference(model, infer_args, args)]
        infer = timing_stats(infer_s)
        memory.update(peak_memory(args.device, 'infer'))
    if args.device == 'cuda':
        memory['kind'] = CUDA_MEMORY_KIND
    else:
        memory['kind'] = RSS_MEMORY_KIND + ' (peak RSS of the process; ' \
            'psutil not used)'
        memory['growth_mb'] = max_rss_mb() - rss_before

    train = timing_stats(train_s)
    return dict(
        config=str(path),
        model=type(model).__name__,
        neck=type(model.neck).__name__ if getattr(model, 'neck', None)
        is not None else None,
        clip_model=clip_model,
        num_frames=T,
        batch=args.batch,
        frames_per_iter=args.batch * T,
        size=[H, W],
        iters=args.iters,
        warmup=args.warmup,
        amp=args.amp,
        device=args.device,
        params=params,
        train_s_per_iter=train,
        train_s_per_frame=train['median'] / (args.batch * T),
        infer_s_per_image=infer,
        memory=memory)


def format_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results as a plain-text table."""
    header = ('config', 'neck', 'T', 'HxW', 'N', 'params M', 'neck M',
              'train s/it med', 'infer s/img med', 'peak mem MB')
    rows = [header]
    for r in results:
        mem = r['memory']
        peak = mem.get('train_peak_mb', mem.get('train_peak_rss_mb'))
        if 'infer_peak_mb' in mem:
            peak = max(peak, mem['infer_peak_mb'])
        elif 'infer_peak_rss_mb' in mem:
            peak = mem['infer_peak_rss_mb']
        rows.append((
            Path(r['config']).name, str(r['neck']), str(r['num_frames']),
            f"{r['size'][0]}x{r['size'][1]}", str(r['batch']),
            f"{r['params']['total'] / 1e6:.2f}",
            f"{r['params']['neck'] / 1e6:.2f}",
            f"{r['train_s_per_iter']['median']:.3f}",
            '-' if r['infer_s_per_image'] is None else
            f"{r['infer_s_per_image']['median']:.3f}", f'{peak:.0f}'))
    return ascii_table(rows)


def wants_fps(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--mode fps``."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--mode')
    return pre.parse_known_args(list(argv))[0].mode == 'fps'


def load_fps_tool() -> ModuleType:
    """``benchmark_fps.py`` next to this file, as a module."""
    path = Path(__file__).with_name('benchmark_fps.py')
    spec = importlib.util.spec_from_file_location('benchmark_fps', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    if wants_fps(sys.argv[1:] if argv is None else argv):
        print(FPS_NOTE, file=sys.stderr)
        return load_fps_tool().main(argv)
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    results = [benchmark_config(path, args) for path in args.configs]
    print(format_table(results))
    if args.out:
        out = write_report(args.out, sys.argv[1:] if argv is None else argv,
                           args.mode, args.device, results)
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
