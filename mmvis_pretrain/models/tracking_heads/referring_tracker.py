"""DVIS / DVIS++'s referring tracker (stage 2 of decoupled VIS).

The tracker turns the per-frame queries of a frozen segmenter into ``Q``
track slots that keep one identity through a video (slot ``k`` is the same
object in every frame). For every frame:

1. **slot alignment**: the frame's segmenter queries are re-ordered into
   the slots by a Hungarian matching on the cosine similarity of their
   embeddings with the previous frame's aligned embeddings (never on the
   ground truth, in training neither);
2. **denoising** (DVIS++, training only, frames ``t > 0``, each clip-frame
   with probability ``noise_ratio``): the aligned initialisation is
   replaced by a corrupted one (``'wa'``: each slot a random blend
   ``w s_k + (1 - w) s_perm(k)`` of two native-order queries; ``'rs'``: a
   random permutation), so the tracker must recover identities from its
   reference;
3. ``num_layers`` layers, each: **referring cross-attention**
   ``LN(identity + MHA(query=reference, key=value=frame queries))`` (the
   residual is the identity -- layer 0: the aligned frame queries, later:
   the previous layer's output -- not the attention query), self-attention
   over the slots, FFN (post-norm, dropout 0, no positional encodings);
   the reference is ``ref_proj`` of the previous frame's output (DVIS++;
   DVIS: the output itself), on the first frame ``ref_proj`` of the
   current identity;
4. heads after every layer: masks ``MLP(norm(x)) . proj(mask features)``
   and class logits (DVIS++: ``Linear([reference ; norm(x)])``, DVIS:
   ``Linear(norm(x))``).

Training loss (:meth:`ReferringTracker.loss`): the first-appearance
consistent matching of every clip (:class:`~mmvis_pretrain.models.
task_modules.FirstAppearanceMatcher`), computed on the frozen segmenter's
predictions re-ordered into the slots ("guided") during the first part of
training, then on each layer's own predictions; CE / BCE / dice per frame
on every layer (:class:`~mmvis_pretrain.models.losses.SetMaskLoss`) and
the contrastive loss on the references (DVIS++ ``loss_reid``: slot ``k``
at frame ``t`` against slot ``k`` at ``t - 1`` / ``t + 1``). See
``docs/decoupled_vis.md``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

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
from ..trackers.base_vis_tracker import BaseVISTracker

VARIANTS = ('dvis++', 'dvis')
NOISE_MODES = ('wa', 'rs')


class ReferringCrossAttention(BaseModule):
    """``LN(identity + MHA(query, key, value=key))``.

    mmcv's ``MultiheadAttention`` adds ``identity`` (not the query) when it
    is given: exactly the referring wiring; the LayerNorm follows
    (post-norm).
    """

    def __init__(self, embed_dims: int, num_heads: int) -> None:
        super().__init__()
        self.attn = MultiheadAttention(embed_dims, num_heads,
                                       batch_first=True)
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, identity: Tensor, query: Tensor, key: Tensor) -> Tensor:
        """identity, query ``(B, Q, C)``; key ``(B, Q', C)``."""
        return self.norm(
            self.attn(query=query, key=key, value=key, identity=identity))


class _ReferringLayer(BaseModule):
    """Referring cross-attention -> slot self-attention -> FFN."""

    def __init__(self, embed_dims: int, num_heads: int,
                 feedforward_channels: int) -> None:
        super().__init__()
        self.cross_attn = ReferringCrossAttention(embed_dims, num_heads)
        self.self_attn = MultiheadAttention(embed_dims, num_heads,
                                            batch_first=True)
        self.self_norm = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims, feedforward_channels, num_fcs=2,
                       ffn_drop=0., add_identity=True)
        self.ffn_norm = nn.LayerNorm(embed_dims)

    def forward(self, identity: Tensor, query: Tensor, key: Tensor) -> Tensor:
        x = self.cross_attn(identity, query, key)
        x = self.self_norm(self.self_attn(x))
        return self.ffn_norm(self.ffn(x))


