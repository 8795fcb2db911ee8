"""Necks registered in ``mmvis_pretrain.registry.MODELS``."""
from .mstm import MSTM, MSTMLevel

__all__ = ['MSTM', 'MSTMLevel']
