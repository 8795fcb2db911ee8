"""Online inference frames/s of the models of one or more configs.

Usage::

    python tools/analysis_tools/benchmark_fps.py CONFIG [CONFIG ...] \
        [--size H W] [--src-size H W] [--frames DIR] \
        [--video-length L] [--iters K] [--warmup W] [--threads N] \
        [--score-thr S] [--max-per-img M] [--checkpoint CKPT] \
        [--amp] [--device cpu|cuda] [--seed S] [--cfg-options k=v ...] \
        [--out results.json]

(formerly ``benchmark_model.py --mode fps``, which still hands over to this
tool; ``--mode fps`` is accepted here too).

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

The loops and helpers are in ``mmvis_pretrain/utils/benchmark_*.py``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import cv2
import torch
from mmdet.structures import TrackDataSample
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.runner import load_checkpoint, set_random_seed

from mmvis_pretrain.apis.inference import build_vis_test_pipeline
from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils.benchmark_args import (add_common_arguments,
                                                 check_common_arguments)
from mmvis_pretrain.utils.benchmark_batches import is_clip_model
# write_synthetic_frames: also for scripts and tests that load this tool
from mmvis_pretrain.utils.benchmark_frame_files import (  # noqa: F401
    video_frame_files, write_synthetic_frames)
from mmvis_pretrain.utils.benchmark_memory import (CUDA_MEMORY_KIND,
                                                   RSS_MEMORY_KIND,
                                                   peak_memory,
                                                   reset_peak_memory)
from mmvis_pretrain.utils.benchmark_online_inputs import (inputs_to,
                                                          pack_frames,
                                                          set_resize_scale)
from mmvis_pretrain.utils.benchmark_online_timing import (
    END_TO_END_INCLUDES, MODEL_ONLY_INCLUDES, time_decode_pipeline,
    time_end_to_end, time_model_only)
from mmvis_pretrain.utils.benchmark_params import count_params
from mmvis_pretrain.utils.benchmark_report import ascii_table, write_report
from mmvis_pretrain.utils.benchmark_timing import fps_stats, timing_stats
from mmvis_pretrain.utils.split_dataset import init_scope, load_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Online inference frames/s of config models, '
        'model-only and end-to-end from JPEG files.')
    add_common_arguments(parser)
    parser.add_argument('--size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='the Resize scale of the '
                        'test pipeline (default: the config\'s)')
    parser.add_argument('--src-size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'), help='size of the synthetic '
                        'JPEG frames (default: twice --size, else 720 1280)')
    parser.add_argument('--frames', help='folder of JPEG frames to use '
                        'instead of synthetic ones (the first --video-length '
                        'files)')
    parser.add_argument('--video-length', type=int, default=20,
                        help='frames L of the video; frame_id cycles 0..L-1 '
                        '(default: 20)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='override model.test_cfg.score_thr')
    parser.add_argument('--max-per-img', type=int, default=None,
                        help='override model.test_cfg.max_per_img')
    parser.add_argument('--checkpoint', help='weights to load (one config '
                        'only; default: random weights)')
    # the command lines of `benchmark_model.py --mode fps` (one frame/step)
    parser.add_argument('--mode', choices=('fps', ), default='fps',
                        help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=1,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_common_arguments(parser, args)
    if args.src_size is not None and min(args.src_size) < 8:
        parser.error('--src-size must be at least 8 x 8')
    if args.video_length < 1:
        parser.error('--video-length must be >= 1')
    if args.batch != 1:
        parser.error('--mode fps runs one frame per step: --batch must be 1')
    if args.checkpoint and len(args.configs) > 1:
        parser.error('--checkpoint goes with a single config')
    return args


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


def benchmark_fps_config(path: str, args: argparse.Namespace,
                         frames_dir: str) -> Dict[str, Any]:
    """Model-only and end-to-end frames/s of one config.

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

    paths, source = video_frame_files(frames_dir, args.video_length,
                                      args.frames, args.src_size, args.size,
                                      seed=args.seed)
    jpeg_kb = statistics.mean(Path(p).stat().st_size for p in paths) / 1024

    pipeline = build_vis_test_pipeline(cfg)
    batches = [inputs_to(b, args.device)
               for b in pack_frames(pipeline, paths, clip_model, len(paths))]
    first = batches[0]['data_samples'][0]
    first = first[0] if isinstance(first, TrackDataSample) else first

    reset_peak_memory(args.device, empty_cache=True)
    model_s, model_n = time_model_only(model, batches, args)
    del batches
    e2e_s, e2e_n = time_end_to_end(model, cfg, paths, clip_model, args)
    input_s = time_decode_pipeline(pipeline, paths, clip_model, args)
    memory = dict(kind=CUDA_MEMORY_KIND if args.device == 'cuda' else
                  RSS_MEMORY_KIND, **peak_memory(args.device, 'infer'))
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
        decode_pipeline_s_per_frame=timing_stats(input_s),
        memory=memory)


def format_fps_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results as a plain-text table."""
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
    return ascii_table(rows)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    cv2_threads = cv2.getNumThreads()
    results = []
    for path in args.configs:
        with tempfile.TemporaryDirectory(prefix='bench_frames_') as tmp:
            results.append(benchmark_fps_config(path, args, tmp))
    print(format_fps_table(results))
    if args.out:
        out = write_report(args.out, sys.argv[1:] if argv is None else argv,
                           'fps', args.device, results,
                           cv2_threads=cv2_threads)
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
