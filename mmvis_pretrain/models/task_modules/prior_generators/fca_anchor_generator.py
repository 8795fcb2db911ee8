"""Anchors shaped like the footprints of STMask's FCA kernels (sec. 3.1.1).

Feature Calibration for Anchors (FCA) replaces the single 3x3 prediction
convolution of a YOLACT head by one convolution per kernel shape (by default
3x3, 3x5 and 5x3, i.e. ``(kh, kw)`` given as ``(height, width)``) and gives
each kernel its own anchors, shaped like the kernel's receptive footprint on
the feature map: an anchor of kernel ``(kh, kw)`` at a level of stride ``s``
is ``kw * base * scale`` wide and ``kh * base * scale`` high, with ``base``
the level's base size (its stride unless given). With one scale per kernel
and ``base = stride`` the anchors of a 3x3 / 3x5 / 5x3 kernel cover exactly
3x3 / 3x5 / 5x3 feature cells: width/height ratios 1, 5/3 and 3/5 (the
paper's ``[1, 5/3, 3/5]`` that replace YOLACT's ``[1, 1/2, 2]``).

mmdet's :class:`AnchorGenerator` keeps the anchor *area* of a level fixed
across aspect ratios, so it cannot produce footprint-shaped anchors; this
subclass only replaces the base-anchor shapes and keeps everything else
(grid layout, valid flags, ``grid_priors``) of mmdet.

Order of the base anchors of a level: kernel-major, then scale: anchor
``k * S + s`` belongs to kernel ``k`` and scale ``s``. A head whose kernel
``k`` predicts ``S`` anchors, and which concatenates the kernels' outputs
along the channels, therefore matches mmdet's ``(H, W, A)`` flattening.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator
from torch import Tensor

from mmvis_pretrain.registry import TASK_UTILS

KernelSize = Tuple[int, int]
# the paper's kernels (height, width): 3x3, 3x5, 5x3
FCA_KERNELS = ((3, 3), (3, 5), (5, 3))


def _as_kernel_sizes(kernel_sizes: Sequence) -> List[KernelSize]:
    out = []
    for k in kernel_sizes:
        if isinstance(k, int):
            k = (k, k)
        k = tuple(int(v) for v in k)
        if len(k) != 2 or min(k) < 1:
            raise ValueError('kernel_sizes must hold (height, width) pairs of '
                             f'positive ints, got {kernel_sizes!r}')
        out.append(k)
    if not out:
        raise ValueError('kernel_sizes must not be empty')
    return out


@TASK_UTILS.register_module()
class FCAAnchorGenerator(AnchorGenerator):
    """Anchor generator of STMask's FCA: one anchor per kernel and scale,
    covering the kernel's footprint.

    Args:
        strides (list[int | tuple[int, int]]): strides of the feature levels
            (e.g. ``[8, 16, 32, 64, 128]`` for P3-P7).
        kernel_sizes (list[tuple[int, int]]): the ``(height, width)`` of the
            head's kernels, in the order the head concatenates them.
            Defaults to ``((3, 3), (3, 5), (5, 3))``.
        scales (list[float]): multipliers of the footprint; ``S`` anchors per
            kernel. Defaults to ``(1.0,)`` (one anchor per kernel).
        base_sizes (list[float], optional): size of one feature cell in
            pixels per level; defaults to the strides.
        center_offset (float): anchor centre within a cell, as a fraction of
            the stride; 0.5 (default) puts it at the cell centre, where the
            (odd) kernel is centred.
        use_box_type (bool): as in mmdet's ``AnchorGenerator``.
    """

    def __init__(self,
                 strides: Sequence[Union[int, Tuple[int, int]]],
                 kernel_sizes: Sequence[KernelSize] = FCA_KERNELS,
                 scales: Sequence[float] = (1.0, ),
                 base_sizes: Optional[Sequence[float]] = None,
                 center_offset: float = 0.5,
                 use_box_type: bool = False) -> None:
        self.kernel_sizes = _as_kernel_sizes(kernel_sizes)
        if len(scales) == 0 or min(scales) <= 0:
            raise ValueError(f'scales must be positive, got {scales!r}')
        # mmdet's ratios are height / width
        ratios = [kh / kw for kh, kw in self.kernel_sizes]
        super().__init__(
            strides=list(strides),
            ratios=ratios,
            scales=list(scales),
            base_sizes=None if base_sizes is None else list(base_sizes),
            center_offset=center_offset,
            use_box_type=use_box_type)

    @property
    def num_kernels(self) -> int:
        """Number of kernels ``K``."""
        return len(self.kernel_sizes)

    @property
    def anchors_per_kernel(self) -> int:
        """Anchors per kernel and position ``S`` (the number of scales)."""
        return len(self.scales)

    def gen_single_level_base_anchors(self,
                                      base_size: Union[int, float],
                                      scales: Tensor,
                                      ratios: Tensor,
                                      center: Optional[Tuple[float]] = None
                                      ) -> Tensor:
        """Base anchors of one level, ``(K * S, 4)`` as ``(x1, y1, x2,
        y2)`` around the cell centre; row ``k * S + s`` is kernel ``k`` at
        scale ``s`` (``ratios`` is ignored: the kernels fix the shapes)."""
        if center is None:
            x_center = self.center_offset * base_size
            y_center = self.center_offset * base_size
        else:
            x_center, y_center = center
        kernels = torch.tensor(self.kernel_sizes, dtype=torch.float32)
        hs = (kernels[:, 0:1] * scales[None, :] * base_size).reshape(-1)
        ws = (kernels[:, 1:2] * scales[None, :] * base_size).reshape(-1)
        return torch.stack([
            x_center - 0.5 * ws, y_center - 0.5 * hs, x_center + 0.5 * ws,
            y_center + 0.5 * hs
        ], dim=-1)

    def anchor_cells(self, level: int = 0) -> List[Tuple[float, float]]:
        """``(height, width)`` of the ``K * S`` base anchors of ``level`` in
        feature cells (anchor size divided by the level's stride)."""
        stride_w, stride_h = self.strides[level]
        anchors = self.base_anchors[level]
        hs = (anchors[:, 3] - anchors[:, 1]) / stride_h
        ws = (anchors[:, 2] - anchors[:, 0]) / stride_w
        return [(float(h), float(w)) for h, w in zip(hs, ws)]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(strides={self.strides}, '
                f'kernel_sizes={self.kernel_sizes}, '
                f'scales={self.scales.tolist()}, '
                f'base_sizes={self.base_sizes}, '
                f'center_offset={self.center_offset})')
