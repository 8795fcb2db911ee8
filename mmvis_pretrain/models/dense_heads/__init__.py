"""Dense heads registered in ``mmvis_pretrain.registry.MODELS``."""
