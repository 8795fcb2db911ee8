"""Timing loops of the online frames/s benchmark.

A model runs on one video of ``L`` frames, frame by frame, as the online VIS
protocol feeds it: frame ``i`` of the run is frame ``i % L`` of the video
(``frame_id = i % L``), so the model's tracker starts a new video every
``L`` frames. ``opts.warmup`` frames run first, untimed; then
``opts.iters`` timed ones, each between two :func:`sync_device` calls.
``opts`` is anything with ``iters``, ``warmup``, ``device`` and ``amp``
(:class:`TimingOptions` or the tool's ``argparse.Namespace``).

Three loops: :func:`time_model_only` (the model on pre-processed frames
already on the device), :func:`time_end_to_end` (from the JPEG file to the
results on the host) and :func:`time_decode_pipeline` (the host-side input
path alone, no model).
"""
import time
from typing import Any, Iterator, List, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmdet.structures import TrackDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from mmvis_pretrain.apis.inference import (build_vis_test_pipeline,
                                           inference_vis_video)
from mmvis_pretrain.apis.video_sources import ImageSequenceSource
from .benchmark_online_inputs import pack_frame
from .benchmark_timing import TimingOptions, autocast_context, sync_device

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

#: Seconds and output instances of each timed frame.
FrameTimes = Tuple[List[float], List[int]]


def output_instances(result: Any) -> InstanceData:
    """``pred_track_instances`` (else ``pred_instances``) of one frame's
    result (a ``TrackDataSample`` with one frame or a ``DetDataSample``)."""
    sample = result[0] if isinstance(result, TrackDataSample) else result
    for key in ('pred_track_instances', 'pred_instances'):
        if key in sample:
            return sample.get(key)
    raise ValueError(f'the model returned {type(result).__name__} without '
                     'pred_track_instances / pred_instances')


def time_decode_pipeline(pipeline, paths: Sequence[str], clip_model: bool,
                         opts: TimingOptions) -> List[float]:
    """Seconds per frame of the host-side input path alone: read + decode
    the JPEG, test pipeline (:func:`pack_frame`), collation (frame ``i`` is
    file ``i % L``). No model."""
    seconds = []
    length = len(paths)
    for i in range(opts.warmup + opts.iters):
        index = i % length
        start = time.perf_counter()
        # as ImageSequenceSource decodes (without its header checks)
        frame = cv2.imdecode(np.fromfile(paths[index], dtype=np.uint8),
                             cv2.IMREAD_COLOR)
        pseudo_collate([pack_frame(pipeline, frame, index, length,
                                   clip_model, paths[index])])
        elapsed = time.perf_counter() - start
        if i >= opts.warmup:
            seconds.append(elapsed)
    return seconds


def time_model_only(model: torch.nn.Module, batches: Sequence[dict],
                    opts: TimingOptions) -> FrameTimes:
    """Seconds per frame of ``model.test_step`` (under ``no_grad`` and
    :func:`autocast_context`) on pre-processed frames.

    Args:
        model (nn.Module): The model, on ``opts.device``.
        batches (Sequence[dict]): The ``L`` collated one-frame batches of
            the video (:func:`pack_frames` + :func:`inputs_to`); frame ``i``
            of the run is ``batches[i % L]``.
        opts (TimingOptions): Steps, device, precision.

    Returns:
        tuple[list[float], list[int]]: seconds and output instances of each
        timed frame.
    """
    model.eval()
    seconds, counts = [], []
    for i in range(opts.warmup + opts.iters):
        batch = batches[i % len(batches)]
        sync_device(opts.device)
        start = time.perf_counter()
        with torch.no_grad(), autocast_context(opts.device, opts.amp):
            results = model.test_step(batch)
        sync_device(opts.device)
        elapsed = time.perf_counter() - start
        if i >= opts.warmup:
            seconds.append(elapsed)
            counts.append(len(output_instances(results[0])))
    return seconds, counts


def time_end_to_end(model: torch.nn.Module, cfg: Config,
                    paths: Sequence[str], clip_model: bool,
                    opts: TimingOptions) -> FrameTimes:
    """Seconds per frame from the JPEG file to the results on the host.

    Online VIS models: :func:`inference_vis_video` on an
    ``ImageSequenceSource`` of ``paths`` (decoded as the iterator advances,
    so inside the timing), restarted every ``L`` frames. Image models:
    decode, test pipeline, ``pseudo_collate`` and ``model.test_step``
    (:func:`image_model_stream`). The pipeline is built once per video,
    outside the timing; each frame's output instances are copied to the
    host inside it.

    Args:
        model (nn.Module): The model, on ``opts.device``; ``model.cfg`` is
            set to ``cfg``.
        cfg (Config): Its config (the test pipeline).
        paths (Sequence[str]): The ``L`` frame files.
        clip_model (bool): Online VIS (clip) model or image model.
        opts (TimingOptions): Steps, device, precision.

    Returns:
        tuple[list[float], list[int]]: as :func:`time_model_only`.
    """
    model.eval()
    model.cfg = cfg
    length = len(paths)
    pipeline = None if clip_model else build_vis_test_pipeline(cfg)
    seconds, counts = [], []
    done, total = 0, opts.warmup + opts.iters
    while done < total:
        source = ImageSequenceSource(paths)
        if clip_model:
            stream = inference_vis_video(model, source, length,
                                         img_paths=paths)
        else:
            stream = image_model_stream(model, pipeline, source, paths)
        for _ in range(min(length, total - done)):
            sync_device(opts.device)
            start = time.perf_counter()
            with autocast_context(opts.device, opts.amp):
                result = next(stream)
            if isinstance(result, tuple):  # inference_vis_video: (frame, r)
                result = result[1]
            instances = output_instances(result).cpu()
            sync_device(opts.device)
            elapsed = time.perf_counter() - start
            if done >= opts.warmup:
                seconds.append(elapsed)
                counts.append(len(instances))
            done += 1
        stream.close()
    return seconds, counts


def image_model_stream(model: torch.nn.Module, pipeline,
                       source: ImageSequenceSource,
                       paths: Sequence[str]) -> Iterator[Any]:
    """Yield ``model.test_step`` of each frame of ``source`` (a
    ``DetDataSample``), decoded and pre-processed as the iterator
    advances."""
    for index, frame in enumerate(source):
        packed = pack_frame(pipeline, frame, index, len(paths), False,
                            paths[index])
        with torch.no_grad():
            yield model.test_step(pseudo_collate([packed]))[0]


__all__ = [
    'MODEL_ONLY_INCLUDES', 'END_TO_END_INCLUDES', 'output_instances',
    'time_decode_pipeline', 'time_model_only', 'time_end_to_end',
    'image_model_stream'
]
