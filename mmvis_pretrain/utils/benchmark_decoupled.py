"""Helpers of the decoupled VIS benchmark
(``tools/analysis_tools/benchmark_decoupled.py``): DVIS++ / DVIS module
sizes, a ``DecoupledVIS`` R50 model config, synthetic videos packed as
``TrackDataSample`` s, the frames/s loops of online and offline inference
and the streamed memory run.

Inputs are random ``float32`` frames in the network's input space (already
normalised, ``(1, L, 3, H, W)``), fed straight to
``DecoupledVIS.predict_online`` / ``predict_offline``: no data
preprocessor, no test pipeline, no decoding. Frames are generated on the
fly where memory is measured, so the input video never accumulates.
"""
import gc
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from torch import Tensor, nn

from ..registry import MODELS
from .benchmark_memory import max_rss_mb
from .benchmark_timing import autocast_context, sync_device, timing_stats
from .runtime_cfg import load_config
from .split_dataset import init_scope

#: Classes of YouTube-VIS 2019, the size the reference counts use.
YTVIS19_CLASSES = 40

#: The stage-2 / stage-3 module sizes of DVIS++ R50 (hidden 512 = 256-d
#: queries + 256-d re-id embeddings) and of the original DVIS R50
#: (hidden 256, no reference projection, no denoising).
STAGE_SIZES: Dict[str, Dict[str, Any]] = {
    'dvis++': dict(embed_dims=512, num_layers=6, num_heads=8,
                   feedforward_channels=2048, mask_dims=256,
                   variant='dvis++', noise_ratio=0.5),
    'dvis': dict(embed_dims=256, num_layers=6, num_heads=8,
                 feedforward_channels=2048, mask_dims=256, variant='dvis',
                 noise_ratio=0.),
}

#: What the frames/s figures include (copied to the report).
FPS_INCLUDES = (
    'DecoupledVIS.predict_online / predict_offline under no_grad on random '
    'float32 frames already normalised and on the device: segmenter '
    '(backbone, pixel decoder, transformer decoder, re-id head), tracker '
    '(Hungarian slot alignment, referring layers, heads), refiner (offline), '
    'masks resized to ori_shape and thresholded (online: bool tensors and '
    'boxes; offline: RLE strings); not the data preprocessor, test '
    'pipeline or decoding')


# ---------------------------------------------------------------- modules
def stage_module_cfgs(size: str = 'dvis++',
                      num_classes: int = YTVIS19_CLASSES
                      ) -> Tuple[dict, dict]:
    """``ReferringTracker`` and ``TemporalRefiner`` configs of one of
    :data:`STAGE_SIZES`."""
    if size not in STAGE_SIZES:
        raise ValueError(f'size must be one of {tuple(STAGE_SIZES)}, got '
                         f'{size!r}')
    s = STAGE_SIZES[size]
    common = dict(num_classes=num_classes, embed_dims=s['embed_dims'],
                  num_layers=s['num_layers'], num_heads=s['num_heads'],
                  feedforward_channels=s['feedforward_channels'],
                  mask_dims=s['mask_dims'])
    tracker = dict(type='ReferringTracker', variant=s['variant'],
                   noise_ratio=s['noise_ratio'], **common)
    refiner = dict(type='TemporalRefiner', **common)
    return tracker, refiner


def module_params(module: nn.Module) -> Dict[str, int]:
    """``total`` parameters of a tracker / refiner, of its ``layers`` and of
    the rest (``heads``: norms, mask / class / reference heads, mask-feature
    projection)."""
    total = sum(p.numel() for p in module.parameters())
    layers = sum(p.numel() for p in module.layers.parameters())
    return dict(total=total, layers=layers, heads=total - layers)


def stage_params(num_classes: int = YTVIS19_CLASSES,
                 sizes: Sequence[str] = tuple(STAGE_SIZES)
                 ) -> Dict[str, Dict[str, Any]]:
    """Parameters of the tracker and the refiner built alone, per size.

    Returns:
        dict: per size, ``config`` (the sizes), ``tracker`` and ``refiner``
        (:func:`module_params`) and ``total`` (both).
    """
    init_scope(Config())
    out = {}
    for size in sizes:
        tracker_cfg, refiner_cfg = stage_module_cfgs(size, num_classes)
        tracker = module_params(MODELS.build(tracker_cfg))
        refiner = module_params(MODELS.build(refiner_cfg))
        out[size] = dict(config=dict(STAGE_SIZES[size],
                                     num_classes=num_classes),
                         tracker=tracker, refiner=refiner,
                         total=tracker['total'] + refiner['total'])
    return out


