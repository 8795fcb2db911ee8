"""Dense heads registered in ``mmvis_pretrain.registry.MODELS``."""
from .mask2former_embed_head import Mask2FormerEmbedHead  # noqa: E402
from .stmask_head import STMaskHead
from .stmask_protonet import STMaskProtonet
from .stc_track_head import STCTrackHead

__all__ = [
    'Mask2FormerEmbedHead', 'STMaskHead', 'STMaskProtonet', 'STCTrackHead'
]
