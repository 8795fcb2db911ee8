"""Dense heads registered in ``mmvis_pretrain.registry.MODELS``."""
from .stmask_head import STMaskHead
from .stmask_protonet import STMaskProtonet

__all__ = ['STMaskHead', 'STMaskProtonet']
