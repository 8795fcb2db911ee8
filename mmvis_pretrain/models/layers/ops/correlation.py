"""Spatial correlation (cost volume) with the semantics of ``mmcv.ops.Correlation``.

Why this file exists
--------------------
``mmcv.ops.Correlation`` (mmcv 2.1.0) is compiled for CUDA only: on a CPU
tensor it fails with ``correlation_forward_impl: implementation for device
cpu not found``. Components that correlate the features of neighbouring
frames (e.g. STMask's temporal fusion) must also run on CPU, in the tests and
for CPU users. No maintained library offers a CPU correlation with mmcv's
exact semantics (``spatial_correlation_sampler``, the extension mmcv's kernel
was derived from, is an unmaintained C++/CUDA extension that has to be
compiled against the local torch), so the operator is written here in plain
PyTorch.

:class:`Correlation` is a drop-in for ``mmcv.ops.Correlation`` (same
constructor, same output): on CUDA tensors of a dtype mmcv's kernel handles
(float16/32/64) it calls mmcv's kernel when mmcv was compiled with CUDA;
everywhere else it runs :func:`correlation_pytorch`, a vectorised
implementation that is differentiable through autograd (twice, unlike mmcv's
``once_differentiable`` backward).

Semantics (read from mmcv's ``correlation_cuda.cuh`` forward kernel)
--------------------------------------------------------------------
For inputs ``input1``, ``input2`` of shape ``(N, C, H, W)``, with
``P = 2 * max_displacement + 1`` and the pair-valued arguments split into
their H and W parts::

    out[n, ph, pw, y, x] = sum_{c < C} sum_{i < kH} sum_{j < kW}
        input1[n, c, y1, x1] * input2[n, c, y1 + dy, x1 + dx]

    y1 = y * strideH - padH + i * dilationH
    x1 = x * strideW - padW + j * dilationW
    dy = (ph - max_displacement) * dilation_patchH
    dx = (pw - max_displacement) * dilation_patchW

where a term is zero unless both ``(y1, x1)`` and ``(y1 + dy, x1 + dx)`` lie
inside the ``H x W`` image (zero padding of both inputs). There is no
normalisation (not by ``C``, not by the window size). The output has shape
``(N, P, P, H_out, W_out)`` with
``H_out = (H + 2 * padH - ((kH - 1) * dilationH + 1)) // strideH + 1``
(likewise ``W_out``). ``ph`` indexes the vertical and ``pw`` the horizontal
displacement; the centre ``out[:, max_displacement, max_displacement]`` is
the zero displacement.
"""
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from ....utils.stack_compat import correlation_available

IntPair = Union[int, Tuple[int, int]]

# dtypes handled by mmcv's kernel (AT_DISPATCH_FLOATING_TYPES_AND_HALF)
_MMCV_DTYPES = (torch.float16, torch.float32, torch.float64)


def _use_mmcv(input1: Tensor) -> bool:
    """Whether mmcv has a kernel for ``input1``'s device and dtype."""
    return (input1.dtype in _MMCV_DTYPES
            and correlation_available(input1.device))


def _check_args(input1: Tensor, input2: Tensor, kernel_size: IntPair,
                max_displacement: int, stride: IntPair, padding: IntPair,
                dilation: IntPair, dilation_patch: IntPair) -> None:
    if input1.dim() != 4 or input1.shape != input2.shape:
        raise ValueError('Correlation expects two (N, C, H, W) tensors of the '
                         f'same shape, got {tuple(input1.shape)} and '
                         f'{tuple(input2.shape)}')
    if input1.device != input2.device or input1.dtype != input2.dtype:
        raise ValueError('Correlation inputs must share device and dtype, got '
                         f'{input1.device}/{input1.dtype} and '
                         f'{input2.device}/{input2.dtype}')
    if not isinstance(max_displacement, int) or max_displacement < 0:
        raise ValueError('max_displacement must be an int >= 0, got '
                         f'{max_displacement!r}')
    for name, value, low in (('kernel_size', kernel_size, 1),
                             ('stride', stride, 1), ('padding', padding, 0),
                             ('dilation', dilation, 1),
                             ('dilation_patch', dilation_patch, 1)):
        if any(v < low for v in _pair(value)):
            raise ValueError(f'{name} must be >= {low}, got {value!r}')


