"""Losses registered in ``mmvis_pretrain.registry.MODELS``."""
from .contrastive_track_loss import ContrastiveTrackLoss, frame_pair_indices
from .set_mask_loss import SetMaskLoss, layer_loss_names

__all__ = [
    'ContrastiveTrackLoss', 'frame_pair_indices', 'SetMaskLoss',
    'layer_loss_names'
]
