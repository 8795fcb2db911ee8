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
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmdet.models.layers import MLP
from mmengine.model import BaseModule, ModuleList
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS, TASK_UTILS
from ..losses.set_mask_loss import layer_loss_names

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
        loss (dict): the set loss (``SetMaskLoss``, ``num_classes`` filled
            in), applied to the video-level logits and the ``T``-frame
            masks (points sampled ``T`` times as many, as DVIS).
        match_cost (dict): the video-level matching cost
            (``MaskMatchCost``; ``T`` times its points as well).
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
                 loss: dict = dict(type='SetMaskLoss'),
                 match_cost: dict = dict(type='MaskMatchCost'),
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
        self.loss_set = MODELS.build(dict(loss, num_classes=num_classes))
        self.match_cost = TASK_UTILS.build(match_cost)

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
    def class_statistics(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """The softmax-over-time pooling of the class head, in a form that
        merges across chunks of a video (:meth:`merge_class_statistics`).

        Args:
            x (Tensor): ``(B, T, Q, C)`` slot features.

        Returns:
            tuple[Tensor, Tensor]: ``logsumexp`` over ``T`` of the
            activation logits ``(B, Q)`` and the weighted mean of the normed
            slot features ``(B, Q, C)``.
        """
        normed = self.decoder_norm(x)
        act = self.activation_proj(normed)[..., 0]  # (B, T, Q)
        weights = act.softmax(dim=1)
        return act.logsumexp(dim=1), (normed * weights[..., None]).sum(1)

    @staticmethod
    def merge_class_statistics(a: Tuple[Tensor, Tensor],
                               b: Tuple[Tensor, Tensor]
                               ) -> Tuple[Tensor, Tensor]:
        """The statistics of two chunks as if pooled over both (exact)."""
        lse = torch.logaddexp(a[0], b[0])
        mean = ((a[0] - lse).exp()[..., None] * a[1] +
                (b[0] - lse).exp()[..., None] * b[1])
        return lse, mean

    def predict_heads(self, x: Tensor,
                      mask_features: Tensor) -> Tuple[Tensor, Tensor]:
        """x ``(B, T, Q, C)``, mask_features ``(B, T, Cm, H, W)`` ->
        class logits ``(B, Q, K+1)``, masks ``(B, Q, T, H, W)``."""
        normed = self.decoder_norm(x)
        mask_embed = self.mask_embed(normed)  # (B, T, Q, Cm)
        masks = torch.einsum('btqc,btchw->bqthw', mask_embed, mask_features)
        _, video_embed = self.class_statistics(x)  # (B, Q, C)
        return self.class_embed(video_embed), masks

    def forward(
        self,
        slots: Tensor,
        seg_queries: Tensor,
        mask_features: Tensor,
        seg_logits: Tensor,
        generator: Optional[torch.Generator] = None,
        return_features: bool = False):
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
            tuple[list[Tensor], list[Tensor]]: per layer (in eval mode the
            last layer only), the video-level class logits ``(B, Q, K+1)``
            and masks ``(B, Q, T, H, W)``;
            with ``return_features`` also the last layer's slot features
            ``(B, T, Q, C)`` (for chunked inference).
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
        for j, layer in enumerate(self.layers):
            kpm = None
            if background is not None:
                kpm = self.oma_key_padding_mask(background, fg_score,
                                                generator)
            x = layer(x, seg_queries, kpm)
            if not self.training and j < len(self.layers) - 1:
                continue  # deep supervision only: eval predicts once
            cls, masks = self.predict_heads(x, mask_features)
            all_cls.append(cls)
            all_masks.append(masks)
        if return_features:
            return all_cls, all_masks, x
        return all_cls, all_masks

    # ---------------------------------------------------------------- loss
    @staticmethod
    def video_targets(frames: Sequence[InstanceData]
                      ) -> Tuple[Tensor, Tensor]:
        """The instances of a clip as video targets.

        Args:
            frames (Sequence[InstanceData]): ``T`` frames with ``labels``,
                ``masks`` ``(G_t, H, W)`` and ``instances_ids``.

        Returns:
            tuple[Tensor, Tensor]: labels ``(G,)`` (an id's label at its
            first frame) and masks ``(G, T, H, W)`` (empty where the
            instance is absent), ids in order of first appearance.
        """
        order, labels, index = [], [], {}
        for gt in frames:
            for j, inst in enumerate(gt.instances_ids.tolist()):
                if int(inst) not in index:
                    index[int(inst)] = len(order)
                    order.append(int(inst))
                    labels.append(gt.labels[j])
        H, W = frames[0].masks.shape[-2:]
        masks = frames[0].masks.new_zeros((len(order), len(frames), H, W))
        for t, gt in enumerate(frames):
            for j, inst in enumerate(gt.instances_ids.tolist()):
                masks[index[int(inst)], t] = gt.masks[j]
        device = frames[0].labels.device
        labels = (torch.stack(labels) if labels else torch.zeros(
            0, dtype=torch.long, device=device))
        return labels.long(), masks

    def match_video(self, cls: Tensor, masks: Tensor, gt_labels: Tensor,
                    gt_masks: Tensor) -> Tuple[Tensor, Tensor]:
        """Video-level Hungarian matching of one clip: cls ``(Q, K+1)``,
        masks ``(Q, T, h, w)``, targets ``(G,)`` / ``(G, T, H, W)``; the
        ``T`` frames are stacked into one ``(T*h, w)`` map as DVIS does.
        Returns the matched (slot, target) index pairs."""
        T = masks.shape[1]
        cost = self.match_cost(cls, masks.flatten(1, 2), gt_labels,
                               gt_masks.flatten(1, 2),
                               num_points=self.match_cost.num_points * T)
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        return torch.as_tensor(rows), torch.as_tensor(cols)

    def loss(self,
             cls_list: Sequence[Tensor],
             masks_list: Sequence[Tensor],
             gts: Sequence[Sequence[InstanceData]],
             guide: Optional[Tuple[Tensor, Tensor]] = None
             ) -> Dict[str, Tensor]:
        """Video-level Hungarian losses on every layer.

        Args:
            cls_list, masks_list: :meth:`forward`'s outputs.
            gts: per clip, per frame ``labels``, ``masks`` ``(G, H, W)``,
                ``instances_ids``.
            guide (tuple[Tensor, Tensor], optional): ``(cls (B, Q, K+1),
                masks (B, Q, T, h, w))`` of the frozen tracker (its
                ``T``-mean logits and masks): guided matching for all
                layers (DVIS, first half of training). None: each layer is
                matched on its own predictions.

        Returns:
            dict[str, Tensor]: ``loss_cls/mask/dice`` and ``d{j}.*``.
        """
        targets = [self.video_targets(clip) for clip in gts]
        num_layers = len(cls_list)
        guided = None
        if guide is not None:
            guided = [
                self.match_video(guide[0][b], guide[1][b], *targets[b])
                for b in range(len(gts))
            ]
        terms = {}
        for layer in range(num_layers):
            cls, masks = cls_list[layer], masks_list[layer]
            B, Q, T = masks.shape[:3]
            labels = torch.full((B, Q), self.num_classes, dtype=torch.long,
                                device=cls.device)
            positive = torch.zeros((B, Q), dtype=torch.bool,
                                   device=cls.device)
            mask_targets = []
            for b in range(B):
                rows, cols = guided[b] if guided else self.match_video(
                    cls[b].detach(), masks[b].detach(), *targets[b])
                order = rows.argsort()
                rows, cols = rows[order], cols[order]
                labels[b, rows] = targets[b][0][cols]
                positive[b, rows] = True
                mask_targets += list(targets[b][1][cols].flatten(1, 2))
            stacked = (torch.stack(mask_targets) if mask_targets else
                       masks.new_zeros((0, 1, 1)))
            terms[layer] = dict(
                zip(('loss_cls', 'loss_mask', 'loss_dice'),
                    self.loss_set(cls, masks.flatten(2, 3), labels, positive,
                                  stacked,
                                  num_points=self.loss_set.num_points * T)))
        return {
            key: terms[layer][name]
            for layer, name, key in layer_loss_names(num_layers)
        }

