"""Deformable convolution (DCNv1) with mmcv's semantics and a fast CPU path.

Why this file exists
--------------------
STMask's FCB (:mod:`.feature_calibration`) runs a deformable convolution per
FCA kernel and per calibrated branch on every FPN level. mmcv 2.1's CPU
kernel of ``mmcv.ops.DeformConv2d`` is a direct port of the CUDA im2col
loops; on CPU its backward pass made up about three quarters of a training
step of the tiny STMask (and inference on CPU is slow as well). The same
operator written with ``torch.nn.functional.grid_sample`` (one bilinear
sampling of every kernel tap, then a matrix product with the weights) gives
the same values and gradients (up to float rounding) 3-9x faster on CPU.

:class:`DeformConv2d` is a subclass of ``mmcv.ops.DeformConv2d`` (same
constructor, parameters and state dict): CUDA tensors go to mmcv's kernel,
everything else to :func:`deform_conv2d_pytorch`.

Semantics (mmcv's ``deformable_im2col`` with bilinear sampling)
---------------------------------------------------------------
For input ``x (N, C, H, W)``, offsets ``(N, G * 2 * kh * kw, Ho, Wo)`` and
weight ``(Co, C, kh, kw)``::

    out[n, o, y, x] = sum_{c, i, j} w[o, c, i, j] * bilinear(x[n, c], py, px)
    py = y * sH - pH + i * dH + offset[n, g(c) * 2K + 2t,     y, x]
    px = x * sW - pW + j * dW + offset[n, g(c) * 2K + 2t + 1, y, x]

with tap ``t = i * kw + j``, ``K = kh * kw``, ``g(c)`` the offset group of
channel ``c`` (``C / G`` consecutive channels per group), and the bilinear
interpolation reading zero outside the image (each of the four neighbours
separately), which is ``grid_sample(..., padding_mode='zeros')``.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.ops import DeformConv2d as MMCVDeformConv2d
from torch import Tensor
from torch.nn.modules.utils import _pair

IntPair = Union[int, Tuple[int, int]]


def deform_conv2d_pytorch(x: Tensor,
                          offset: Tensor,
                          weight: Tensor,
                          stride: IntPair = 1,
                          padding: IntPair = 0,
                          dilation: IntPair = 1,
                          deform_groups: int = 1,
                          bias: Optional[Tensor] = None) -> Tensor:
    """Deformable convolution in plain PyTorch (any device, autograd).

    Args:
        x (Tensor): ``(N, C, H, W)``.
        offset (Tensor): ``(N, G * 2 * kh * kw, Ho, Wo)``, ``(y, x)`` per tap
            (see the module docstring).
        weight (Tensor): ``(Co, C, kh, kw)`` (no grouped convolution).
        stride, padding, dilation (int | tuple[int, int]): as ``Conv2d``.
        deform_groups (int): offset groups ``G`` (``C % G == 0``).
        bias (Tensor, optional): ``(Co,)``.

    Returns:
        Tensor: ``(N, Co, Ho, Wo)``.
    """
    n, c, h, w = x.shape
    co, ci, kh, kw = weight.shape
    if ci != c:
        raise ValueError(f'weight expects {ci} input channels, x has {c} '
                         '(grouped convolution is not supported)')
    if c % deform_groups:
        raise ValueError(f'{c} channels cannot be split into '
                         f'{deform_groups} offset groups')
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    k = kh * kw
    g = deform_groups
    if offset.shape != (n, g * 2 * k, ho, wo):
        raise ValueError(f'offset must be {(n, g * 2 * k, ho, wo)}, got '
                         f'{tuple(offset.shape)}')
    off = offset.view(n, g, k, 2, ho, wo).to(x.dtype)
    taps_y = (torch.arange(kh, dtype=x.dtype, device=x.device) *
              dh).repeat_interleave(kw)
    taps_x = (torch.arange(kw, dtype=x.dtype, device=x.device) *
              dw).repeat(kh)
    rows = torch.arange(ho, dtype=x.dtype, device=x.device) * sh - ph
    cols = torch.arange(wo, dtype=x.dtype, device=x.device) * sw - pw
    # sampling positions (N, G, K, Ho, Wo) in input pixels
    off_y, off_x = off[:, :, :, 0], off[:, :, :, 1]
    py = rows.view(1, 1, 1, ho, 1) + taps_y.view(1, 1, k, 1, 1) + off_y
    px = cols.view(1, 1, 1, 1, wo) + taps_x.view(1, 1, k, 1, 1) + off_x
    # pixel -> grid_sample coordinates (align_corners=False: valid for any
    # size, including 1)
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)
    sampled = F.grid_sample(
        x.reshape(n * g, c // g, h, w),
        grid.reshape(n * g, k * ho, wo, 2),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)  # (N*G, C/G, K*Ho, Wo)
    columns = sampled.reshape(n, c * k, ho * wo)
    out = torch.matmul(weight.reshape(co, c * k), columns)
    out = out.view(n, co, ho, wo)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


class DeformConv2d(MMCVDeformConv2d):
    """``mmcv.ops.DeformConv2d`` with :func:`deform_conv2d_pytorch` off CUDA.

    Same arguments, parameters and offset layout as mmcv's class (``groups``
    must be 1 off CUDA); see the module docstring.
    """

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): ``(N, C_in, H, W)``.
            offset (Tensor): ``(N, G * 2 * kh * kw, H_out, W_out)``.

        Returns:
            Tensor: ``(N, C_out, H_out, W_out)``.
        """
        if x.is_cuda or self.groups != 1:
            return super().forward(x, offset)
        return deform_conv2d_pytorch(x, offset, self.weight, self.stride,
                                     self.padding, self.dilation,
                                     self.deform_groups)


__all__ = ['DeformConv2d', 'deform_conv2d_pytorch']
