"""PyTorch fallbacks of mmcv ops where mmcv has no kernel (``Correlation``
on CPU) or a slow one off CUDA (``DeformConv2d``), with mmcv's semantics;
on CUDA they call mmcv's kernels."""
from .correlation import Correlation, correlation
from .deform_conv import DeformConv2d, deform_conv2d_pytorch

__all__ = ['Correlation', 'correlation', 'DeformConv2d',
           'deform_conv2d_pytorch']
