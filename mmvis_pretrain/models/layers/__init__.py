"""Building blocks shared by the models."""
from .conv_gru import ConvGRU
from .correlation import Correlation, correlation
from .fca_anchor_generator import FCAAnchorGenerator
from .feature_calibration import FeatureCalibration, aligned_offsets
from .lincomb_masks import crop_masks, lincomb_masks
from .temporal_fusion import TemporalFusion
from .mask_nms import mask_iou_matrix, mask_nms
from .temporal_swin_block import (ShiftWindowCrossMSA, TemporalSwinBlock,
                                  WindowCrossAttention, temporal_split)

__all__ = [
    'Correlation', 'correlation', 'ConvGRU', 'TemporalSwinBlock',
    'ShiftWindowCrossMSA', 'WindowCrossAttention', 'temporal_split',
    'mask_iou_matrix', 'mask_nms', 'FCAAnchorGenerator', 'FeatureCalibration',
    'aligned_offsets', 'crop_masks', 'lincomb_masks', 'TemporalFusion'
]
