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

``--mode fps``: online inference frames/s
-----------------------------------------

Usage::

    python tools/analysis_tools/benchmark_model.py CONFIG [CONFIG ...] \
        --mode fps [--size H W] [--src-size H W] [--frames DIR] \
        [--video-length L] [--iters K] [--warmup W] [--threads N] \
        [--score-thr S] [--max-per-img M] [--checkpoint CKPT] \
        [--amp] [--device cpu|cuda] [--out results.json]

The models run on one video, frame by frame, under the package's online VIS
protocol (one ``TrackDataSample`` with one frame per step, ``frame_id``
``0 .. L-1`` cycling, so the model's tracker is reset every ``L`` frames).
Image models (any other preprocessor, e.g. mmdet's YOLACT) get one
``DetDataSample`` per step. The frames are ``L`` JPEG files: ``--frames DIR``
(the first ``L`` image files of a folder in natural order) or synthetic ones
written to a temporary folder (``--src-size``, default twice ``--size``, as
YouTube-VIS's 720p frames for 360p inputs; moving shapes on a gradient
plus mild noise, JPEG quality 90). The config's test pipeline is used with its
``Resize`` scale set to ``--size`` (``(W, H)``; the config's own scale and
``keep_ratio`` without ``--size``). Two figures per config, each over ``K``
frames after ``W`` untimed warm-up frames, ``torch.cuda.synchronize()``
before and after every timed frame on CUDA:

* ``model_only``: ``model.test_step(batch)`` under ``torch.no_grad()`` on
  frames that were decoded, run through the test pipeline (resize, packing)
  and collated beforehand, their ``uint8`` tensors already on the device.
  Included: the data preprocessor on the device (float conversion,
  BGR->RGB, normalisation, padding), the network (backbone, neck, heads),
  the model's post-processing (NMS, mask assembly) and its tracker (for
  STMask: temporal-fusion warping, matching, supplementing), and the masks
  pasted as ``bool`` at ``ori_shape`` on the device (``rescale=True``).
  Excluded: decoding, the test pipeline, host<->device copies.
* ``end_to_end``: the same plus JPEG decoding (``np.fromfile`` +
  ``cv2.imdecode``, the demo's ``ImageSequenceSource``; the files are in the
  OS page cache after the first pass), the test pipeline on the decoded
  frame, collation, the host->device copy, and the copy of the frame's
  masks back to the host. Online VIS models go through
  :func:`mmvis_pretrain.apis.inference_vis_video` (the demo's path; the
  pipeline is built once per video, outside the timing); image models
  through the same pipeline and ``model.test_step``.

``decode_pipeline_s_per_frame`` times the host-side input path alone (read
+ decode, test pipeline, collation; no model): most of what ``end_to_end``
adds to ``model_only`` (the rest: host<->device copies). With a slow model
the difference of the two fps figures drowns in the noise; this one does
not.

Reported per config: seconds per frame (median / mean / min), ``fps``
(``1 / median``), ``fps_mean`` (frames / total seconds), the mean number of
output instances per frame (``pred_track_instances`` or ``pred_instances``;
random weights make this arbitrary, so ``--score-thr`` / ``--max-per-img``
set ``model.test_cfg.score_thr`` / ``max_per_img`` to fix the workload), the
network input shape, the parameter count, and on CUDA the peak of
``torch.cuda.max_memory_allocated``. ``--threads`` sets torch's and
OpenCV's thread counts (reported either way).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.runner import load_checkpoint, set_random_seed
from mmengine.structures import InstanceData
from terminaltables import AsciiTable

from mmvis_pretrain.apis.inference import (build_vis_test_pipeline,
                                           inference_vis_video,
                                           pack_vis_frame)
from mmvis_pretrain.apis.video_sources import (ImageSequenceSource,
                                               list_image_files)
from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils.benchmark_frames import moving_shapes_frames
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
    parser.add_argument('--mode', choices=('train', 'fps'), default='train',
                        help='train: training s/iter + inference s/image on '
                        'random tensors (default); fps: online inference '
                        'frames/s, model-only and end-to-end from JPEG files')
    parser.add_argument('--num-frames', type=int, default=None,
                        help='frames T per clip (default: model.num_frames '
                        'of the config, else 1)')
    parser.add_argument('--size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='frame size (train mode, '
                        'default 512 512); fps mode: the Resize scale of the '
                        'test pipeline (default: the config\'s)')
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
    fps = parser.add_argument_group('fps mode')
    fps.add_argument('--src-size', type=int, nargs=2, default=None,
                     metavar=('H', 'W'), help='size of the synthetic JPEG '
                     'frames (default: twice --size, else 720 1280)')
    fps.add_argument('--frames', help='folder of JPEG frames to use instead '
                     'of synthetic ones (the first --video-length files)')
    fps.add_argument('--video-length', type=int, default=20,
                     help='frames L of the video; frame_id cycles 0..L-1 '
                     '(default: 20)')
    fps.add_argument('--threads', type=int, default=None,
                     help='torch.set_num_threads / cv2.setNumThreads '
                     '(default: leave as they are)')
    fps.add_argument('--score-thr', type=float, default=None,
                     help='override model.test_cfg.score_thr')
    fps.add_argument('--max-per-img', type=int, default=None,
                     help='override model.test_cfg.max_per_img')
    fps.add_argument('--checkpoint', help='weights to load (one config '
                     'only; default: random weights)')
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
    if args.size is None and args.mode == 'train':
        args.size = [512, 512]
    if args.size is not None and min(args.size) < 8:
        parser.error('--size must be at least 8 x 8')
    if args.src_size is not None and min(args.src_size) < 8:
        parser.error('--src-size must be at least 8 x 8')
    if args.video_length < 1:
        parser.error('--video-length must be >= 1')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.mode == 'fps' and args.batch != 1:
        parser.error('--mode fps runs one frame per step: --batch must be 1')
    if args.checkpoint and len(args.configs) > 1:
        parser.error('--checkpoint goes with a single config')
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
    # the same instances in every frame of a clip (tracking losses)
    gt.instances_ids = torch.arange(num_instances)
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
            # the first frame is the key frame, the others references (as
            # mmdet's UniformRefFrameSample marks them; pair models read it)
            track.set_metainfo(
                dict(video_id=i, video_length=t, key_frames_inds=[0],
                     ref_frames_inds=list(range(1, t))))
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


# ------------------------------------------------- online inference (fps)
#: What the two frames/s figures include (also written to the JSON report).
MODEL_ONLY_INCLUDES = (
    'model.test_step under no_grad on pre-processed uint8 frames already on '
    'the device: data preprocessor (float, BGR->RGB, normalise, pad), '
    'network, NMS / mask assembly, the model\'s tracker, bool masks at '
    'ori_shape on the device; not decoding, test pipeline or host<->device '
    'copies')
END_TO_END_INCLUDES = (
    'JPEG read + cv2.imdecode, test pipeline (resize, pack), collation, '
    'host->device copy, model.test_step as model_only, results copied to the '
    'host (InstanceData.cpu()); online VIS models through '
    'inference_vis_video')


def write_synthetic_frames(out_dir: str, num: int, height: int, width: int,
                           seed: int = 0, quality: int = 90) -> List[str]:
    """Write ``num`` JPEG frames ``000000.jpg ...`` of a synthetic video.

    The frames of :func:`mmvis_pretrain.utils.benchmark_frames.
    moving_shapes_frames` (moving ellipses on a gradient, with noise so the
    files don't compress like flat colour; the report gives their mean size;
    at quality 90 they take about 2.5 bits per pixel).

    Args:
        out_dir (str): Existing folder.
        num (int): Number of frames.
        height, width (int): Frame size.
        seed (int): Seed of the shapes and the noise.
        quality (int): JPEG quality.

    Returns:
        list[str]: The files, in frame order.
    """
    paths = []
    for t, img in enumerate(moving_shapes_frames(num, height, width, seed)):
        path = str(Path(out_dir) / f'{t:06d}.jpg')
        if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
            raise OSError(f'cannot write {path}')
        paths.append(path)
    return paths


def set_resize_scale(transforms: Sequence[Any], height: int,
                     width: int) -> int:
    """Set ``scale=(width, height)`` on every ``Resize`` of a pipeline config
    (nested ``transforms`` of wrappers included, in place; a
    ``scale_factor`` is dropped; ``keep_ratio`` is left as it is).

    Returns:
        int: The number of ``Resize`` transforms changed.
    """
    changed = 0
    for transform in transforms:
        if isinstance(transform, (list, tuple)):  # TestTimeAug branches
            changed += set_resize_scale(transform, height, width)
            continue
        if not isinstance(transform, dict):
            continue
        kind = transform.get('type')
        name = kind.split('.')[-1] if isinstance(kind, str) else getattr(
            kind, '__name__', '')
        if name == 'Resize':
            transform['scale'] = (width, height)
            transform.pop('scale_factor', None)
            changed += 1
        inner = transform.get('transforms')
        if isinstance(inner, dict):
            changed += set_resize_scale([inner], height, width)
        elif isinstance(inner, (list, tuple)):
            changed += set_resize_scale(inner, height, width)
    return changed


def fps_config(path: str, args: argparse.Namespace) -> Config:
    """The config with ``--cfg-options``, the ``--size`` of the test
    pipeline and the ``--score-thr`` / ``--max-per-img`` overrides."""
    cfg = load_config(path, args.cfg_options)
    if args.size is not None:
        pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'pipeline')
        if not pipeline or not set_resize_scale(pipeline, *args.size):
            raise ValueError(f'{path}: --size given, but the test pipeline '
                             '(test_dataloader.dataset.pipeline) has no '
                             'Resize to set it on')
    test_cfg = cfg.model.get('test_cfg')
    if args.score_thr is not None or args.max_per_img is not None:
        if test_cfg is None:
            raise ValueError(f'{path}: --score-thr / --max-per-img need a '
                             'model.test_cfg')
        if args.score_thr is not None:
            test_cfg['score_thr'] = args.score_thr
        if args.max_per_img is not None:
            test_cfg['max_per_img'] = args.max_per_img
    return cfg


def output_instances(result: Any) -> InstanceData:
    """``pred_track_instances`` (else ``pred_instances``) of one frame's
    result (a ``TrackDataSample`` with one frame or a ``DetDataSample``)."""
    sample = result[0] if isinstance(result, TrackDataSample) else result
    for key in ('pred_track_instances', 'pred_instances'):
        if key in sample:
            return sample.get(key)
    raise ValueError(f'the model returned {type(result).__name__} without '
                     'pred_track_instances / pred_instances')


def pack_frames(pipeline, paths: Sequence[str], clip_model: bool,
                video_length: int) -> List[dict]:
    """Decode and pre-process every frame: one collated one-frame batch per
    frame (``frame_id`` = its index) as the test dataloader gives it."""
    batches = []
    for index, frame in enumerate(ImageSequenceSource(paths)):
        batches.append(pseudo_collate([pack_frame(
            pipeline, frame, index, video_length, clip_model,
            paths[index])]))
    return batches


def pack_frame(pipeline, frame: np.ndarray, index: int, video_length: int,
               clip_model: bool, img_path: str) -> dict:
    """One frame through the test pipeline: a one-frame ``TrackDataSample``
    (online protocol) for clip models, a ``DetDataSample`` otherwise."""
    if clip_model:
        return pack_vis_frame(pipeline, frame, index, video_length,
                              img_path=img_path)
    packed = pipeline(dict(img=frame, img_id=index))
    packed['data_samples'].set_metainfo(dict(img_path=img_path))
    return packed


def inputs_to(batch: dict, device: str) -> dict:
    """The batch with its input tensors on ``device``."""
    return dict(batch, inputs=[x.to(device) for x in batch['inputs']])


def time_decode_pipeline(pipeline, paths: Sequence[str], clip_model: bool,
                         args: argparse.Namespace) -> List[float]:
    """Seconds per frame of the host-side input path alone: read + decode
    the JPEG, test pipeline, collation (frame ``i`` is file ``i % L``; the
    first ``args.warmup`` frames not timed). No model."""
    seconds = []
    length = len(paths)
    for i in range(args.warmup + args.iters):
        index = i % length
        start = time.perf_counter()
        # as ImageSequenceSource decodes (without its header checks)
        frame = cv2.imdecode(np.fromfile(paths[index], dtype=np.uint8),
                             cv2.IMREAD_COLOR)
        pseudo_collate([pack_frame(pipeline, frame, index, length,
                                   clip_model, paths[index])])
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            seconds.append(elapsed)
    return seconds


def time_model_only(model: torch.nn.Module, batches: Sequence[dict],
                    args: argparse.Namespace):
    """Seconds per frame of ``model.test_step`` on pre-processed frames.

    Frame ``i`` of the run is ``batches[i % L]`` (``frame_id = i % L``), so
    the model's tracker starts a new video every ``L`` frames. The first
    ``args.warmup`` frames are not timed.

    Returns:
        tuple[list[float], list[int]]: seconds and output instances of each
        timed frame.
    """
    model.eval()
    seconds, counts = [], []
    for i in range(args.warmup + args.iters):
        batch = batches[i % len(batches)]
        _sync(args.device)
        start = time.perf_counter()
        with torch.no_grad(), _autocast(args):
            results = model.test_step(batch)
        _sync(args.device)
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            seconds.append(elapsed)
            counts.append(len(output_instances(results[0])))
    return seconds, counts


def time_end_to_end(model: torch.nn.Module, cfg: Config,
                    paths: Sequence[str], clip_model: bool,
                    args: argparse.Namespace):
    """Seconds per frame from the JPEG file to the results on the host.

    Online VIS models: :func:`inference_vis_video` on an
    ``ImageSequenceSource`` of ``paths`` (decoded as the iterator advances,
    so inside the timing), restarted every ``L`` frames. Image models:
    decode, test pipeline, ``pseudo_collate`` and ``model.test_step``.

    Returns:
        tuple[list[float], list[int]]: as :func:`time_model_only`.
    """
    model.eval()
    model.cfg = cfg
    length = len(paths)
    pipeline = None if clip_model else build_vis_test_pipeline(cfg)
    seconds, counts = [], []
    done, total = 0, args.warmup + args.iters
    while done < total:
        source = ImageSequenceSource(paths)
        if clip_model:
            stream = inference_vis_video(model, source, length,
                                         img_paths=paths)
        else:
            stream = _image_model_stream(model, pipeline, source, paths)
        for _ in range(min(length, total - done)):
            _sync(args.device)
            start = time.perf_counter()
            with _autocast(args):
                result = next(stream)
            instances = output_instances(result).cpu()
            _sync(args.device)
            elapsed = time.perf_counter() - start
            if done >= args.warmup:
                seconds.append(elapsed)
                counts.append(len(instances))
            done += 1
        stream.close()
    return seconds, counts


def _image_model_stream(model: torch.nn.Module, pipeline,
                        source: ImageSequenceSource, paths: Sequence[str]):
    """Yield ``model.test_step`` of each frame of ``source``, decoded and
    pre-processed as the iterator advances."""
    for index, frame in enumerate(source):
        packed = pack_frame(pipeline, frame, index, len(paths), False,
                            paths[index])
        with torch.no_grad():
            yield model.test_step(pseudo_collate([packed]))[0]


def fps_stats(seconds: Sequence[float], counts: Sequence[int],
              includes: str) -> Dict[str, Any]:
    """Per-frame statistics: ``fps`` is ``1 / median``, ``fps_mean``
    frames over the total time."""
    return dict(
        s_per_frame=stats(seconds),
        fps=1.0 / statistics.median(seconds),
        fps_mean=len(seconds) / sum(seconds),
        instances_per_frame=statistics.mean(counts),
        includes=includes)


def benchmark_fps_config(path: str, args: argparse.Namespace,
                         frames_dir: str) -> Dict[str, Any]:
    """Model-only and end-to-end frames/s of one config (``--mode fps``).

    Args:
        path (str): The config.
        args (argparse.Namespace): The options.
        frames_dir (str): Folder of the synthetic frames (unused with
            ``--frames``).
    """
    cfg = fps_config(path, args)
    set_random_seed(args.seed)
    init_scope(cfg)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model = model.to(args.device).eval()
    clip_model = is_clip_model(model)

    if args.frames:
        paths = list_image_files(args.frames)[:args.video_length]
        if not paths:
            raise FileNotFoundError(f'--frames {args.frames}: no image files')
        source = args.frames
    else:
        if args.src_size is not None:
            src_h, src_w = args.src_size
        elif args.size is not None:
            src_h, src_w = 2 * args.size[0], 2 * args.size[1]
        else:
            src_h, src_w = 720, 1280
        paths = write_synthetic_frames(frames_dir, args.video_length, src_h,
                                       src_w, seed=args.seed)
        source = 'synthetic'
    jpeg_kb = statistics.mean(Path(p).stat().st_size for p in paths) / 1024

    pipeline = build_vis_test_pipeline(cfg)
    batches = [inputs_to(b, args.device)
               for b in pack_frames(pipeline, paths, clip_model, len(paths))]
    first = batches[0]['data_samples'][0]
    first = first[0] if isinstance(first, TrackDataSample) else first

    if args.device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model_s, model_n = time_model_only(model, batches, args)
    del batches
    e2e_s, e2e_n = time_end_to_end(model, cfg, paths, clip_model, args)
    input_s = time_decode_pipeline(pipeline, paths, clip_model, args)
    if args.device == 'cuda':
        memory = dict(kind='torch.cuda.max_memory_allocated',
                      infer_peak_mb=torch.cuda.max_memory_allocated() / 2**20)
    else:
        memory = dict(kind='resource.getrusage(RUSAGE_SELF).ru_maxrss',
                      infer_peak_rss_mb=max_rss_mb())
    test_cfg = cfg.model.get('test_cfg') or {}
    return dict(
        config=str(path),
        mode='fps',
        model=type(model).__name__,
        clip_model=clip_model,
        device=args.device,
        amp=args.amp,
        threads=torch.get_num_threads(),
        params=count_params(model),
        size=list(first.img_shape[:2]),
        batch_input_shape=list(first.metainfo.get(
            'batch_input_shape', first.img_shape)[:2]),
        src_size=list(first.ori_shape[:2]),
        frames=dict(source=source, video_length=len(paths),
                    jpeg_kb_mean=jpeg_kb),
        iters=args.iters,
        warmup=args.warmup,
        score_thr=test_cfg.get('score_thr'),
        max_per_img=test_cfg.get('max_per_img'),
        checkpoint=args.checkpoint,
        model_only=fps_stats(model_s, model_n, MODEL_ONLY_INCLUDES),
        end_to_end=fps_stats(e2e_s, e2e_n, END_TO_END_INCLUDES),
        decode_pipeline_s_per_frame=stats(input_s),
        memory=memory)


def format_fps_table(results: Sequence[Dict[str, Any]]) -> str:
    """The ``--mode fps`` results as a plain-text table."""
    rows = [('config', 'model', 'input HxW', 'source HxW', 'inst/frame',
             'model fps', 'model ms/frame', 'e2e fps', 'e2e ms/frame',
             'decode+pipeline ms')]
    for r in results:
        m, e = r['model_only'], r['end_to_end']
        rows.append((
            Path(r['config']).name, r['model'],
            f"{r['size'][0]}x{r['size'][1]}",
            f"{r['src_size'][0]}x{r['src_size'][1]}",
            f"{m['instances_per_frame']:.1f}", f"{m['fps']:.2f}",
            f"{1000 * m['s_per_frame']['median']:.1f}", f"{e['fps']:.2f}",
            f"{1000 * e['s_per_frame']['median']:.1f}",
            f"{1000 * r['decode_pipeline_s_per_frame']['median']:.1f}"))
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


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
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    args = parse_args(argv)
    cv2_threads = None
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    if args.mode == 'fps':
        cv2_threads = cv2.getNumThreads()
        results = []
        for path in args.configs:
            with tempfile.TemporaryDirectory(prefix='bench_frames_') as tmp:
                results.append(benchmark_fps_config(path, args, tmp))
        print(format_fps_table(results))
    else:
        results = [benchmark_config(path, args) for path in args.configs]
        print(format_table(results))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = dict(
            argv=list(sys.argv[1:] if argv is None else argv),
            torch=torch.__version__,
            mode=args.mode,
            threads=torch.get_num_threads(),
            cv2_threads=cv2_threads,
            cpu_count=os.cpu_count(),
            machine=platform.machine(),
            cuda_device=torch.cuda.get_device_name()
            if args.device == 'cuda' else None,
            results=results)
        out.write_text(json.dumps(report, indent=2))
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
