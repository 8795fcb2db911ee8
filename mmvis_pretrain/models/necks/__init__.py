"""Necks registered in ``mmvis_pretrain.registry.MODELS``."""
