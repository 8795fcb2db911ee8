"""Building blocks shared by the models."""
from .conv_gru import ConvGRU
from .correlation import Correlation, correlation
from .mask_nms import mask_iou_matrix, mask_nms
from .temporal_swin_block import (ShiftWindowCrossMSA, TemporalSwinBlock,
                                  WindowCrossAttention, temporal_split)

__all__ = [
    'Correlation', 'correlation', 'ConvGRU', 'TemporalSwinBlock',
    'ShiftWindowCrossMSA', 'WindowCrossAttention', 'temporal_split',
    'mask_iou_matrix', 'mask_nms'
]
