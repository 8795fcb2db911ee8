"""Metrics registered in ``mmvis_pretrain.registry.METRICS``."""
