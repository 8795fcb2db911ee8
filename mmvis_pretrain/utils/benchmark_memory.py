"""Peak memory for the speed / memory benchmarks.

On CUDA the peak of ``torch.cuda.max_memory_allocated`` since the last
:func:`reset_peak_memory`; on CPU the peak resident set size of the process
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``; psutil is not used). The
peak of a process only grows, so CPU figures of several models measured in
one process are not comparable: run one config per process.
"""
import resource
import sys
from typing import Dict

import torch

#: The ``memory.kind`` of the reports on CUDA and on CPU.
CUDA_MEMORY_KIND = 'torch.cuda.max_memory_allocated'
RSS_MEMORY_KIND = 'resource.getrusage(RUSAGE_SELF).ru_maxrss'


def max_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss`` is KiB
    on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == 'darwin' else rss / 1024


def reset_peak_memory(device: str, empty_cache: bool = False) -> None:
    """Start a new CUDA peak (``torch.cuda.reset_peak_memory_stats``, after
    ``torch.cuda.empty_cache`` with ``empty_cache``); nothing on CPU, where
    the process's peak cannot be reset."""
    if device == 'cuda':
        if empty_cache:
            torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str, prefix: str) -> Dict[str, float]:
    """The peak so far as one report entry, in MiB.

    Returns:
        dict: ``{prefix + '_peak_mb': ...}`` (``max_memory_allocated``) on
        CUDA, ``{prefix + '_peak_rss_mb': ...}`` (:func:`max_rss_mb`) on CPU.
    """
    if device == 'cuda':
        return {f'{prefix}_peak_mb': torch.cuda.max_memory_allocated() / 2**20}
    return {f'{prefix}_peak_rss_mb': max_rss_mb()}


__all__ = [
    'CUDA_MEMORY_KIND', 'RSS_MEMORY_KIND', 'max_rss_mb', 'reset_peak_memory',
    'peak_memory'
]
