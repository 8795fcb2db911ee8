"""Dense heads registered in ``mmvis_pretrain.registry.MODELS``."""
from .mask2former_embed_head import Mask2FormerEmbedHead  # noqa: E402

__all__ = ['Mask2FormerEmbedHead']
