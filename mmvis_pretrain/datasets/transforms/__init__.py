"""Data transforms registered in ``mmvis_pretrain.registry.TRANSFORMS``."""