def gather_slots(x: Tensor, index: Tensor) -> Tensor:
    """``x[b, index[b, k]]``: x ``(B, Q, ...)``, index ``(B, Q)`` long."""
    expand = index.view(*index.shape, *([1] * (x.dim() - 2)))
    return x.gather(1, expand.expand(-1, -1, *x.shape[2:]))


@MODELS.register_module()
class ReferringTracker(BaseModule, BaseVISTracker):
    """DVIS / DVIS++ referring tracker.

    A learned module (trained in stage 2) and the package's online tracker
    interface (:class:`BaseVISTracker`: :meth:`reset`, :meth:`track`,
    :attr:`track_ids` = the ``Q`` slots, per-track payloads).

    Args:
        num_classes (int): ``K`` (logits have ``K + 1`` entries).
        embed_dims (int): hidden size ``C`` = the dimension of the segmenter
            queries it reads (DVIS++: last-layer query + re-id embedding,
            2 x 256 = 512 at R50; DVIS: 256).
        num_layers (int): tracker layers (6).
        num_heads (int): attention heads (8).
        feedforward_channels (int): FFN hidden size (2048).
        mask_dims (int): channels of the segmenter's mask features (256).
        variant (str): ``'dvis++'`` (reference projection, class head on
            ``[reference ; output]``, denoising available) or ``'dvis'``.
        noise_ratio (float): probability that a clip-frame ``t > 0`` is
            denoised in training (DVIS++ 0.5 for 40k-iteration schedules,
            0.8 for the long ones); 0 disables it.
        noise_mode (str): ``'wa'`` (weighted average, all DVIS++ configs) or
            ``'rs'`` (random shuffle).
        loss (dict): the set loss (``SetMaskLoss``; ``num_classes`` is
            filled in).
        matcher (dict): the clip matcher (``FirstAppearanceMatcher``).
        loss_reid (dict, optional): contrastive loss on the references,
            called as ``loss_reid(refs (N, T, Q, C), slot ids (N, T, Q),
            anchor_mask=...)``; default DVIS++'s: anchors = the slots matched
            to a ground truth present in frame ``t >= 1``, keys = all slots
            of frames ``t - 1`` and ``t + 1`` (adjacent pairs, both
            directions), weight 2, the cosine term off as DVIS++ drops it.
            None: no re-id loss.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int = 512,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 mask_dims: int = 256,
                 variant: str = 'dvis++',
                 noise_ratio: float = 0.5,
                 noise_mode: str = 'wa',
                 loss: dict = dict(type='SetMaskLoss'),
                 matcher: dict = dict(type='FirstAppearanceMatcher'),
                 loss_reid: Optional[dict] = dict(
                     type='ContrastiveTrackLoss',
                     frame_pairs='adjacent',
                     bidirectional=True,
                     loss_weight=2.0,
                     aux_loss_weight=0.),
                 init_cfg: Optional[dict] = None) -> None:
        BaseModule.__init__(self, init_cfg=init_cfg)
        BaseVISTracker.__init__(self)
        if variant not in VARIANTS:
            raise ValueError(f'variant must be one of {VARIANTS}, got '
                             f'{variant!r}')
        if noise_mode not in NOISE_MODES:
            raise ValueError(f'noise_mode must be one of {NOISE_MODES}, got '
                             f'{noise_mode!r}')
        if not 0. <= noise_ratio <= 1.:
            raise ValueError(f'noise_ratio must be in [0, 1], got '
                             f'{noise_ratio}')
        if variant == 'dvis' and noise_ratio > 0:
            raise ValueError("the 'dvis' variant has no denoising: set "
                             'noise_ratio=0 (DVIS++ introduced it)')
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.variant = variant
        self.noise_ratio = noise_ratio
        self.noise_mode = noise_mode
        self.layers = ModuleList([
            _ReferringLayer(embed_dims, num_heads, feedforward_channels)
            for _ in range(num_layers)
        ])
        self.decoder_norm = nn.LayerNorm(embed_dims)
        self.mask_embed = MLP(embed_dims, embed_dims, mask_dims, 3)
        self.mask_feature_proj = nn.Conv2d(mask_dims, mask_dims, 1)
        if variant == 'dvis++':
            self.ref_proj = MLP(embed_dims, embed_dims, embed_dims, 3)
            self.class_embed = nn.Linear(2 * embed_dims, num_classes + 1)
        else:
            self.ref_proj = None
            self.class_embed = nn.Linear(embed_dims, num_classes + 1)
        self.loss_set = MODELS.build(dict(loss, num_classes=num_classes))
        self.matcher = TASK_UTILS.build(matcher)
        self.loss_reid = MODELS.build(loss_reid) if loss_reid else None
        self.reset()

    # ------------------------------------------------------------- helpers
    def reference(self, x: Tensor) -> Tensor:
        """The attention query made of slot features ``(B, Q, C)``."""
        return self.ref_proj(x) if self.ref_proj is not None else x

    @staticmethod
    def align(prev_embeds: Tensor, embeds: Tensor) -> Tensor:
        """Hungarian slot alignment on ``1 - cosine``.

        Args:
            prev_embeds (Tensor): ``(B, Q, E)`` the previous frame's
                aligned embeddings (slot order).
            embeds (Tensor): ``(B, Q, E)`` this frame's, native order.

        Returns:
            Tensor: ``(B, Q)`` long: slot ``k`` takes query
            ``index[b, k]``.
        """
        # in float32 whatever the autocast context (scipy needs it, and a
        # half-precision cosine would blur close candidates)
        with torch.autocast(device_type=embeds.device.type, enabled=False):
            sim = torch.einsum('bqe,bke->bqk',
                               F.normalize(prev_embeds.float(), dim=-1),
                               F.normalize(embeds.float(), dim=-1))
        cost = (1 - sim).detach().float().cpu().numpy()
        index = torch.empty(embeds.shape[:2], dtype=torch.long)
        for b in range(len(cost)):
            rows, cols = linear_sum_assignment(cost[b])
            index[b, torch.as_tensor(rows)] = torch.as_tensor(cols)
        return index.to(embeds.device)

    def denoise_init(self, queries: Tensor, init: Tensor, index: Tensor,
                     generator: Optional[torch.Generator] = None
                     ) -> Tuple[Tensor, Tensor]:
        """Corrupt the aligned initialisation of some clips (DVIS++ noiser).

        Args:
            queries (Tensor): ``(B, Q, C)`` native-order frame queries.
            init (Tensor): ``(B, Q, C)`` the aligned ones.
            index (Tensor): ``(B, Q)`` the alignment.
            generator (torch.Generator, optional): RNG (CPU).

        Returns:
            tuple[Tensor, Tensor]: the initialisation and the source index
            ``(B, Q)`` of every slot (``'wa'``: the query with the larger
            weight), the alignment for the clips left clean.
        """
        B, Q = index.shape
        device = queries.device
        perm = torch.stack([torch.randperm(Q, generator=generator)
                            for _ in range(B)]).to(device)
        shuffled = gather_slots(queries, perm)
        if self.noise_mode == 'wa':
            w = torch.rand((B, Q, 1), generator=generator).to(queries)
            noised = w * queries + (1 - w) * shuffled
            source = torch.where(w[..., 0] < 0.5, perm,
                                 torch.arange(Q, device=device).expand(B, Q))
        else:  # 'rs'
            noised, source = shuffled, perm
        apply = (torch.rand(B, generator=generator) <
                 self.noise_ratio).to(device)
        init = torch.where(apply[:, None, None], noised, init)
        return init, torch.where(apply[:, None], source, index)

    def predict_heads(self, x: Tensor, reference: Tensor,
                      mask_features: Tensor) -> Tuple[Tensor, Tensor]:
        """x, reference ``(B, Q, C)``; mask_features ``(B, Cm, h, w)``
        (already projected) -> class logits ``(B, Q, K + 1)``, mask logits
        ``(B, Q, h, w)``."""
        normed = self.decoder_norm(x)
        masks = torch.einsum('bqc,bchw->bqhw', self.mask_embed(normed),
                             mask_features)
        return self.class_logits(x, reference, normed), masks

    def class_logits(self, x: Tensor, reference: Tensor,
                     normed: Optional[Tensor] = None) -> Tensor:
        """The class head alone: ``(B, Q, K + 1)``."""
        normed = self.decoder_norm(x) if normed is None else normed
        cls_in = (torch.cat([reference, normed], -1)
                  if self.variant == 'dvis++' else normed)
        return self.class_embed(cls_in)

    # ------------------------------------------------------------- forward
    def frame_forward(self,
                      queries: Tensor,
                      align_embeds: Tensor,
                      prev_out: Optional[Tensor] = None,
                      prev_align: Optional[Tensor] = None,
                      noise: bool = False,
                      generator: Optional[torch.Generator] = None
                      ) -> Dict[str, object]:
        """Track one frame.

        Args:
            queries (Tensor): ``(B, Q, C)`` the frame's segmenter queries
                (native order; keys and values of the referring attention).
            align_embeds (Tensor): ``(B, Q, E)`` their alignment embeddings.
            prev_out (Tensor, optional): ``(B, Q, C)`` the previous frame's
                last-layer output; None on the first frame.
            prev_align (Tensor, optional): ``(B, Q, E)`` the previous
                frame's aligned embeddings.
            noise (bool): apply the denoising corruption (training).
            generator (torch.Generator, optional): RNG of the noise.

        Returns:
            dict: ``outputs`` (per layer ``(B, Q, C)``), ``reference``
            ``(B, Q, C)``, ``source`` ``(B, Q)`` (the segmenter query of
            each slot), ``aligned_embeds`` ``(B, Q, E)`` (the alignment
            embeddings of the sources, for the next frame).
        """
        B, Q = queries.shape[:2]
        if prev_out is None:
            index = torch.arange(Q, device=queries.device).expand(B, Q)
        else:
            index = self.align(prev_align, align_embeds)
        init = gather_slots(queries, index)
        source = index
        if noise and prev_out is not None and self.noise_ratio > 0:
            init, source = self.denoise_init(queries, init, index, generator)
        # the next frame aligns to this frame's embeddings in slot order by
        # the slots' sources (DVIS++: after a denoised frame, the noise's
        # source indices, not the discarded Hungarian alignment)
        aligned_embeds = gather_slots(align_embeds, source)
        reference = None if prev_out is None else self.reference(prev_out)
        x, outputs = init, []
        for layer in self.layers:
            query = reference
            if prev_out is None:  # first frame: refer to the current slots
                query = self.reference(x)
                reference = query if reference is None else reference
            x = layer(identity=x, query=query, key=queries)
            outputs.append(x)
        return dict(outputs=outputs, reference=reference, source=source,
                    aligned_embeds=aligned_embeds)

    def forward(self,
                queries: Tensor,
                align_embeds: Tensor,
                mask_features: Tensor,
                noise: bool = False,
                generator: Optional[torch.Generator] = None,
                last_layer_only: bool = False) -> Dict[str, object]:
        """Track the ``T`` frames of ``B`` clips (training / offline).

        Args:
            queries (Tensor): ``(B, T, Q, C)`` segmenter queries.
            align_embeds (Tensor): ``(B, T, Q, E)`` alignment embeddings.
            mask_features (Tensor): ``(B, T, Cm, h, w)``.
            noise (bool): denoising (training).
            generator (torch.Generator, optional): RNG of the noise.
            last_layer_only (bool): heads after the last layer only (a
                frozen tracker feeding the refiner needs no deep
                supervision); ``cls`` / ``masks`` then hold one entry.

        Returns:
            dict: ``cls`` and ``masks``: per layer ``(B, T, Q, K + 1)`` and
            ``(B, T, Q, h, w)`` logits; ``embeds`` ``(B, T, Q, C)`` the last
            layer's outputs (the refiner's input); ``references``
            ``(B, T, Q, C)``; ``sources`` ``(B, T, Q)`` long.
        """
        B, T = queries.shape[:2]
        prev_out = prev_align = None
        per_frame = []
        for t in range(T):
            out = self.frame_forward(queries[:, t], align_embeds[:, t],
                                     prev_out, prev_align, noise, generator)
            proj = self.mask_feature_proj(mask_features[:, t])
            layers = out['outputs'][-1:] if last_layer_only else \
                out['outputs']
            heads = [
                self.predict_heads(x, out['reference'], proj) for x in layers
            ]
            per_frame.append((out, heads))
            prev_out = out['outputs'][-1]
            prev_align = out['aligned_embeds']
        num_layers = len(per_frame[0][1])
        return dict(
            cls=[
                torch.stack([h[j][0] for _, h in per_frame], 1)
                for j in range(num_layers)
            ],
            masks=[
                torch.stack([h[j][1] for _, h in per_frame], 1)
                for j in range(num_layers)
            ],
            embeds=torch.stack([o['outputs'][-1] for o, _ in per_frame], 1),
            references=torch.stack([o['reference'] for o, _ in per_frame],
                                   1),
            sources=torch.stack([o['source'] for o, _ in per_frame], 1))

    # ----------------------------------------------------- online tracking
    def reset(self) -> None:
        """Forget the video (online state, payloads)."""
        BaseVISTracker.reset(self)
        self._prev_out: Optional[Tensor] = None
        self._prev_align: Optional[Tensor] = None

    @property
    def track_ids(self) -> List[int]:
        """The slots (every slot is a track for the whole video)."""
        return [] if self._prev_out is None else list(
            range(self._prev_out.shape[1]))

    @torch.no_grad()
    def track(self,
              queries: Tensor,
              align_embeds: Tensor,
              mask_features: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """One frame of a video, continuing the state since :meth:`reset`.

        Args:
            queries (Tensor): ``(1, Q, C)``; align_embeds ``(1, Q, E)``;
            mask_features (Tensor, optional): ``(1, Cm, h, w)``; None: no
                masks (offline inference, where the refiner makes them).

        Returns:
            dict[str, Tensor]: ``cls`` ``(1, Q, K + 1)``, ``masks``
            ``(1, Q, h, w)`` logits of the last layer (None without mask
            features), ``embeds`` ``(1, Q, C)`` its output, ``sources``
            ``(1, Q)``.
        """
        out = self.frame_forward(queries, align_embeds, self._prev_out,
                                 self._prev_align)
        x = out['outputs'][-1]
        if mask_features is None:
            cls, masks = self.class_logits(x, out['reference']), None
        else:
            cls, masks = self.predict_heads(
                x, out['reference'], self.mask_feature_proj(mask_features))
        self._prev_out, self._prev_align = x, out['aligned_embeds']
        return dict(cls=cls, masks=masks, embeds=x, sources=out['source'])

    # ---------------------------------------------------------------- loss
    def clip_targets(self, assignment: Dict[int, int],
                     frames: Sequence[InstanceData], num_slots: int
                     ) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """Per-frame targets of one clip from its slot assignment.

        A slot matched to instance ``g`` is supervised with ``g``'s class
        and mask in the frames where ``g`` is present and as no-object
        where it is absent; other slots are no-object.

        Returns:
            tuple: labels ``(T, Q)``, positive ``(T, Q)`` bool, the mask
            targets in ``positive.nonzero()`` order.
        """
        T = len(frames)
        device = frames[0].labels.device
        labels = torch.full((T, num_slots), self.num_classes,
                            dtype=torch.long, device=device)
        positive = torch.zeros((T, num_slots), dtype=torch.bool,
                               device=device)
        targets = {}
        for t, gt in enumerate(frames):
            for j, inst in enumerate(gt.instances_ids.tolist()):
                slot = assignment.get(int(inst))
                if slot is None:
                    continue
                labels[t, slot] = gt.labels[j]
                positive[t, slot] = True
                targets[(t, slot)] = gt.masks[j]
        masks = [targets[(t, q)] for t, q in sorted(targets)]
        return labels, positive, masks

    def match(self, cls: Tensor, masks: Tensor,
              gts: Sequence[Sequence[InstanceData]]) -> List[Dict[int, int]]:
        """First-appearance matching of each clip: cls ``(B, T, Q, K+1)``,
        masks ``(B, T, Q, h, w)``."""
        return [
            self.matcher(cls[b], masks[b], [f.labels for f in clip],
                         [f.masks for f in clip],
                         [f.instances_ids for f in clip])
            for b, clip in enumerate(gts)
        ]

    def loss(self,
             out: Dict[str, object],
             gts: Sequence[Sequence[InstanceData]],
             guide: Optional[Tuple[Tensor, Tensor]] = None
             ) -> Dict[str, Tensor]:
        """Losses of a training clip batch.

        Args:
            out (dict): :meth:`forward`'s output.
            gts (Sequence[Sequence[InstanceData]]): per clip, per frame
                ``labels`` ``(G,)``, ``masks`` ``(G, H, W)`` tensors and
                ``instances_ids`` ``(G,)``.
            guide (tuple[Tensor, Tensor], optional): ``(cls, masks)`` of the
                frozen segmenter re-ordered into the slots, ``(B, T, Q, K+1)``
                and ``(B, T, Q, h, w)``: guided matching, used for all
                layers. None: each layer is matched on its own predictions.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_mask``, ``loss_dice``
            (last layer) and ``d{j}.*`` (earlier layers); ``loss_reid``.
        """
        num_layers = len(out['cls'])
        B, T, Q = out['cls'][0].shape[:3]
        guided = self.match(*guide, gts) if guide is not None else None
        losses, layer_terms, last_positive = {}, {}, None
        for layer in range(num_layers):
            cls, masks = out['cls'][layer], out['masks'][layer]
            assignment = guided or self.match(cls.detach(), masks.detach(),
                                              gts)
            labels, positive, targets = [], [], []
            for b in range(B):
                lab, pos, tgt = self.clip_targets(assignment[b], gts[b], Q)
                labels.append(lab)
                positive.append(pos)
                targets += tgt
            mask_targets = (torch.stack(targets) if targets else
                            masks.new_zeros((0, 1, 1)))
            last_positive = torch.stack(positive)  # (B, T, Q)
            layer_terms[layer] = dict(
                zip(('loss_cls', 'loss_mask', 'loss_dice'),
                    self.loss_set(cls.flatten(0, 1), masks.flatten(0, 1),
                                  torch.stack(labels).flatten(0, 1),
                                  torch.stack(positive).flatten(0, 1),
                                  mask_targets)))
        for layer, name, key in layer_loss_names(num_layers):
            losses[key] = layer_terms[layer][name]
        if self.loss_reid is not None:
            # DVIS++: anchors = the slots matched (last layer's assignment)
            # in frames t >= 1; keys = every slot of frames t - 1 and t + 1,
            # the same slot the positive
            refs = out['references']
            slot_ids = torch.arange(Q, device=refs.device).expand(B, T, Q)
            anchors = last_positive.clone()
            anchors[:, 0] = False
            reid = self.loss_reid(refs, slot_ids, anchor_mask=anchors)
            losses['loss_reid'] = reid['loss_track']
            if getattr(self.loss_reid, 'aux_loss_weight', 0):
                losses['loss_reid_aux'] = reid['loss_track_aux']
        return losses