def r50_decoupled_cfg(segmenter_cfg: str, size: str = 'dvis++',
                      chunk_size: int = 300) -> Config:
    """A ``DecoupledVIS`` on the R50 segmenter of ``segmenter_cfg`` (e.g.
    ``configs/_base_/models/online_mask2former_vis_r50.py``: Mask2Former R50
    with the 256-d re-id embedding head, 40 classes) with the tracker and
    refiner of ``size``; stage 3 (so it has both), offline inference,
    ``chunk_size`` frames per refiner chunk. The config's own tracker
    (``MemoryBankTracker``) is replaced, not merged."""
    cfg = load_config(segmenter_cfg)
    head = cfg.model.panoptic_head
    num_classes = int(head.num_things_classes)
    tracker, refiner = stage_module_cfgs(size, num_classes)
    cfg.model.type = 'DecoupledVIS'
    cfg.model.tracker = tracker
    cfg.model.refiner = refiner
    cfg.model.train_stage = 3
    cfg.model.inference_mode = 'offline'
    cfg.model.chunk_size = int(chunk_size)
    return cfg


def build_decoupled_model(cfg: Config, device: str) -> nn.Module:
    """The config's model in eval mode on ``device``, without
    ``init_weights`` (no pre-trained weights are downloaded); a TypeError
    unless it is a ``DecoupledVIS``."""
    init_scope(cfg)
    model = MODELS.build(cfg.model)
    if type(model).__name__ != 'DecoupledVIS':
        raise TypeError('benchmark_decoupled needs a DecoupledVIS config, '
                        f'got {type(model).__name__}')
    return model.to(device).eval()


def model_params(model: nn.Module) -> Dict[str, int]:
    """Parameters of a ``DecoupledVIS``: ``total``, ``segmenter``
    (backbone, neck, head), ``tracker``, ``refiner`` (0 without)."""

    def count(part):
        return sum(p.numel() for p in part.parameters()) if isinstance(
            part, nn.Module) else 0

    return dict(
        total=count(model),
        segmenter=sum(count(getattr(model, n, None))
                      for n in ('backbone', 'neck', 'panoptic_head')),
        tracker=count(model.tracker),
        refiner=count(getattr(model, 'refiner', None)))


# ----------------------------------------------------------------- inputs
def video_sample(num_frames: int, start: int, length: int,
                 shape: Sequence[int], video_id: Any = 0) -> TrackDataSample:
    """A ``TrackDataSample`` of frames ``start .. start + num_frames - 1``
    of a ``length``-frame video of ``H x W`` frames (no resize, no padding:
    ``img_shape`` = ``ori_shape`` = ``batch_input_shape`` = ``pad_shape``,
    scale factor 1), as the test loader packs them."""
    h, w = (int(s) for s in shape[:2])
    frames = [
        DetDataSample(metainfo=dict(
            img_id=start + i + 1, frame_id=start + i, video_id=video_id,
            video_length=num_frames, ori_video_length=length,
            img_shape=(h, w), ori_shape=(h, w), batch_input_shape=(h, w),
            pad_shape=(h, w), scale_factor=(1.0, 1.0)))
        for i in range(num_frames)
    ]
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return sample


def random_frames(num_frames: int, shape: Sequence[int],
                  generator: torch.Generator,
                  device: str = 'cpu') -> Tensor:
    """``(1, num_frames, 3, H, W)`` standard-normal frames (the input space
    after normalisation), drawn on the CPU generator."""
    h, w = (int(s) for s in shape[:2])
    x = torch.randn((1, num_frames, 3, h, w), generator=generator)
    return x.to(device)


def video_pieces(mode: str, length: int,
                 chunk_size: int) -> List[Tuple[int, int]]:
    """``(start, frames)`` of the pieces a streaming consumer feeds:
    online one frame at a time, offline ``chunk_size`` frames (the last
    piece may be shorter: the end of the video)."""
    if mode not in ('online', 'offline'):
        raise ValueError(f"mode must be 'online' or 'offline', got "
                         f'{mode!r}')
    step = 1 if mode == 'online' else int(chunk_size)
    if step < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    return [(s, min(step, length - s)) for s in range(0, length, step)]


def predict_piece(model: nn.Module, mode: str, inputs: Tensor,
                  sample: TrackDataSample) -> list:
    """One piece through ``predict_online`` / ``predict_offline`` under
    ``no_grad``."""
    with torch.no_grad():
        if mode == 'online':
            return model.predict_online(inputs, [sample])
        return model.predict_offline(inputs, [sample])


