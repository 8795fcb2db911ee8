"""Data samplers registered in ``mmvis_pretrain.registry.DATA_SAMPLERS``."""
from .ratio_sampler import RatioSampler

__all__ = ['RatioSampler']
