"""Metrics registered in ``mmvis_pretrain.registry.METRICS``."""
from .vis_metric import VISMetric

__all__ = ['VISMetric']
