"""Tracking heads registered in ``mmvis_pretrain.registry.MODELS``: the
parts of a model that produce what tracking needs (embeddings, warps)."""
from .mask2former_embed_head import Mask2FormerEmbedHead
from .referring_tracker import ReferringCrossAttention, ReferringTracker
from .stc_track_head import STCTrackHead
from .temporal_fusion import TemporalFusion
from .temporal_refiner import TemporalRefiner, oma_background

__all__ = [
    'Mask2FormerEmbedHead', 'ReferringCrossAttention', 'ReferringTracker',
    'STCTrackHead', 'TemporalFusion',
    'TemporalRefiner', 'oma_background'
]
