"""Building blocks shared by the models."""
from .conv_gru import ConvGRU
from .feature_calibration import FeatureCalibration, aligned_offsets
from .lincomb_masks import crop_masks, lincomb_masks
from .mask_nms import mask_iou_matrix, mask_nms
from .ops import (Correlation, DeformConv2d, correlation,
                  deform_conv2d_pytorch)
from .temporal_swin_block import (ShiftWindowCrossMSA, TemporalSwinBlock,
                                  WindowCrossAttention, temporal_split)

__all__ = [
    'Correlation', 'correlation', 'ConvGRU', 'TemporalSwinBlock',
    'ShiftWindowCrossMSA', 'WindowCrossAttention', 'temporal_split',
    'mask_iou_matrix', 'mask_nms', 'FeatureCalibration', 'aligned_offsets',
    'crop_masks', 'lincomb_masks', 'DeformConv2d', 'deform_conv2d_pytorch'
]
