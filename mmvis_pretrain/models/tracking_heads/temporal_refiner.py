"""DVIS/DVIS++'s temporal refiner (stage 3 of decoupled VIS) with Object
Masked Attention (OMA, MVC paper sec. 3.3, eqs. 6-8).

The refiner takes the tracker's slot embeddings, which are already aligned
over time (slot ``q`` is the same object in every frame), and refines them
with ``num_layers`` layers, each in this order (post-norm, dropout 0, no
positional encodings):

1. temporal self-attention of each slot over the ``T`` frames (batch
   ``B*Q``);
2. a short temporal convolution: ``Conv1d(C, C, 5)`` -> ReLU ->
   ``Conv1d(C, C, 3)`` ('same' padding, replicate), + residual, LayerNorm;
3. object self-attention over the ``Q`` slots of one frame (batch ``B*T``);
4. cross-attention: query = the slots of frame ``t``, key = value = the
   ``Q'`` segmenter queries of the same frame ``t`` (batch ``B*T``, strictly
   per frame); OMA masks keys here during training;
5. FFN.

After every layer (deep supervision) shared heads predict per-frame masks
``(B, Q, T, H, W)`` and one video-level class logit per slot
``(B, Q, K+1)`` (a softmax-over-``T`` weighted mean of the normed slot
embeddings, then a linear classifier).

OMA (training only, no parameters): a key of frame ``t`` (segmenter query
``i``) is foreground or background by the segmenter's class logits of that
frame (``oma_rule``); each background key is dropped (``key_padding_mask``
True) with probability ``oma_drop_prob``, redrawn for every layer and every
frame; foreground keys are never dropped, and a frame never loses all its
keys (the key with the lowest no-object probability is re-admitted), so no
attention row becomes all ``-inf`` (NaN). Nothing is dropped in eval mode.
See ``docs/temporal_refiner.md``.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmdet.models.layers import MLP
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS

OMA_RULES = ('no_object_prob', 'max_class_prob', 'argmax')


def oma_background(seg_logits: Tensor,
                   rule: str = 'no_object_prob',
                   thr: float = 0.6) -> Tensor:
    """Which segmenter queries are background (candidates for OMA dropping).

    Args:
        seg_logits (Tensor): ``(..., K+1)`` class logits, the last entry is
            the no-object class.
        rule (str): ``'no_object_prob'``: softmax no-object probability
            ``>= thr`` (the paper's "threshold 0.6 for the empty class");
            ``'max_class_prob'``: the highest probability among the ``K``
            real classes ``<= thr``; ``'argmax'``: the argmax is no-object
            (``thr`` unused).
        thr (float): the threshold.

    Returns:
        Tensor: bool ``(...)``, True = background.
    """
    if rule not in OMA_RULES:
        raise ValueError(f'oma_rule must be one of {OMA_RULES}, got {rule!r}')
    num_cls = seg_logits.size(-1) - 1
    if rule == 'argmax':
        return seg_logits.argmax(-1) == num_cls
    probs = seg_logits.detach().float().softmax(-1)
    if rule == 'no_object_prob':
        return probs[..., -1] >= thr
    return probs[..., :-1].max(-1).values <= thr


class _RefinerLayer(BaseModule):
    """One refiner layer (see the module docstring for the order).

    The attention blocks and the FFN are mmcv's ``MultiheadAttention`` /
    ``FFN`` (both add their residual); LayerNorms follow them (post-norm).
    The temporal convolution is hand-written: mmcv has no Conv1d block with
    'same' replicate padding and a residual around two convolutions.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 feedforward_channels: int) -> None:
        super().__init__()
        self.temporal_attn = MultiheadAttention(embed_dims,
                                                num_heads,
                                                batch_first=True)
        self.temporal_norm = nn.LayerNorm(embed_dims)
        self.conv1 = nn.Conv1d(embed_dims,
                               embed_dims,
                               5,
                               padding='same',
                               padding_mode='replicate')
        self.conv2 = nn.Conv1d(embed_dims,
                               embed_dims,
                               3,
                               padding='same',
                               padding_mode='replicate')
        self.conv_norm = nn.LayerNorm(embed_dims)
        self.object_attn = MultiheadAttention(embed_dims,
                                              num_heads,
                                              batch_first=True)
        self.object_norm = nn.LayerNorm(embed_dims)
        self.cross_attn = MultiheadAttention(embed_dims,
                                             num_heads,
                                             batch_first=True)
        self.cross_norm = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims,
                       feedforward_channels,
                       num_fcs=2,
                       ffn_drop=0.,
                       add_identity=True)
        self.ffn_norm = nn.LayerNorm(embed_dims)

    def forward(self, x: Tensor, memory: Tensor,
                key_padding_mask: Optional[Tensor]) -> Tensor:
        """x ``(B, T, Q, C)``, memory ``(B, T, Q', C)``, key_padding_mask
        ``(B*T, Q')`` or None; returns ``(B, T, Q, C)``."""
        b, t, q, c = x.shape
        # (1) temporal self-attention, one sequence of T per slot
        xt = x.permute(0, 2, 1, 3).reshape(b * q, t, c)
        xt = self.temporal_norm(self.temporal_attn(xt))
        # (2) temporal convolution over T, channels first
        h = xt.transpose(1, 2)  # (B*Q, C, T)
        h = self.conv2(F.relu(self.conv1(h))).transpose(1, 2)
        xt = self.conv_norm(xt + h)
        # (3) object self-attention over the Q slots of each frame
        xo = xt.reshape(b, q, t, c).permute(0, 2, 1, 3).reshape(b * t, q, c)
        xo = self.object_norm(self.object_attn(xo))
        # (4) cross-attention to the same frame's segmenter queries
        mem = memory.reshape(b * t, memory.size(2), c)
        xo = self.cross_norm(
            self.cross_attn(query=xo,
                            key=mem,
                            value=mem,
                            key_padding_mask=key_padding_mask))
        # (5) FFN
        xo = self.ffn_norm(self.ffn(xo))
        return xo.reshape(b, t, q, c)


