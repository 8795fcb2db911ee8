"""Trackers registered in ``mmvis_pretrain.registry.MODELS``."""
from .base_vis_tracker import BaseVISTracker
from .memory_bank_tracker import MemoryBankTracker, bisoftmax
from .stmask_tracker import STMaskTracker

__all__ = ['BaseVISTracker', 'MemoryBankTracker', 'bisoftmax', 'STMaskTracker']
