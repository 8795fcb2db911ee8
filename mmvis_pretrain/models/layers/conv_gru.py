"""Convolutional GRU over the time axis (the long-term part of MSTM).

The recurrence is the one of Robust Video Matting's ``ConvGRU`` (the paper's
sec. 3.2 cites it for the long-term temporal interaction). By default it runs
on the full channel width (the literal reading of the paper); with
``ratio < 1`` it runs on the first ``G = round(C * ratio)`` channels only and
the other ``C - G`` channels pass through unchanged (RVM's half-channel GRU is
``ratio=0.5``; RVM recurs on the second half, here it is the first)::

    r_t, z_t = split(sigmoid(conv3x3([x_t, h_{t-1}])))     # 2C -> 2C
    c_t      = tanh(conv3x3([x_t, r_t * h_{t-1}]))         # 2C -> C
    h_t      = (1 - z_t) * h_{t-1} + z_t * c_t
    h_0      = 0

``[a, b]`` is the concatenation along channels (``x_t`` first); ``x_t``,
``h_t``, ``r_t``, ``z_t`` and ``c_t`` have ``G`` channels.
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
        ratio (float): Fraction of the channels the recurrence runs on: the
            first ``G = round(channels * ratio)`` channels (``1 <= G <= C``);
            the other ``C - G`` are returned unchanged. Defaults to 1.0 (the
            full width).
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (the convolutions keep ``ConvModule``'s own initialisation).

    Shapes:
        - x: ``(N, T, C, H, W)``, the ``T`` frames of ``N`` clips.
        - h0 (optional): ``(N, G, H, W)``; zeros when omitted.
        - output: ``(N, T, C, H, W)``: channels ``[0, G)`` are the hidden
          state ``h_t`` after every step ``t = 1..T`` (so ``output[:, -1, :G]``
          is the final state), channels ``[G, C)`` are the input's.

    Attributes:
        gru_channels (int): ``G``.
        gates (ConvModule): ``conv3x3([x, h])`` followed by a sigmoid, ``2G``
            output channels: the first ``G`` are the reset gate ``r``, the
            last ``G`` the update gate ``z``.
        candidate (ConvModule): ``conv3x3([x, r * h])`` followed by tanh.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 3,
                 ratio: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        assert kernel_size % 2 == 1, 'kernel_size must be odd'
        gru_channels = int(round(channels * ratio))
        if not 1 <= gru_channels <= channels:
            raise ValueError(
                f'ConvGRU: ratio={ratio} gives {gru_channels} recurrent '
                f'channels out of {channels}; need 1..{channels}')
        self.channels = channels
        self.ratio = ratio
        self.gru_channels = gru_channels
        self.gates = ConvModule(
            2 * gru_channels,
            2 * gru_channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=None,
            act_cfg=dict(type='Sigmoid'))
        self.candidate = ConvModule(
            2 * gru_channels,
            gru_channels,
            kernel_size,
            padding=kernel_size // 2,
            norm_cfg=None,
            act_cfg=dict(type='Tanh'))

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        """One recurrence step on the recurrent channels:
        ``(N, G, H, W), (N, G, H, W) -> h'``."""
        r, z = self.gates(torch.cat([x, h], dim=1)).split(
            self.gru_channels, 1)
        c = self.candidate(torch.cat([x, r * h], dim=1))
        # Keep the state in the dtype the convolutions produce (bf16 / fp16
        # under autocast) instead of letting the fp32 ``h0`` promote it.
        return ((1 - z) * h + z * c).to(c.dtype)

    def forward(self, x: Tensor, h0: Optional[Tensor] = None) -> Tensor:
        """Run the recurrence over ``x`` of shape ``(N, T, C, H, W)``.

        Returns:
            Tensor: ``(N, T, C, H, W)``, the hidden states on the first ``G``
            channels, the input on the others.
        """
        assert x.dim() == 5 and x.shape[2] == self.channels, (
            f'ConvGRU expects (N, T, {self.channels}, H, W), got '
            f'{tuple(x.shape)}')
        G = self.gru_channels
        xr = x[:, :, :G] if G < self.channels else x
        h = xr.new_zeros(xr[:, 0].shape) if h0 is None else h0
        outs = []
        for t in range(x.shape[1]):
            h = self.step(xr[:, t], h)
            outs.append(h)
        hs = torch.stack(outs, dim=1)
        if G == self.channels:
            return hs
        # the pass-through channels keep their values; under autocast the
        # result takes the wider of the two dtypes (as ``conv(x) + x`` would)
        rest = x[:, :, G:]
        dtype = torch.promote_types(hs.dtype, rest.dtype)
        return torch.cat([hs.to(dtype), rest.to(dtype)], dim=2)