def count_output(results: list) -> Tuple[int, int]:
    """Frames and track masks of a returned piece (the consumer's use of
    it)."""
    frames = masks = 0
    for sample in results:
        for frame in sample.video_data_samples:
            frames += 1
            masks += len(frame.pred_track_instances)
    return frames, masks


# ----------------------------------------------------------------- timing
class CallTimer:
    """Replaces ``getattr(owner, name)`` by a timed wrapper (an instance
    attribute, so the owner's own calls go through it) until
    :meth:`restore`; ``seconds`` accumulates."""

    def __init__(self, owner: Any, name: str, device: str) -> None:
        self.owner, self.name, self.device = owner, name, device
        self.original: Callable = getattr(owner, name)
        self.seconds = 0.0
        self.calls = 0
        setattr(owner, name, self)

    def __call__(self, *args, **kwargs):
        sync_device(self.device)
        start = time.perf_counter()
        out = self.original(*args, **kwargs)
        sync_device(self.device)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0

    def restore(self) -> None:
        if self.owner.__dict__.get(self.name) is self:
            delattr(self.owner, self.name)


def component_timers(model: nn.Module,
                     device: str) -> Dict[str, CallTimer]:
    """Timers of the parts of a ``DecoupledVIS`` frame: ``segmenter``
    (``frame_features``: backbone + neck; ``panoptic_head.forward_export``:
    pixel decoder, decoder, re-id head), ``tracker`` (``tracker.track``)
    and ``refiner`` (its ``forward``, offline only)."""
    timers = dict(
        features=CallTimer(model, 'frame_features', device),
        head=CallTimer(model.panoptic_head, 'forward_export', device),
        tracker=CallTimer(model.tracker, 'track', device))
    if getattr(model, 'refiner', None) is not None:
        timers['refiner'] = CallTimer(model.refiner, 'forward', device)
    return timers


def time_video_mode(model: nn.Module, mode: str, inputs: Tensor,
                    chunk_size: int, iters: int, warmup: int, device: str,
                    amp: bool = False) -> Dict[str, Any]:
    """Frames/s of one mode on a whole video, ``warmup`` untimed then
    ``iters`` timed passes (each a new ``video_id``).

    Online: one ``predict_online`` call per frame; offline: one
    ``predict_offline`` call per piece of ``chunk_size`` frames
    (:func:`video_pieces`; the model's ``chunk_size`` is set to it for the
    run, so a piece is one refiner chunk).

    Returns:
        dict: ``video_s`` (per pass), ``s_per_frame`` (per pass / ``L``),
        ``fps`` (``L`` / median pass), ``fps_mean``, ``ms_per_frame`` of
        the ``segmenter``, ``tracker``, ``refiner`` and the ``rest``
        (post-processing: mask resize / threshold, boxes or RLE; bookkeeping)
        over the timed passes, ``masks_per_frame``, ``includes``.
    """
    length = inputs.shape[1]
    old_chunk = model.chunk_size
    model.chunk_size = int(chunk_size)
    timers = component_timers(model, device)
    seconds, masks = [], 0
    parts = dict(segmenter=0., tracker=0., refiner=0.)
    try:
        for i in range(warmup + iters):
            for timer in timers.values():
                timer.reset()
            video_id = f'{mode}-{i}'
            sync_device(device)
            start = time.perf_counter()
            with autocast_context(device, amp):
                for s, n in video_pieces(mode, length, chunk_size):
                    out = predict_piece(model, mode, inputs[:, s:s + n],
                                        video_sample(n, s, length,
                                                     inputs.shape[-2:],
                                                     video_id))
                    if i >= warmup:
                        masks += count_output(out)[1]
                    del out
            sync_device(device)
            elapsed = time.perf_counter() - start
            if i >= warmup:
                seconds.append(elapsed)
                parts['segmenter'] += (timers['features'].seconds +
                                       timers['head'].seconds)
                parts['tracker'] += timers['tracker'].seconds
                if 'refiner' in timers:
                    parts['refiner'] += timers['refiner'].seconds
    finally:
        for timer in timers.values():
            timer.restore()
        model.chunk_size = old_chunk
    frames = iters * length
    ms = {k: 1e3 * v / frames for k, v in parts.items()}
    ms['rest'] = 1e3 * sum(seconds) / frames - sum(ms.values())
    stats = timing_stats(seconds)
    return dict(
        mode=mode,
        video_length=length,
        chunk_size=int(chunk_size) if mode == 'offline' else None,
        video_s=stats,
        s_per_frame={k: v / length for k, v in stats.items()},
        fps=length / stats['median'],
        fps_mean=frames / sum(seconds),
        ms_per_frame=ms,
        masks_per_frame=masks / frames,
        includes=FPS_INCLUDES)


