"""Convolutional GRU over the time axis (the long-term part of MSTM).

The recurrence is the one of Robust Video Matting's ``ConvGRU`` (the paper's
sec. 3.2 cites it for the long-term temporal interaction), applied here to the
full channel width (the literal reading of the paper; RVM applies it to half
of the channels)::

    r_t, z_t = split(sigmoid(conv3x3([x_t, h_{t-1}])))     # 2C -> 2C
    c_t      = tanh(conv3x3([x_t, r_t * h_{t-1}]))         # 2C -> C
    h_t      = (1 - z_t) * h_{t-1} + z_t * c_t
    h_0      = 0

``[a, b]`` is the concatenation along channels (``x_t`` first).
"""
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor


class ConvGRU(BaseModule):
    """Convolutional GRU that runs over the frames of a clip.

    Args:
        channels (int): Channels ``C`` of the input and of the hidden state.
        kernel_size (int): Kernel size of both convolutions (odd; the padding
            keeps the spatial size). Defaults to 3.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (the convolutions keep ``ConvModule``'s own initialisation).

    Shapes:
        - x: ``(N, T, C, H, W)``, the ``T`` frames of ``N`` clips.
        - h0 (optional): ``(N, C, H, W)``; zeros when omitted.
        - output: ``(N, T, C, H, W)``, the hidden state ``h_t`` after every
          step ``t = 1..T`` (so ``output[:, -1]`` is the final state).

    Attributes:
        gates (ConvModule): ``conv3x3([x, h])`` followed by a sigmoid, ``2C``
            output channels: the first ``C`` are the reset gate ``r``, the
            last ``C`` the update gate ``z``.
        candidate (ConvModule): ``conv3x3([x, r * h])`` followed by tanh.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        assert kernel_size % 2 == 1, 'kernel_size must be odd'
        self.channels = channels
        self.gates = ConvModule(
            2 * channels,
            2 * channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=None,
            act_cfg=dict(type='Sigmoid'))
        self.candidate = ConvModule(
            2 * channels,
            channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=None,
            act_cfg=dict(type='Tanh'))

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        """One recurrence step: ``(N, C, H, W), (N, C, H, W) -> h'``."""
        r, z = self.gates(torch.cat([x, h], dim=1)).split(self.channels, 1)
        c = self.candidate(torch.cat([x, r * h], dim=1))
        # Keep the state in the dtype the convolutions produce (bf16 / fp16
        # under autocast) instead of letting the fp32 ``h0`` promote it.
        return ((1 - z) * h + z * c).to(c.dtype)

    def forward(self, x: Tensor, h0: Optional[Tensor] = None) -> Tensor:
        """Run the recurrence over ``x`` of shape ``(N, T, C, H, W)``.

        Returns:
            Tensor: The hidden states, ``(N, T, C, H, W)``.
        """
        assert x.dim() == 5 and x.shape[2] == self.channels, (
            f'ConvGRU expects (N, T, {self.channels}, H, W), got '
            f'{tuple(x.shape)}')
        h = x.new_zeros(x[:, 0].shape) if h0 is None else h0
        outs = []
        for t in range(x.shape[1]):
            h = self.step(x[:, t], h)
            outs.append(h)
        return torch.stack(outs, dim=1)
