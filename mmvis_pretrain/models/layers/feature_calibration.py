"""STMask's Feature Calibration for Bounding boxes (FCB, sec. 3.1.2).

The head first regresses the box of every anchor; the class, mask
coefficient and track branches then read their features from the regressed
box instead of the anchor, through a deformable convolution whose sampling
offsets come from the (detached) regression deltas ``(dx, dy, dw, dh)`` of
mmdet's ``DeltaXYWHBBoxCoder``:

* **adaptive** (eq. 5): the offsets are a learned 1x1 convolution of the
  deltas, ``Conv2d(4 * A, 2 * kh * kw, 1, bias=False)``, initialised to zero,
  so that training starts from the plain convolution;
* **aligned** (eqs. 6-8): the offsets are derived geometrically. With the
  anchor covering ``(ah, aw)`` feature cells (FCA: the kernel footprint) and
  the coder's standard deviations ``(sx, sy, sw, sh)``, the regressed box
  centre moves by ``(dx * sx * aw, dy * sy * ah)`` cells and its size is
  scaled by ``(exp(dw * sw), exp(dh * sh))``; tap ``(i, j)`` of a
  ``kh x kw`` kernel, at ``(ri, rj) = (i - (kh - 1) / 2, j - (kw - 1) / 2)``
  from the centre, therefore moves by::

      offset_y = dy * sy * ah + ri * (exp(dh * sh) - 1)
      offset_x = dx * sx * aw + rj * (exp(dw * sw) - 1)

  (a pure translation moves every tap by the same amount).

Either way the calibrated features are ``relu(DeformConv2d(x, offsets))``
(``in -> in`` channels, kernel ``kh x kw``; mmcv's operator, run in plain
PyTorch off CUDA by :class:`~.ops.DeformConv2d`), and the branch's
prediction is a plain ``kh x kw`` convolution of them.
:class:`FeatureCalibration` with ``mode=None`` is the uncalibrated branch:
just the prediction convolution.

Offsets follow mmcv's ``DeformConv2d`` layout: channel ``2 * t`` is the
vertical and ``2 * t + 1`` the horizontal offset of tap ``t = i * kw + j``
(row-major), in feature cells.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from .ops import DeformConv2d

FCB_MODES = (None, 'adaptive', 'aligned')


def aligned_offsets(deltas: Tensor,
                    kernel_size: Union[int, Tuple[int, int]],
                    anchor_cells: Optional[Tuple[float, float]] = None,
                    target_stds: Sequence[float] = (0.1, 0.1, 0.2, 0.2)
                    ) -> Tensor:
    """Geometric deformable-convolution offsets of FCB (aligned features).

    Args:
        deltas (Tensor): ``(N, 4, H, W)`` regression deltas ``(dx, dy, dw,
            dh)`` of one anchor per position (normalised by ``target_stds``
            as mmdet's ``DeltaXYWHBBoxCoder`` with zero means).
        kernel_size (int | tuple[int, int]): ``(kh, kw)``.
        anchor_cells (tuple[float, float], optional): ``(ah, aw)``, the
            anchor's height and width in feature cells; defaults to the
            kernel footprint ``(kh, kw)`` (FCA anchors).
        target_stds (sequence[float]): the coder's ``(sx, sy, sw, sh)``.

    Returns:
        Tensor: ``(N, 2 * kh * kw, H, W)`` offsets (see the module
        docstring for the formula and layout).
    """
    if deltas.dim() != 4 or deltas.size(1) != 4:
        raise ValueError('aligned_offsets expects (N, 4, H, W) deltas, got '
                         f'{tuple(deltas.shape)}')
    kh, kw = _pair(kernel_size)
    ah, aw = (kh, kw) if anchor_cells is None else anchor_cells
    sx, sy, sw, sh = target_stds
    dx, dy, dw, dh = deltas.unbind(1)  # each (N, H, W)
    ty = (dy * (sy * ah)).unsqueeze(1)  # (N, 1, H, W)
    tx = (dx * (sx * aw)).unsqueeze(1)
    gy = (torch.exp(dh * sh) - 1).unsqueeze(1)
    gx = (torch.exp(dw * sw) - 1).unsqueeze(1)
    ri = torch.arange(kh, dtype=deltas.dtype, device=deltas.device)
    rj = torch.arange(kw, dtype=deltas.dtype, device=deltas.device)
    ri = (ri - (kh - 1) / 2).view(kh, 1).expand(kh, kw).reshape(1, -1, 1, 1)
    rj = (rj - (kw - 1) / 2).view(1, kw).expand(kh, kw).reshape(1, -1, 1, 1)
    off_y = ty + ri * gy  # (N, kh*kw, H, W)
    off_x = tx + rj * gx
    n, _, h, w = deltas.shape
    return torch.stack([off_y, off_x], dim=2).reshape(n, 2 * kh * kw, h, w)


class FeatureCalibration(BaseModule):
    """One prediction branch of an STMask head, optionally calibrated to the
    regressed boxes (FCB).

    Args:
        in_channels (int): channels of the branch's input features.
        out_channels (int): channels of the prediction (``A * C``).
        kernel_size (int | tuple[int, int]): ``(kh, kw)`` of the FCA kernel
            this branch belongs to.
        mode (str, optional): ``'adaptive'``, ``'aligned'`` or None (no
            calibration: only the prediction convolution).
        num_anchors (int): anchors ``A`` predicted per position by this
            kernel; the deltas have ``4 * A`` channels. ``'aligned'`` needs
            ``A == 1`` (one box per position to align to).
        anchor_cells (tuple[float, float], optional): ``(ah, aw)`` of the
            anchor in feature cells, for ``'aligned'``; defaults to the
            kernel footprint.
        target_stds (sequence[float]): the box coder's standard deviations,
            for ``'aligned'``.
        deform_groups (int): offset groups of the deformable convolution;
            the adaptive offsets are predicted per group, the aligned ones
            shared. Defaults to 1.
        init_cfg (dict, optional): initialisation of the prediction conv;
            the deformable conv is drawn from N(0, 0.01) and the adaptive
            offset conv is zero in :meth:`init_weights`.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Tuple[int, int]] = 3,
                 mode: Optional[str] = None,
                 num_anchors: int = 1,
                 anchor_cells: Optional[Tuple[float, float]] = None,
                 target_stds: Sequence[float] = (0.1, 0.1, 0.2, 0.2),
                 deform_groups: int = 1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in FCB_MODES:
            raise ValueError(f'FCB mode must be one of {FCB_MODES}, got '
                             f'{mode!r}')
        if mode == 'aligned' and num_anchors != 1:
            raise ValueError(
                'aligned FCB needs one anchor per kernel and position (one '
                f'box to align to), got num_anchors={num_anchors}; use '
                "mode='adaptive' or one anchor scale per kernel")
        kh, kw = _pair(kernel_size)
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f'kernel sizes must be odd, got {(kh, kw)}')
        self.kernel_size = (kh, kw)
        self.padding = (kh // 2, kw // 2)
        self.mode = mode
        self.num_anchors = num_anchors
        self.anchor_cells = anchor_cells
        self.target_stds = tuple(target_stds)
        self.deform_groups = deform_groups
        if mode == 'adaptive':
            self.conv_offset = nn.Conv2d(
                4 * num_anchors, deform_groups * 2 * kh * kw, 1, bias=False)
        if mode is not None:
            self.conv_adaption = DeformConv2d(
                in_channels,
                in_channels,
                self.kernel_size,
                padding=self.padding,
                deform_groups=deform_groups)
            self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(
            in_channels, out_channels, self.kernel_size, padding=self.padding)

    def init_weights(self) -> None:
        """Prediction conv by ``init_cfg`` (or PyTorch's default), deformable
        conv N(0, 0.01), adaptive offsets zero (plain convolution at the
        start)."""
        super().init_weights()
        if self.mode is not None:
            nn.init.normal_(self.conv_adaption.weight, std=0.01)
        if self.mode == 'adaptive':
            nn.init.zeros_(self.conv_offset.weight)

    def offsets(self, deltas: Tensor) -> Tensor:
        """Offsets of the deformable conv from the detached deltas.

        Args:
            deltas (Tensor): ``(N, 4 * A, H, W)``.

        Returns:
            Tensor: ``(N, G * 2 * kh * kw, H, W)`` (adaptive) or
            ``(N, 2 * kh * kw, H, W)`` (aligned).
        """
        deltas = deltas.detach()
        if self.mode == 'adaptive':
            return self.conv_offset(deltas)
        offsets = aligned_offsets(deltas, self.kernel_size, self.anchor_cells,
                                  self.target_stds)
        if self.deform_groups > 1:
            offsets = offsets.repeat(1, self.deform_groups, 1, 1)
        return offsets

    def forward(self, x: Tensor, deltas: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            x (Tensor): ``(N, in_channels, H, W)`` branch features.
            deltas (Tensor, optional): ``(N, 4 * A, H, W)`` regression
                deltas of the same kernel (detached here); needed unless
                ``mode`` is None.

        Returns:
            Tensor: ``(N, out_channels, H, W)``.
        """
        if self.mode is not None:
            if deltas is None:
                raise ValueError(f'{self.mode} FCB needs the box deltas')
            x = self.relu(self.conv_adaption(x, self.offsets(deltas)))
        return self.conv(x)
