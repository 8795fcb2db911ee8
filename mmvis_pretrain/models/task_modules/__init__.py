"""Task modules (prior generators) registered in
``mmvis_pretrain.registry.TASK_UTILS``."""
from .prior_generators import FCAAnchorGenerator

__all__ = ['FCAAnchorGenerator']