@MODELS.register_module()
class TemporalRefiner(BaseModule):
    """DVIS++-style temporal refiner with Object Masked Attention.

    Args:
        num_classes (int): ``K``; class logits have ``K+1`` entries.
        embed_dims (int): ``C`` of slots and segmenter queries.
        num_layers (int): refiner layers (6 in DVIS/DVIS++).
        num_heads (int): attention heads.
        feedforward_channels (int): FFN hidden size.
        mask_dims (int): channels ``Cm`` of the mask features.
        oma_drop_prob (float): probability of dropping a background key in
            training (the paper's drop ratio ``d``/``gamma``, best 0.5);
            0 disables OMA.
        oma_rule (str): foreground/background rule, see
            :func:`oma_background`.
        oma_thr (float): its threshold (0.6 in the paper).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int = 256,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 mask_dims: int = 256,
                 oma_drop_prob: float = 0.5,
                 oma_rule: str = 'no_object_prob',
                 oma_thr: float = 0.6,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if oma_rule not in OMA_RULES:
            raise ValueError(
                f'oma_rule must be one of {OMA_RULES}, got {oma_rule!r}')
        if not 0. <= oma_drop_prob <= 1.:
            raise ValueError('oma_drop_prob must be in [0, 1]')
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.oma_drop_prob = oma_drop_prob
        self.oma_rule = oma_rule
        self.oma_thr = oma_thr
        self.layers = ModuleList([
            _RefinerLayer(embed_dims, num_heads, feedforward_channels)
            for _ in range(num_layers)
        ])
        # heads, shared by all layers
        self.decoder_norm = nn.LayerNorm(embed_dims)
        self.mask_embed = MLP(embed_dims, embed_dims, mask_dims, 3)
        self.activation_proj = nn.Linear(embed_dims, 1)
        self.class_embed = nn.Linear(embed_dims, num_classes + 1)

    # ------------------------------------------------------------------ OMA
    def oma_key_padding_mask(
            self,
            background: Tensor,
            fg_score: Tensor,
            generator: Optional[torch.Generator] = None) -> Optional[Tensor]:
        """Draw one OMA key mask.

        Args:
            background (Tensor): bool ``(N, Q')``, one row per frame.
            fg_score (Tensor): ``(N, Q')``, higher = more foreground; the
                argmax of a row is re-admitted if the row would be empty.
            generator (torch.Generator, optional): RNG; default the global
                torch RNG.

        Returns:
            Tensor | None: bool ``(N, Q')`` (True = dropped), None in eval
            mode or with ``oma_drop_prob == 0``.
        """
        if not self.training or self.oma_drop_prob <= 0:
            return None
        u = torch.rand(background.shape,
                       generator=generator,
                       device=background.device)
        drop = background & (u < self.oma_drop_prob)
        empty = drop.all(-1)
        if empty.any():
            keep = F.one_hot(fg_score.argmax(-1), background.size(-1)).bool()
            drop = drop & ~(keep & empty[:, None])
        return drop

    # -------------------------------------------------------------- forward
    def predict_heads(self, x: Tensor,
                      mask_features: Tensor) -> Tuple[Tensor, Tensor]:
        """x ``(B, T, Q, C)``, mask_features ``(B, T, Cm, H, W)`` ->
        class logits ``(B, Q, K+1)``, masks ``(B, Q, T, H, W)``."""
        normed = self.decoder_norm(x)
        mask_embed = self.mask_embed(normed)  # (B, T, Q, Cm)
        masks = torch.einsum('btqc,btchw->bqthw', mask_embed, mask_features)
        weights = self.activation_proj(normed).softmax(dim=1)  # over T
        video_embed = (normed * weights).sum(dim=1)  # (B, Q, C)
        return self.class_embed(video_embed), masks

    def forward(
        self,
        slots: Tensor,
        seg_queries: Tensor,
        mask_features: Tensor,
        seg_logits: Tensor,
        generator: Optional[torch.Generator] = None
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Refine the tracker's slots.

        Args:
            slots (Tensor): ``(B, T, Q, C)`` aligned tracker embeddings.
            seg_queries (Tensor): ``(B, T, Q', C)`` each frame's segmenter
                queries (cross-attention memory).
            mask_features (Tensor): ``(B, T, Cm, H, W)``.
            seg_logits (Tensor): ``(B, T, Q', K+1)`` segmenter class logits
                (only used by OMA in training).
            generator (torch.Generator, optional): RNG for OMA.

        Returns:
            tuple[list[Tensor], list[Tensor]]: per layer, the video-level
            class logits ``(B, Q, K+1)`` and masks ``(B, Q, T, H, W)``.
        """
        b, t, q_seg = seg_queries.shape[:3]
        background = fg_score = None
        if self.training and self.oma_drop_prob > 0:
            flat_logits = seg_logits.detach().reshape(b * t, q_seg, -1)
            background = oma_background(flat_logits, self.oma_rule,
                                        self.oma_thr)
            # re-admission order: lowest no-object probability first
            fg_score = -flat_logits.float().softmax(-1)[..., -1]
        x = slots
        all_cls, all_masks = [], []
        for layer in self.layers:
            kpm = None
            if background is not None:
                kpm = self.oma_key_padding_mask(background, fg_score,
                                                generator)
            x = layer(x, seg_queries, kpm)
            cls, masks = self.predict_heads(x, mask_features)
            all_cls.append(cls)
            all_masks.append(masks)
        return all_cls, all_masks
