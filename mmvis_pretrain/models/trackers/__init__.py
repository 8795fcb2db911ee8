"""Trackers registered in ``mmvis_pretrain.registry.MODELS``."""
from .memory_bank_tracker import MemoryBankTracker, bisoftmax
from .stmask_tracker import STMaskTracker

__all__ = ['MemoryBankTracker', 'bisoftmax', 'STMaskTracker']