# ----------------------------------------------------------------- memory
def _tensor_bytes(obj: Any, seen: set, depth: int = 0) -> int:
    """Bytes of the tensors reachable from ``obj`` through lists, tuples,
    dicts and plain objects' attributes (not modules), each storage
    once."""
    if depth > 6 or id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, Tensor):
        storage = obj.untyped_storage()
        key = ('storage', storage.data_ptr(), obj.device.type)
        if key in seen:
            return 0
        seen.add(key)
        return storage.nbytes()
    if isinstance(obj, nn.Module):
        return 0
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple, set)):
        items = obj
    elif hasattr(obj, '__dict__') and not isinstance(obj, type):
        items = vars(obj).values()
    else:
        return 0
    return sum(_tensor_bytes(v, seen, depth + 1) for v in items)


def video_state_bytes(model: nn.Module) -> Dict[str, int]:
    """Bytes of the tensors the model keeps between calls outside its
    parameters and buffers: every non-module instance attribute of every
    submodule (e.g. ``tracker._prev_out``, ``_window`` (FeatureWindow),
    ``_logit_sum``, ``_refiner_stats``), per ``module.attribute`` with a
    nonzero size, plus ``total``."""
    skip = {'_parameters', '_buffers', '_modules'}
    out, seen = {}, set()
    for prefix, module in model.named_modules():
        for name, value in vars(module).items():
            if name in skip or name.startswith('_forward') or \
                    name.startswith('_backward') or name.startswith(
                        '_state_dict') or name.startswith('_load_state'):
                continue
            size = _tensor_bytes(value, seen)
            if size:
                out[f'{prefix}.{name}' if prefix else name] = size
    out['total'] = sum(out.values())
    return out


def live_tensors() -> Dict[str, float]:
    """``count`` and ``mb`` (distinct storages) of the torch tensors the
    garbage collector can see, and ``gc_objects`` (all tracked objects):
    what the process holds, parameters included."""
    count, seen, nbytes = 0, set(), 0
    objects = gc.get_objects()
    for obj in objects:
        # type(), not isinstance(): the latter reads ``__class__``, which
        # warns on some deprecated torch objects
        if issubclass(type(obj), Tensor):
            count += 1
            storage = obj.untyped_storage()
            key = (storage.data_ptr(), obj.device.type)
            if key not in seen:
                seen.add(key)
                nbytes += storage.nbytes()
    return dict(count=count, mb=nbytes / 2**20, gc_objects=len(objects))


def _proc_status_mb(key: str) -> Optional[float]:
    """A ``kB`` field of ``/proc/self/status`` in MiB; None without it."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb() -> Optional[float]:
    """Resident set size now (``VmRSS``, Linux), MiB; None elsewhere."""
    return _proc_status_mb('VmRSS')


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB: ``VmHWM`` (Linux),
    else :func:`~.benchmark_memory.max_rss_mb` (``ru_maxrss``).

    ``VmHWM`` first: ``ru_maxrss`` of a child process also holds the RSS
    of the parent that started it (the kernel carries the old address
    space's peak over ``exec``), and ``/proc/self/clear_refs`` does not
    reset that part, so a large parent (the tool after its R50 part) would
    hide the child's figures."""
    peak = _proc_status_mb('VmHWM')
    return max_rss_mb() if peak is None else peak


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (``VmHWM``) to its current RSS (Linux
    >= 4.0: ``echo 5 > /proc/self/clear_refs``), so a later
    :func:`peak_rss_mb` is the peak since this call and not that of the
    imports or the model build. Returns whether it worked."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        return False
    now, peak = current_rss_mb(), _proc_status_mb('VmHWM')
    return now is not None and peak is not None and peak <= now + 1.0


def _memory_now(device: str) -> Dict[str, Optional[float]]:
    if device == 'cuda':
        return dict(peak_mb=torch.cuda.max_memory_allocated() / 2**20,
                    current_mb=torch.cuda.memory_allocated() / 2**20)
    return dict(peak_mb=peak_rss_mb(), current_mb=current_rss_mb())


