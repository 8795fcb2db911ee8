"""MSTM: the multi-scale temporal module of the paper (sec. 3.2, eq. 3).

Per selected backbone level ``s``, on the features ``f_s`` of each clip::

    f_s^u = TemporalSwinBlock_L( ... TemporalSwinBlock_1(f_s))   # short-term
    f_s^N = ConvGRU_N( ... ConvGRU_1(f_s^u)) + f_s                 # eq. (3)

The short-term layers alternate plain / shifted windows (as Swin); see
:mod:`mmvis_pretrain.models.layers.temporal_swin_block` for the temporal
split (``F1``, ``F2``), odd ``T`` and ``T = 1``. The neck takes and returns
the flattened ``(N*T, C, H, W)`` layout that mmdet's ``Mask2FormerVideo``
passes between backbone and head; the channels of every level are kept.

With ``embed_dims`` set, every processed level runs at that working width
between two 1x1 convolutions, and the residual stays on the level's own
features: ``out = f + proj_out(ConvGRU(SwinLayers(proj_in(f))))``. With
``gru_ratio < 1`` the ConvGRU recurs on the first ``round(D * gru_ratio)``
channels only and passes the others through (RVM's half-channel GRU). The
paper's R50 setting (+10 M parameters, tab. 9) is ``embed_dims=256``,
``gru_ratio=0.5`` on the three levels that feed the pixel decoder.
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS
from ..layers.conv_gru import ConvGRU
from ..layers.temporal_swin_block import TemporalSwinBlock


def default_num_heads(channels: int) -> int:
    """``C // 32`` heads (at least 1), lowered to the nearest divisor of C."""
    heads = max(1, channels // 32)
    while channels % heads:
        heads -= 1
    return heads


class MSTMLevel(BaseModule):
    """MSTM on one level: ``L`` temporal Swin layers, ``N`` ConvGRUs, residual.

    Args:
        channels (int): Channels ``C`` of the level.
        embed_dims (int, optional): Working width ``D`` of the temporal
            layers: a 1x1 conv ``C -> D`` before them and ``D -> C`` after
            (``proj_in`` / ``proj_out``), the residual on the level's own
            features. None: no projection (``D = C``).
        gru_ratio (float): The ConvGRUs recur on the first
            ``round(D * gru_ratio)`` channels (see :class:`ConvGRU`).
        num_layers (int): ``L`` short-term layers (layer ``i`` uses shifted
            windows when ``i`` is odd).
        num_gru_layers (int): ``N`` stacked ConvGRUs.
        num_heads (int): Attention heads.
        window_size (int): Window side.
        mlp_ratio (float): FFN hidden width = ``mlp_ratio * D``.
        block_cfg (dict, optional): Extra kwargs for every
            :class:`TemporalSwinBlock` (dropouts, ``with_cp``, ...).

    Shapes: ``(N, T, C, H, W) -> (N, T, C, H, W)``.
    """

    def __init__(self,
                 channels: int,
                 num_layers: int = 2,
                 num_gru_layers: int = 1,
                 num_heads: int = 1,
                 window_size: int = 7,
                 mlp_ratio: float = 4,
                 block_cfg: Optional[dict] = None,
                 embed_dims: Optional[int] = None,
                 gru_ratio: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        block_cfg = block_cfg or {}
        self.channels = channels
        self.embed_dims = embed_dims
        width = channels if embed_dims is None else embed_dims
        if embed_dims is not None:
            self.proj_in = nn.Conv2d(channels, embed_dims, 1)
            self.proj_out = nn.Conv2d(embed_dims, channels, 1)
        self.swin_layers = ModuleList([
            TemporalSwinBlock(
                embed_dims=width,
                num_heads=num_heads,
                feedforward_channels=int(mlp_ratio * width),
                window_size=window_size,
                shift=i % 2 == 1,
                **block_cfg) for i in range(num_layers)
        ])
        self.gru_layers = ModuleList([
            ConvGRU(width, ratio=gru_ratio) for _ in range(num_gru_layers)
        ])

    @staticmethod
    def _framewise(conv: nn.Module, x: Tensor) -> Tensor:
        """A 2D conv on ``(N, T, C, H, W)`` frame by frame."""
        N, T = x.shape[:2]
        y = conv(x.flatten(0, 1))
        return y.reshape(N, T, *y.shape[1:])

    def forward(self, f: Tensor) -> Tensor:
        x = f
        if self.embed_dims is not None:
            x = self._framewise(self.proj_in, x)
        for layer in self.swin_layers:
            x = layer(x)
        for gru in self.gru_layers:
            x = gru(x)
        if self.embed_dims is not None:
            x = self._framewise(self.proj_out, x)
        return x + f


@MODELS.register_module()
class MSTM(BaseModule):
    """Multi-scale temporal module (neck between backbone and pixel decoder).

    Args:
        in_channels (Sequence[int]): Channels of every input level.
        num_frames (int): Frames ``T`` per clip (the batch dimension of each
            input is ``N * T``). Overridable per call. Defaults to 3.
        num_layers (int): ``L`` temporal Swin layers per level. Defaults to 2.
        num_gru_layers (int): ``N`` ConvGRU layers per level. Defaults to 1.
        window_size (int): Attention window side. Defaults to 7.
        num_heads (int | Sequence[int], optional): Heads per level; None ->
            ``D // 32`` (at least 1, lowered to a divisor of ``D``), ``D`` the
            working width (``embed_dims``, or the level's ``C``).
        mlp_ratio (float): FFN hidden width ratio. Defaults to 4.
        scales (Sequence[int], optional): Indices of the input levels that get
            the module; the others pass through unchanged. None -> all.
        block_cfg (dict, optional): Extra kwargs of every
            ``TemporalSwinBlock`` (e.g. ``drop_path_rate``, ``with_cp``).
        embed_dims (int, optional): Working width ``D`` of every processed
            level: 1x1 convs project the level to ``D`` before the temporal
            layers and back to its own channels after; the residual of eq. 3
            stays on the level's features. None (default): no projection,
            each level runs at its own width.
        gru_ratio (float): Fraction of the working width the ConvGRUs recur
            on (the first ``round(D * gru_ratio)`` channels; the rest pass
            through). 0.5 is RVM's half-channel GRU. Defaults to 1.0.
        init_cfg (dict | list[dict], optional): Initialisation config.

    Inputs / outputs: ``forward(feats, num_frames=None)``, ``feats`` a tuple of
    ``(N*T, C_s, H_s, W_s)`` tensors (frames of a clip consecutive, clip-major,
    as mmdet's ``Mask2FormerVideo`` flattens them) -> a tuple of tensors of
    the same shapes.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_frames: int = 3,
                 num_layers: int = 2,
                 num_gru_layers: int = 1,
                 window_size: int = 7,
                 num_heads: Union[int, Sequence[int], None] = None,
                 mlp_ratio: float = 4,
                 scales: Optional[Sequence[int]] = None,
                 block_cfg: Optional[dict] = None,
                 embed_dims: Optional[int] = None,
                 gru_ratio: float = 1.0,
                 init_cfg: Union[dict, List[dict], None] = None) -> None:
        super().__init__(init_cfg)
        assert num_frames >= 1, 'num_frames must be >= 1'
        assert embed_dims is None or embed_dims >= 1, 'embed_dims must be >= 1'
        self.embed_dims = embed_dims
        self.gru_ratio = gru_ratio
        self.in_channels = list(in_channels)
        self.num_frames = num_frames
        num_levels = len(self.in_channels)
        if scales is None:
            scales = range(num_levels)
        assert all(-num_levels <= s < num_levels for s in scales), (
            f'scales {list(scales)} out of range for {num_levels} levels')
        self.scales = sorted({s % num_levels for s in scales})
        if num_heads is None or isinstance(num_heads, int):
            num_heads = [num_heads] * num_levels
        assert len(num_heads) == num_levels, (
            'num_heads must have one entry per level')

        self.levels = ModuleList()
        for s in self.scales:
            c = self.in_channels[s]
            width = c if embed_dims is None else embed_dims
            heads = num_heads[s] or default_num_heads(width)
            self.levels.append(
                MSTMLevel(
                    c,
                    num_layers=num_layers,
                    num_gru_layers=num_gru_layers,
                    num_heads=heads,
                    window_size=window_size,
                    mlp_ratio=mlp_ratio,
                    block_cfg=block_cfg,
                    embed_dims=embed_dims,
                    gru_ratio=gru_ratio))

    def forward(self,
                feats: Sequence[Tensor],
                num_frames: Optional[int] = None) -> Tuple[Tensor, ...]:
        T = self.num_frames if num_frames is None else int(num_frames)
        if len(feats) != len(self.in_channels):
            raise ValueError(f'MSTM got {len(feats)} levels, expected '
                             f'{len(self.in_channels)} (in_channels)')
        if T < 1:
            raise ValueError(f'num_frames must be >= 1, got {T}')
        batch = feats[0].shape[0]
        for i, (x, c) in enumerate(zip(feats, self.in_channels)):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(f'MSTM level {i}: expected (N*T, {c}, H, W), '
                                 f'got {tuple(x.shape)}')
            if x.shape[0] != batch:
                raise ValueError(
                    f'MSTM level {i} has batch {x.shape[0]} != {batch} of '
                    'level 0')
        if batch % T:
            raise ValueError(
                f'MSTM: the batch size {batch} (N*T) is not divisible by '
                f'num_frames={T}')
        N = batch // T

        outs = list(feats)
        for s, level in zip(self.scales, self.levels):
            x = feats[s]
            _, C, H, W = x.shape
            y = level(x.reshape(N, T, C, H, W))
            outs[s] = y.reshape(batch, C, H, W)
        return tuple(outs)


__all__ = ['MSTM', 'MSTMLevel', 'default_num_heads']