def correlation_output_size(input_size: Tuple[int, int],
                            kernel_size: IntPair = 1,
                            stride: IntPair = 1,
                            padding: IntPair = 0,
                            dilation: IntPair = 1) -> Tuple[int, int]:
    """Spatial output size ``(H_out, W_out)`` for an ``(H, W)`` input.

    ``H_out = (H + 2 * padding - ((kernel_size - 1) * dilation + 1))
    // stride + 1``, likewise ``W_out``; the same formula as mmcv's
    ``CorrelationFunction._output_size`` for every valid (positive) size.
    """
    out = []
    for size, k, s, p, d in zip(input_size, _pair(kernel_size), _pair(stride),
                                _pair(padding), _pair(dilation)):
        out.append((size + 2 * p - ((k - 1) * d + 1)) // s + 1)
    return out[0], out[1]


def correlation_pytorch(input1: Tensor,
                        input2: Tensor,
                        kernel_size: IntPair = 1,
                        max_displacement: int = 1,
                        stride: IntPair = 1,
                        padding: IntPair = 0,
                        dilation: IntPair = 1,
                        dilation_patch: IntPair = 1) -> Tensor:
    """Pure-PyTorch correlation, on any device; see the module docstring.

    Zero-pads ``input1`` by ``padding`` and ``input2`` by ``padding`` plus the
    largest displacement, then for each of the ``P * P`` displacements
    multiplies ``input1`` with the shifted view of ``input2`` and sums over
    channels; the ``kernel_size`` window sum (with ``dilation`` and
    ``stride``) is one convolution with a ones kernel over all displacements
    at once. Nothing loops over pixels; autograd gives the gradients.

    Args:
        input1 (Tensor): ``(N, C, H, W)``.
        input2 (Tensor): ``(N, C, H, W)``, same dtype and device.
        kernel_size, stride, padding, dilation, dilation_patch (int or
            tuple[int, int]): as in :class:`Correlation`.
        max_displacement (int): as in :class:`Correlation`.

    Returns:
        Tensor: ``(N, P, P, H_out, W_out)``, ``P = 2 * max_displacement + 1``,
        dtype of ``input1``.
    """
    _check_args(input1, input2, kernel_size, max_displacement, stride,
                padding, dilation, dilation_patch)
    kH, kW = _pair(kernel_size)
    sH, sW = _pair(stride)
    pH, pW = _pair(padding)
    dH, dW = _pair(dilation)
    dpH, dpW = _pair(dilation_patch)
    N, _, H, W = input1.shape
    oH, oW = correlation_output_size((H, W), kernel_size, stride, padding,
                                     dilation)
    if oH < 1 or oW < 1:
        raise ValueError(f'Correlation output would be empty ({oH}x{oW}) for '
                         f'input {H}x{W}, kernel_size={kernel_size}, '
                         f'padding={padding}, dilation={dilation}, '
                         f'stride={stride}')
    P = 2 * max_displacement + 1
    rH, rW = max_displacement * dpH, max_displacement * dpW

    # Rows/columns of the padded input1 that some window reaches.
    uH = (oH - 1) * sH + (kH - 1) * dH + 1
    uW = (oW - 1) * sW + (kW - 1) * dW + 1
    in1 = F.pad(input1, (pW, pW, pH, pH))[:, :, :uH, :uW]
    # input2 padded so that every displaced window is a plain slice: padded
    # position (y, x) of ``in1`` meets position (y + dy, x + dx) of
    # ``input2`` padded by (padding), i.e. (y + dy + r, x + dx + r) here.
    in2 = F.pad(input2, (pW + rW, pW + rW, pH + rH, pH + rH))

    if kH == 1 and kW == 1:
        # 1x1 window: subsample by the stride before multiplying.
        in1 = in1[:, :, ::sH, ::sW]
        costs = [(in1 * in2[:, :, oy:oy + uH:sH, ox:ox + uW:sW]).sum(1)
                 for oy in range(0, 2 * rH + 1, dpH)
                 for ox in range(0, 2 * rW + 1, dpW)]
        return torch.stack(costs, 1).view(N, P, P, oH, oW)

    costs = [(in1 * in2[:, :, oy:oy + uH, ox:ox + uW]).sum(1)
             for oy in range(0, 2 * rH + 1, dpH)
             for ox in range(0, 2 * rW + 1, dpW)]
    cost = torch.stack(costs, 1).reshape(N * P * P, 1, uH, uW)
    window = cost.new_ones(1, 1, kH, kW)
    out = F.conv2d(cost, window, stride=(sH, sW), dilation=(dH, dW))
    return out.view(N, P, P, oH, oW)


def correlation(input1: Tensor,
                input2: Tensor,
                kernel_size: IntPair = 1,
                max_displacement: int = 1,
                stride: IntPair = 1,
                padding: IntPair = 0,
                dilation: IntPair = 1,
                dilation_patch: IntPair = 1) -> Tensor:
    """Functional form of :class:`Correlation` (same defaults).

    Uses mmcv's CUDA kernel for CUDA tensors when available, otherwise
    :func:`correlation_pytorch`.

    Args:
        input1 (Tensor): ``(N, C, H, W)``.
        input2 (Tensor): ``(N, C, H, W)``.

    Returns:
        Tensor: ``(N, P, P, H_out, W_out)`` with ``P = 2 * max_displacement
        + 1``.
    """
    _check_args(input1, input2, kernel_size, max_displacement, stride,
                padding, dilation, dilation_patch)
    if _use_mmcv(input1):
        from mmcv.ops.correlation import CorrelationFunction
        return CorrelationFunction.apply(input1, input2, kernel_size,
                                         max_displacement, stride, padding,
                                         dilation, dilation_patch)
    return correlation_pytorch(input1, input2, kernel_size, max_displacement,
                               stride, padding, dilation, dilation_patch)


class Correlation(nn.Module):
    r"""Correlation operator, a drop-in for ``mmcv.ops.Correlation`` that
    also runs on CPU.

    For two batched feature maps of shape :math:`(N, C, H, W)` the output
    has shape :math:`(N, P, P, H_{out}, W_{out})` with
    :math:`P = 2 \times max\_displacement + 1` and

    .. math::
        H_{out} = \left\lfloor\frac{H + 2 \times padding - dilation
            \times (kernel\_size - 1) - 1}{stride} + 1\right\rfloor

    (likewise :math:`W_{out}`). ``out[n, ph, pw, y, x]`` is the sum over
    channels and over the ``kernel_size`` window (spacing ``dilation``,
    top-left at ``(y * stride - padding, x * stride - padding)``) of
    ``input1`` times ``input2`` displaced by
    ``((ph - max_displacement) * dilation_patch,
    (pw - max_displacement) * dilation_patch)`` rows/columns, with zeros
    outside the images and no normalisation. See the module docstring for
    the exact formula.

    Args:
        kernel_size (int | tuple[int, int]): Size of the window summed around
            each position. Defaults to 1.
        max_displacement (int): Radius of the displacement grid (in steps of
            ``dilation_patch``). Defaults to 1.
        stride (int | tuple[int, int]): Stride of the output positions in
            the input. Defaults to 1.
        padding (int | tuple[int, int]): Zero padding on all four sides.
            Defaults to 0.
        dilation (int | tuple[int, int]): Spacing of the window elements.
            Defaults to 1.
        dilation_patch (int | tuple[int, int]): Spacing between neighbouring
            displacements. Defaults to 1.
    """

    def __init__(self,
                 kernel_size: int = 1,
                 max_displacement: int = 1,
                 stride: int = 1,
                 padding: int = 0,
                 dilation: int = 1,
                 dilation_patch: int = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.max_displacement = max_displacement
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.dilation_patch = dilation_patch

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        """
        Args:
            input1 (Tensor): ``(N, C, H, W)``.
            input2 (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, P, P, H_out, W_out)``.
        """
        return correlation(input1, input2, self.kernel_size,
                           self.max_displacement, self.stride, self.padding,
                           self.dilation, self.dilation_patch)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(kernel_size={self.kernel_size}, '
                f'max_displacement={self.max_displacement}, '
                f'stride={self.stride}, padding={self.padding}, '
                f'dilation={self.dilation}, '
                f'dilation_patch={self.dilation_patch})')
