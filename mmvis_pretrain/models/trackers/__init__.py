"""Trackers registered in ``mmvis_pretrain.registry.MODELS``."""
from .memory_bank_tracker import MemoryBankTracker, bisoftmax

__all__ = ['MemoryBankTracker', 'bisoftmax']