def memory_run(model: nn.Module, mode: str, length: int,
               shape: Sequence[int], chunk_size: int, seed: int = 0,
               device: str = 'cpu', reset_peak: bool = True
               ) -> Dict[str, Any]:
    """Stream one synthetic video through ``mode`` and measure memory.

    Meant for a fresh process (CPU: the peak RSS of a process only grows).
    A 1-frame video is predicted first (warm-up); the baseline is taken
    then, after resetting the peak (CPU: :func:`reset_peak_rss`; without
    it the peak of the imports and the build, often above the steady
    state, would hide any growth; CUDA: ``reset_peak_memory_stats``;
    ``reset_peak=False`` leaves a CPU peak as it is). The
    video's pieces (:func:`video_pieces`) are drawn on the fly
    and each returned sample is counted, then dropped (a streaming
    consumer), so neither inputs nor outputs accumulate here.

    Returns:
        dict: ``baseline`` and ``end`` (``peak_mb`` -- CPU:
        :func:`peak_rss_mb`; CUDA: ``max_memory_allocated`` -- and
        ``current_mb``), ``peak_reset`` (whether the peak could be reset
        at the baseline), ``growth_mb`` (peak at the end - peak at the
        baseline), ``live_tensors`` and ``video_state`` (model-held
        tensors, :func:`video_state_bytes`) at both points, ``fps``,
        ``frames`` and ``masks`` output.
    """
    model.chunk_size = int(chunk_size)
    generator = torch.Generator().manual_seed(seed)
    shape = tuple(int(s) for s in shape[:2])
    # warm-up: a 1-frame video (both modes accept it)
    out = predict_piece(model, mode, random_frames(1, shape, generator,
                                                   device),
                        video_sample(1, 0, 1, shape, 'warmup'))
    del out
    # the census first: its list of every gc object (MBs) must not count
    # as the run's memory
    census = dict(live_tensors=live_tensors(),
                  video_state=video_state_bytes(model))
    gc.collect()
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        peak_reset = True
    else:
        peak_reset = reset_peak and reset_peak_rss()
    baseline = dict(_memory_now(device), **census)
    frames = masks = 0
    start = time.perf_counter()
    for s, n in video_pieces(mode, length, chunk_size):
        x = random_frames(n, shape, generator, device)
        out = predict_piece(model, mode, x,
                            video_sample(n, s, length, shape, 'video'))
        f, m = count_output(out)
        frames, masks = frames + f, masks + m
        del out, x
    sync_device(device)
    seconds = time.perf_counter() - start
    end = _memory_now(device)  # before the census (see above)
    end['video_state'] = video_state_bytes(model)
    gc.collect()
    end['live_tensors'] = live_tensors()
    return dict(mode=mode, length=length, size=list(shape),
                chunk_size=int(chunk_size) if mode == 'offline' else None,
                device=device, peak_reset=peak_reset, frames=frames,
                masks=masks, fps=frames / seconds, baseline=baseline,
                end=end,
                growth_mb=end['peak_mb'] - baseline['peak_mb'])


def memory_ratios(runs: Sequence[Dict[str, Any]],
                  targets: Dict[str, float]) -> List[Dict[str, Any]]:
    """Per mode, the longest over the shortest video of :func:`memory_run`
    results: ``growth_ratio`` (growth above the baseline; the targets'
    figure), ``peak_ratio`` (whole-process peaks), ``target`` and
    ``target_met`` (growth ratio within the target)."""
    out = []
    for mode in dict.fromkeys(r['mode'] for r in runs):
        rows = sorted((r for r in runs if r['mode'] == mode),
                      key=lambda r: r['length'])
        if len(rows) < 2:
            continue
        short, long = rows[0], rows[-1]
        growth = (long['growth_mb'] / short['growth_mb']
                  if short['growth_mb'] > 0 else None)
        target = targets.get(mode)
        out.append(dict(
            mode=mode, lengths=[short['length'], long['length']],
            growth_mb=[short['growth_mb'], long['growth_mb']],
            growth_ratio=growth,
            peak_ratio=long['end']['peak_mb'] / short['end']['peak_mb'],
            target=target,
            target_met=None if growth is None or target is None else bool(
                growth <= target)))
    return out


__all__ = [
    'YTVIS19_CLASSES', 'STAGE_SIZES', 'FPS_INCLUDES', 'stage_module_cfgs',
    'module_params', 'stage_params', 'r50_decoupled_cfg',
    'build_decoupled_model', 'model_params', 'video_sample', 'random_frames',
    'video_pieces', 'predict_piece', 'count_output', 'CallTimer',
    'component_timers', 'time_video_mode', 'video_state_bytes',
    'live_tensors', 'current_rss_mb', 'peak_rss_mb', 'reset_peak_rss',
    'memory_run',
    'memory_ratios'
]
