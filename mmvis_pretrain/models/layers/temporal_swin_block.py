"""One short-term layer of the multi-scale temporal module (MSTM, sec. 3.2).

For one scale, the features ``f`` of a clip, shape ``(N, T, C, H, W)``, are
split along time into ``f1`` (the first ``k = floor(T / 2)`` frames) and
``f2`` (the other ``T - k`` frames) and recombined into::

    F1 = concat(f1, f2)    # == f, the original frame order
    F2 = concat(f2, f1)    # == torch.roll(f, -k, dim=1): F2[t] = f[(t + k) % T]

Both have ``T`` frames. Frame ``t`` of ``F1`` is paired with frame ``t`` of
``F2``, i.e. frame ``t`` attends to frame ``(t + k) % T`` (for even ``T``: the
frame half a clip away; for ``T = 3``: the next frame, cyclically).
Odd ``T``: ``f1`` is the shorter half (``floor(T / 2)`` frames), e.g.
``T = 3``: ``f1 = [0]``, ``f2 = [1, 2]``, ``F2 = [1, 2, 0]``.
``T = 1``: ``k = 0`` so ``F2 == F1`` and the cross-attention degenerates to a
second self-attention (with its own weights) on the single frame.

The layer is a Swin block (pre-norm, like mmdet's ``SwinBlock``) with a
cross-attention inserted between self-attention and FFN; every attention is
computed per frame inside (shifted) local windows::

    x = F1 + SelfAttn(q, k, v = LN1(F1))
    x = x + CrossAttn(q = LN2(x), k, v = LN1(F2))
    x = x + FFN(LN3(x))

The keys / values of the cross-attention are the *layer input* of the paired
frame, normalised by the same ``LN1`` that feeds the self-attention (since LN
is per token, ``LN1(F2) == roll(LN1(F1))``): self-attention sees only frame
``t``, cross-attention brings in frame ``(t + k) % T``.

Why a ``WindowCrossAttention``: mmdet's ``WindowMSA`` computes ``q, k, v`` with
one ``nn.Linear`` from a single input, so it cannot take keys / values from
another tensor. :class:`WindowCrossAttention` subclasses it (same parameters,
same relative position bias, same state-dict layout) and adds an optional
``key_value`` input whose projection uses the ``k, v`` rows of the same
``qkv`` weight; without ``key_value`` it *is* mmdet's ``WindowMSA``.
:class:`ShiftWindowCrossMSA` subclasses mmdet's ``ShiftWindowMSA`` and reuses
its ``window_partition`` / ``window_reverse`` for both streams (same window
partition and the same cyclic shift for queries and keys), padding ``H, W`` up
to multiples of the window and cropping afterwards.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.backbones.swin import ShiftWindowMSA, WindowMSA
from mmengine.model import BaseModule
from mmengine.utils import to_2tuple
from torch import Tensor


def temporal_split(x: Tensor, dim: int = 1) -> Tuple[Tensor, Tensor]:
    """Return ``(F1, F2)`` of eq. (3)'s short-term step along ``dim``.

    ``f1`` = the first ``floor(T / 2)`` frames, ``f2`` = the rest;
    ``F1 = concat(f1, f2)`` (== ``x``) and ``F2 = concat(f2, f1)``.
    """
    k = x.shape[dim] // 2
    f1, f2 = x.split([k, x.shape[dim] - k], dim=dim)
    return x, torch.cat([f2, f1], dim=dim)


class WindowCrossAttention(WindowMSA):
    """mmdet's ``WindowMSA`` with optional separate keys / values.

    Args: as ``mmdet.models.backbones.swin.WindowMSA``.

    ``forward(x, mask=None, key_value=None)``: ``x`` and ``key_value`` are
    ``(num_windows * B, Wh * Ww, C)`` windows that correspond one to one (same
    window of the same frame position). Queries come from ``x``; keys and
    values from ``key_value`` (from ``x`` when it is None, which runs mmdet's
    ``WindowMSA.forward`` unchanged).
    """

    def _relative_position_bias(self) -> Tensor:
        """``(num_heads, Wh*Ww, Wh*Ww)`` bias, as in ``WindowMSA.forward``."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous()

    def forward(self,
                x: Tensor,
                mask: Optional[Tensor] = None,
                key_value: Optional[Tensor] = None) -> Tensor:
        if key_value is None:
            return super().forward(x, mask=mask)
        assert key_value.shape == x.shape, (
            f'query windows {tuple(x.shape)} and key/value windows '
            f'{tuple(key_value.shape)} must correspond')
        B, N, C = x.shape
        heads = self.num_heads
        w_q, w_kv = self.qkv.weight.split([C, 2 * C], dim=0)
        b_q = b_kv = None
        if self.qkv.bias is not None:
            b_q, b_kv = self.qkv.bias.split([C, 2 * C], dim=0)
        q = F.linear(x, w_q, b_q).reshape(B, N, heads,
                                          C // heads).transpose(1, 2)
        kv = F.linear(key_value, w_kv, b_kv).reshape(B, N, 2, heads,
                                                     C // heads)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)

        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn + self._relative_position_bias().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B // nW, nW, heads, N, N) + mask.unsqueeze(
                1).unsqueeze(0)
            attn = attn.view(-1, heads, N, N)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class ShiftWindowCrossMSA(ShiftWindowMSA):
    """(Shifted) window attention with optional separate keys / values.

    Args: as ``mmdet.models.backbones.swin.ShiftWindowMSA`` (its ``w_msa`` is
    replaced by a :class:`WindowCrossAttention` with the same arguments).

    ``forward(query, hw_shape, key_value=None)``: ``query`` and ``key_value``
    are ``(B, H * W, C)``; both are padded to multiples of the window,
    cyclically shifted by ``shift_size`` and partitioned identically, so each
    query window attends to the same window of ``key_value`` (with the Swin
    shift mask). Without ``key_value`` this is mmdet's shifted window
    self-attention. Output ``(B, H * W, C)``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 window_size: int,
                 shift_size: int = 0,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 attn_drop_rate: float = 0.,
                 proj_drop_rate: float = 0.,
                 dropout_layer: dict = dict(type='DropPath', drop_prob=0.),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=window_size,
            shift_size=shift_size,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=proj_drop_rate,
            dropout_layer=dropout_layer,
            init_cfg=init_cfg)
        self.w_msa = WindowCrossAttention(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=to_2tuple(window_size),
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=proj_drop_rate,
            init_cfg=None)

    def shift_attn_mask(self, H_pad: int, W_pad: int,
                        device: torch.device) -> Optional[Tensor]:
        """Attention mask ``(nW, ws*ws, ws*ws)`` of the shifted windows.

        After the cyclic shift a window may hold tokens from up to 4 image
        regions that are not neighbours; tokens of different regions get
        ``-100`` (Swin's value). None when there is no shift.
        """
        ws, s = self.window_size, self.shift_size
        if s == 0:
            return None
        region = torch.zeros((1, H_pad, W_pad, 1), device=device)
        bounds = (slice(0, -ws), slice(-ws, -s), slice(-s, None))
        for i, hs in enumerate(bounds):
            for j, wsl in enumerate(bounds):
                region[:, hs, wsl, :] = 3 * i + j
        region = self.window_partition(region).view(-1, ws * ws)
        diff = region.unsqueeze(1) - region.unsqueeze(2)
        return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)

    def _to_windows(self, x: Tensor, H: int, W: int) -> Tensor:
        """``(B, H*W, C)`` -> padded, shifted ``(nW*B, ws*ws, C)``."""
        B, _, C = x.shape
        ws = self.window_size
        x = x.view(B, H, W, C)
        x = F.pad(x, (0, 0, 0, (ws - W % ws) % ws, 0, (ws - H % ws) % ws))
        if self.shift_size > 0:
            x = torch.roll(
                x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        return self.window_partition(x).view(-1, ws * ws, C)

    def forward(self,
                query: Tensor,
                hw_shape: Tuple[int, int],
                key_value: Optional[Tensor] = None) -> Tensor:
        B, L, C = query.shape
        H, W = hw_shape
        assert L == H * W, 'input feature has wrong size'
        ws = self.window_size
        H_pad, W_pad = math.ceil(H / ws) * ws, math.ceil(W / ws) * ws

        q_windows = self._to_windows(query, H, W)
        kv_windows = None
        if key_value is not None:
            assert key_value.shape == query.shape, (
                f'key_value {tuple(key_value.shape)} must have the shape of '
                f'query {tuple(query.shape)}')
            kv_windows = self._to_windows(key_value, H, W)
        attn_mask = self.shift_attn_mask(H_pad, W_pad, query.device)

        out = self.w_msa(q_windows, mask=attn_mask, key_value=kv_windows)
        out = self.window_reverse(out.view(-1, ws, ws, C), H_pad, W_pad)
        if self.shift_size > 0:
            out = torch.roll(
                out, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        out = out[:, :H, :W, :].reshape(B, H * W, C)
        return self.drop(out)


class TemporalSwinBlock(BaseModule):
    """One MSTM layer: per-frame window self-attention, window cross-attention
    to the paired frame (see the module docstring), FFN.

    Args:
        embed_dims (int): Channels ``C``.
        num_heads (int): Attention heads (must divide ``C``).
        feedforward_channels (int): Hidden width of the FFN.
        window_size (int): Window side. Defaults to 7.
        shift (bool): Shift the windows by ``window_size // 2`` (Swin's
            SW-MSA; MSTM alternates it over layers). Defaults to False.
        qkv_bias (bool): Bias of the q, k, v projections. Defaults to True.
        qk_scale (float, optional): Override ``head_dim ** -0.5``.
        drop_rate (float): Dropout after the projections / in the FFN.
        attn_drop_rate (float): Dropout of the attention weights.
        drop_path_rate (float): Stochastic depth of the residual branches.
        act_cfg (dict): FFN activation. Defaults to GELU.
        norm_cfg (dict): Normalisation. Defaults to LN.
        with_cp (bool): Gradient checkpointing. Defaults to False.
        init_cfg (dict, optional): Initialisation config.

    Shapes:
        - input: ``(N, T, C, H, W)``, any ``T >= 1`` and any ``H, W``.
        - output: ``(N, T, C, H, W)``.

    Submodules: ``norm1``/``self_attn``, ``norm2``/``cross_attn``,
    ``norm3``/``ffn``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 window_size: int = 7,
                 shift: bool = False,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        assert embed_dims % num_heads == 0, (
            f'num_heads={num_heads} must divide embed_dims={embed_dims}')
        self.embed_dims = embed_dims
        self.with_cp = with_cp
        attn_cfg = dict(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=window_size,
            shift_size=window_size // 2 if shift else 0,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate))
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.self_attn = ShiftWindowCrossMSA(**attn_cfg)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.cross_attn = ShiftWindowCrossMSA(**attn_cfg)
        self.norm3 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
            act_cfg=act_cfg,
            add_identity=True,
            init_cfg=None)

    def _tokens_forward(self, x: Tensor, N: int, T: int, H: int,
                        W: int) -> Tensor:
        """``x``: ``(N*T, H*W, C)`` tokens of F1 -> same shape."""
        hw = (H, W)
        normed = self.norm1(x)
        # F2 in token form: frame t of F2 is frame (t + T // 2) % T of F1.
        _, kv = temporal_split(normed.view(N, T, H * W, -1), dim=1)
        kv = kv.reshape(N * T, H * W, -1)
        x = x + self.self_attn(normed, hw)
        x = x + self.cross_attn(self.norm2(x), hw, key_value=kv)
        return self.ffn(self.norm3(x), identity=x)

    def forward(self, x: Tensor) -> Tensor:
        assert x.dim() == 5 and x.shape[2] == self.embed_dims, (
            f'TemporalSwinBlock expects (N, T, {self.embed_dims}, H, W), got '
            f'{tuple(x.shape)}')
        N, T, C, H, W = x.shape
        tokens = x.permute(0, 1, 3, 4, 2).reshape(N * T, H * W, C)
        if self.with_cp and tokens.requires_grad:
            tokens = cp.checkpoint(
                self._tokens_forward, tokens, N, T, H, W, use_reentrant=False)
        else:
            tokens = self._tokens_forward(tokens, N, T, H, W)
        return tokens.view(N, T, H, W, C).permute(0, 1, 4, 2, 3).contiguous()
