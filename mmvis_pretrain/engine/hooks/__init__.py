"""Hooks registered in ``mmvis_pretrain.registry.HOOKS``."""
