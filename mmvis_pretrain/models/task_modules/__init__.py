"""Task modules (prior generators, matchers) registered in
``mmvis_pretrain.registry.TASK_UTILS``."""
from .assigners import FirstAppearanceMatcher, MaskMatchCost
from .prior_generators import FCAAnchorGenerator

__all__ = ['FCAAnchorGenerator', 'FirstAppearanceMatcher', 'MaskMatchCost']
