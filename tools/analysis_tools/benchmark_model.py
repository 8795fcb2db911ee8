"""Time training and inference of the models of one or more configs.

Usage::

    python tools/analysis_tools/benchmark_model.py CONFIG [CONFIG ...] \
        [--num-frames T] [--size H W] [--batch N] [--iters K] [--warmup W] \
        [--num-instances I] [--amp] [--device cpu|cuda] [--seed S] \
        [--cfg-options k=v ...] [--out results.json]

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
"""
from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed
from mmengine.structures import InstanceData

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils import text_table
from mmvis_pretrain.utils.split_dataset import init_scope, load_config

DEFAULT_OPTIM = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Time training and inference of config models on '
        'random clips.')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='config file paths')
    parser.add_argument('--num-frames', type=int, default=None,
                        help='frames T per clip (default: model.num_frames '
                        'of the config, else 1)')
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512],
                        metavar=('H', 'W'), help='frame size (default: '
                        '512 512)')
    parser.add_argument('--batch', type=int, default=1,
                        help='clips N per iteration (default: 1)')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations K (default: 5)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations W first (default: 2)')
    parser.add_argument('--num-instances', type=int, default=3,
                        help='random gt instances per frame (default: 3)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 + loss scaling on CUDA, '
                        'bf16 autocast on CPU)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='device (default: cpu)')
    parser.add_argument('--skip-inference', action='store_true',
                        help='time training only')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: 0)')
    parser.add_argument('--out', help='write the report to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, xxx=yyy pairs (e.g. '
        'model.neck=None)')
    args = parser.parse_args(argv)
    if args.iters < 1:
        parser.error('--iters must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.batch < 1:
        parser.error('--batch must be >= 1')
    if args.num_frames is not None and args.num_frames < 1:
        parser.error('--num-frames must be >= 1')
    if min(args.size) < 8:
        parser.error('--size must be at least 8 x 8')
    if args.num_instances < 1:
        parser.error('--num-instances must be >= 1')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    return args


# ------------------------------------------------------------------ data
def is_clip_model(model: torch.nn.Module) -> bool:
    """Whether the model takes clips (mmdet's ``TrackDataPreprocessor``)."""
    return type(model.data_preprocessor).__name__ == 'TrackDataPreprocessor'


def num_classes_of(model: torch.nn.Module) -> int:
    head = getattr(model, 'panoptic_head', None)
    n = getattr(head, 'num_classes', None) or getattr(
        head, 'num_things_classes', None)
    return int(n) if n else 1


def random_frame_sample(h: int, w: int, num_instances: int, num_classes: int,
                        rng: np.random.Generator, frame_id: int = 0,
                        img_id: int = 0, with_gt: bool = True
                        ) -> DetDataSample:
    """A ``DetDataSample`` of an ``h x w`` frame with random rectangles as
    gt instances (boxes ``xyxy``, bitmap masks, labels)."""
    sample = DetDataSample(metainfo=dict(
        img_id=img_id, frame_id=frame_id, img_path=f'random_{img_id}.jpg',
        ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0),
        flip=False, flip_direction=None))
    if not with_gt:
        return sample
    masks = np.zeros((num_instances, h, w), dtype=np.uint8)
    boxes = np.zeros((num_instances, 4), dtype=np.float32)
    for i in range(num_instances):
        bh = int(rng.integers(max(1, h // 8), max(2, h // 2) + 1))
        bw = int(rng.integers(max(1, w // 8), max(2, w // 2) + 1))
        y0 = int(rng.integers(0, h - bh + 1))
        x0 = int(rng.integers(0, w - bw + 1))
        masks[i, y0:y0 + bh, x0:x0 + bw] = 1
        boxes[i] = (x0, y0, x0 + bw, y0 + bh)
    gt = InstanceData()
    gt.bboxes = torch.from_numpy(boxes)
    gt.labels = torch.from_numpy(
        rng.integers(0, num_classes, num_instances).astype(np.int64))
    gt.masks = BitmapMasks(masks, h, w)
    sample.gt_instances = gt
    return sample


def make_batch(clip_model: bool, n: int, t: int, h: int, w: int,
               num_instances: int, num_classes: int, seed: int,
               with_gt: bool = True) -> Dict[str, Any]:
    """A collated batch as the dataloader gives it to ``train_step`` /
    ``test_step``: clips ``(T, 3, H, W)`` with ``TrackDataSample`` s, or
    ``n * t`` images ``(3, H, W)`` with ``DetDataSample`` s."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)

    def img(*shape):
        return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)

    inputs, samples = [], []
    if clip_model:
        for i in range(n):
            frames = [
                random_frame_sample(h, w, num_instances, num_classes, rng,
                                    frame_id=j, img_id=i, with_gt=with_gt)
                for j in range(t)
            ]
            track = TrackDataSample()
            track.video_data_samples = frames
            track.set_metainfo(dict(video_id=i, video_length=t))
            inputs.append(img(t, 3, h, w))
            samples.append(track)
    else:
        for i in range(n * t):
            inputs.append(img(3, h, w))
            samples.append(
                random_frame_sample(h, w, num_instances, num_classes, rng,
                                    img_id=i, with_gt=with_gt))
    return dict(inputs=inputs, data_samples=samples)


# --------------------------------------------------------------- helpers
def count_params(model: torch.nn.Module) -> Dict[str, int]:
    """Total, trainable and neck parameters."""
    neck = getattr(model, 'neck', None)
    return dict(
        total=sum(p.numel() for p in model.parameters()),
        trainable=sum(p.numel() for p in model.parameters()
                      if p.requires_grad),
        neck=sum(p.numel() for p in neck.parameters())
        if isinstance(neck, torch.nn.Module) else 0)


def max_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss`` is KiB
    on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == 'darwin' else rss / 1024


def stats(seconds: Sequence[float]) -> Dict[str, float]:
    return dict(median=statistics.median(seconds),
                mean=statistics.mean(seconds), min=min(seconds))


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def _autocast(args: argparse.Namespace):
    if not args.amp:
        return nullcontext()
    if args.device == 'cuda':
        return torch.autocast('cuda', dtype=torch.float16)
    return torch.autocast('cpu', dtype=torch.bfloat16)


def build_model(cfg: Config, device: str) -> torch.nn.Module:
    """The config's model on ``device``, without ``init_weights``."""
    init_scope(cfg)
    model = MODELS.build(cfg.model)
    return model.to(device)


def build_optimizer(cfg: Config, model: torch.nn.Module,
                    args: argparse.Namespace):
    optim_cfg = copy.deepcopy(cfg.get('optim_wrapper') or DEFAULT_OPTIM)
    if args.amp and args.device == 'cuda':
        optim_cfg['type'] = 'AmpOptimWrapper'
    return build_optim_wrapper(model, optim_cfg)


# ----------------------------------------------------------- benchmark
def time_training(model, optim_wrapper, batch_args: dict,
                  args: argparse.Namespace) -> List[float]:
    model.train()
    seconds = []
    for i in range(args.warmup + args.iters):
        data = make_batch(seed=args.seed + i, **batch_args)
        _sync(args.device)
        start = time.perf_counter()
        with (_autocast(args) if args.device == 'cpu' else nullcontext()):
            losses = model.train_step(data, optim_wrapper)
        _sync(args.device)
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
        _sync(args.device)
        start = time.perf_counter()
        with torch.no_grad(), _autocast(args):
            results = model.test_step(data)
        _sync(args.device)
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
        assert len(results) == len(data['data_samples'])
    return seconds


def benchmark_config(path: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Build one config's model and measure it."""
    cfg = load_config(path, args.cfg_options)
    set_random_seed(args.seed)
    rss_before = max_rss_mb()
    model = build_model(cfg, args.device)
    clip_model = is_clip_model(model)
    T = args.num_frames or int(cfg.model.get('num_frames', 1) or 1)
    if clip_model and hasattr(model, 'num_frames'):
        model.num_frames = T
        neck = getattr(model, 'neck', None)
        if neck is not None and hasattr(neck, 'num_frames'):
            neck.num_frames = T
    H, W = args.size
    batch_args = dict(clip_model=clip_model, n=args.batch, t=T, h=H, w=W,
                      num_instances=args.num_instances,
                      num_classes=num_classes_of(model))
    params = count_params(model)
    optim_wrapper = build_optimizer(cfg, model, args)

    memory: Dict[str, Any] = {}
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    train_s = time_training(model, optim_wrapper, batch_args, args)
    if args.device == 'cuda':
        memory['train_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    else:
        memory['train_peak_rss_mb'] = max_rss_mb()

    infer = None
    if not args.skip_inference:
        optim_wrapper.zero_grad()
        if args.device == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        # inference on images: 1-frame clips, replicated to T by the model
        infer_args = dict(batch_args, t=1)
        infer_s = [s / args.batch
                   for s in time_inference(model, infer_args, args)]
        infer = stats(infer_s)
        if args.device == 'cuda':
            memory['infer_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
        else:
            memory['infer_peak_rss_mb'] = max_rss_mb()
    if args.device == 'cuda':
        memory['kind'] = 'torch.cuda.max_memory_allocated'
    else:
        memory['kind'] = 'resource.getrusage(RUSAGE_SELF).ru_maxrss (peak ' \
            'RSS of the process; psutil not used)'
        memory['growth_mb'] = max_rss_mb() - rss_before

    train = stats(train_s)
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
    return text_table.format_table(rows)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    args = parse_args(argv)
    results = [benchmark_config(path, args) for path in args.configs]
    print(format_table(results))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = dict(
            argv=list(sys.argv[1:] if argv is None else argv),
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            cuda_device=torch.cuda.get_device_name()
            if args.device == 'cuda' else None,
            results=results)
        out.write_text(json.dumps(report, indent=2))
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
