"""Losses registered in ``mmvis_pretrain.registry.MODELS``."""
from .contrastive_track_loss import ContrastiveTrackLoss, frame_pair_indices

__all__ = ['ContrastiveTrackLoss', 'frame_pair_indices']
