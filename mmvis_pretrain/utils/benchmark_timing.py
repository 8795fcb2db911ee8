"""How the benchmarks time a step: options, device sync, autocast, statistics.

A timed step is wrapped as::

    sync_device(device)
    start = time.perf_counter()
    with autocast_context(device, amp):
        ...  # train_step / test_step
    sync_device(device)
    seconds.append(time.perf_counter() - start)

``W`` warm-up steps run first and are not timed; the ``K`` timed ones are
summarised by :func:`timing_stats` (median / mean / min) or, per frame, by
:func:`fps_stats`.
"""
import statistics
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, ContextManager, Dict, Sequence

import torch


@dataclass
class TimingOptions:
    """What the timing loops read (the tools pass their
    ``argparse.Namespace``, which has the same attributes).

    Args:
        iters (int): Timed steps ``K``.
        warmup (int): Untimed steps ``W`` before them.
        device (str): ``'cpu'`` or ``'cuda'``.
        amp (bool): Mixed precision, see :func:`autocast_context`.
    """
    iters: int = 5
    warmup: int = 2
    device: str = 'cpu'
    amp: bool = False


def sync_device(device: str) -> None:
    """``torch.cuda.synchronize()`` on CUDA (kernels are asynchronous; the
    timer must not stop before they end); nothing on CPU."""
    if device == 'cuda':
        torch.cuda.synchronize()


def autocast_context(device: str, amp: bool) -> ContextManager:
    """The context a timed step runs in: without ``amp`` none; with it fp16
    autocast on CUDA, bf16 autocast on CPU (no loss scaling)."""
    if not amp:
        return nullcontext()
    if device == 'cuda':
        return torch.autocast('cuda', dtype=torch.float16)
    return torch.autocast('cpu', dtype=torch.bfloat16)


def timing_stats(seconds: Sequence[float]) -> Dict[str, float]:
    """``median``, ``mean`` and ``min`` of the timed steps' seconds."""
    return dict(median=statistics.median(seconds),
                mean=statistics.mean(seconds), min=min(seconds))


def fps_stats(seconds: Sequence[float], counts: Sequence[int],
              includes: str) -> Dict[str, Any]:
    """Per-frame statistics of a frame-by-frame run.

    Args:
        seconds (Sequence[float]): Seconds of each timed frame.
        counts (Sequence[int]): Output instances of each timed frame.
        includes (str): What the timing covers (copied to the result).

    Returns:
        dict: ``s_per_frame`` (:func:`timing_stats`), ``fps``
        (``1 / median``), ``fps_mean`` (frames over the total seconds),
        ``instances_per_frame`` (mean of ``counts``) and ``includes``.
    """
    return dict(
        s_per_frame=timing_stats(seconds),
        fps=1.0 / statistics.median(seconds),
        fps_mean=len(seconds) / sum(seconds),
        instances_per_frame=statistics.mean(counts),
        includes=includes)


__all__ = [
    'TimingOptions', 'sync_device', 'autocast_context', 'timing_stats',
    'fps_stats'
]
