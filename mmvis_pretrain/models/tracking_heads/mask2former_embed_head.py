"""Mask2Former head with a re-identification embedding on its queries.

:class:`Mask2FormerEmbedHead` is mmdet's :class:`Mask2FormerHead` (same
modules, same parameter names, so a checkpoint of the image / pseudo-video
pre-trained head loads into it unchanged) plus:

* ``embed_head``: an MLP on the last decoder layer's (post-normed) query
  features ``(B, Q, C) -> (B, Q, E)``, the tracking embedding of CTVIS;
* ``loss_track``: a contrastive loss (e.g. :class:`ContrastiveTrackLoss`) on
  the embeddings of the queries that the Hungarian matching of the last
  decoder layer assigned to the same instance id in different frames of a
  clip.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import Mask2FormerHead
from mmdet.models.layers import MLP
from mmdet.structures import DetDataSample
from mmdet.utils import OptConfigType
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils.config_check import (accepted_arguments,
                                               close_matches)


@MODELS.register_module()
class Mask2FormerEmbedHead(Mask2FormerHead):
    """Mask2Former head that also returns tracking embeddings of its queries.

    Args:
        embed_dims (int): dimension ``E`` of the tracking embedding.
            Defaults to 256.
        num_embed_layers (int): layers of the embedding MLP (CTVIS: 3).
        loss_track (dict, optional): the tracking loss, called as
            ``loss_track(embeds (N, T, Q, E), instance_ids (N, T, Q))``
            and returning a dict of losses. None: no tracking loss.
        **kwargs: the arguments of mmdet's :class:`Mask2FormerHead`.
            Keys that no ``__init__`` of its MRO names raise a
            ``TypeError`` (``Mask2FormerHead`` drops unknown keys silently:
            ``num_querys=5`` would build a 100-query head).
    """

    def __init__(self,
                 *args,
                 embed_dims: int = 256,
                 num_embed_layers: int = 3,
                 loss_track: OptConfigType = dict(
                     type='ContrastiveTrackLoss'),
                 **kwargs) -> None:
        accepted = accepted_arguments(Mask2FormerEmbedHead)
        for key in kwargs:
            if accepted is not None and key not in accepted:
                matches = close_matches(key, accepted)
                hint = f"; did you mean '{matches[0]}'?" if matches else ''
                raise TypeError(f'{type(self).__name__} got an unexpected '
                                f"keyword argument '{key}'{hint}")
        super().__init__(*args, **kwargs)
        feat_channels = self.query_feat.embedding_dim
        self.embed_head = MLP(feat_channels, feat_channels, embed_dims,
                              num_embed_layers)
        self.loss_track = (MODELS.build(loss_track)
                           if loss_track is not None else None)
        # filled by _forward_head / _get_targets_single during one call of
        # forward_with_embeds / loss_with_embeds (mmdet's forward and loss
        # don't return the query features nor the assignment; re-implementing
        # its 80-line decoder loop to get them would fork mmdet's code)
        self._last_queries: Optional[Tensor] = None
        self._last_raw_queries: Optional[Tensor] = None
        self._mask_feature: Optional[Tensor] = None
        self._assignments: Optional[List] = None

    # ------------------------------------------------------------- forward
    def _forward_head(self, decoder_out: Tensor, mask_feature: Tensor,
                      attn_mask_target_size: Tuple[int, int]
                      ) -> Tuple[Tensor, Tensor, Tensor]:
        """mmdet's per-layer prediction; also keeps the raw and the
        post-normed query features ``(B, Q, C)`` of the latest decoder layer
        and the mask features ``(B, C, h, w)`` (for :meth:`forward_export`)."""
        self._last_raw_queries = decoder_out
        self._mask_feature = mask_feature
        self._last_queries = self.transformer_decoder.post_norm(decoder_out)
        return super()._forward_head(decoder_out, mask_feature,
                                     attn_mask_target_size)

    def forward_with_embeds(
            self, x: Sequence[Tensor], batch_data_samples: List[DetDataSample]
    ) -> Tuple[List[Tensor], List[Tensor], Tensor]:
        """Mask2Former's outputs and the tracking embeddings.

        Args:
            x (Sequence[Tensor]): multi-scale features, each ``(B, C_l, H_l,
                W_l)`` for ``B`` frames.
            batch_data_samples (list[DetDataSample]): ``B`` frame samples.

        Returns:
            tuple: ``cls_pred_list`` (per decoder layer ``(B, Q, K + 1)``),
            ``mask_pred_list`` (per layer ``(B, Q, h, w)``) and ``embeds``
            ``(B, Q, E)`` from the last decoder layer's queries.
        """
        cls_list, mask_list = self(x, batch_data_samples)
        embeds = self.embed_head(self._last_queries)
        self._clear_stash()
        return cls_list, mask_list, embeds

    def _clear_stash(self) -> None:
        self._last_queries = None
        self._last_raw_queries = None
        self._mask_feature = None

    def forward_export(self, x: Sequence[Tensor],
                       batch_data_samples: List[DetDataSample]
                       ) -> Dict[str, Tensor]:
        """What the decoupled stages (``ReferringTracker``,
        ``TemporalRefiner``) need of every frame (DVIS++ stage-1 exports).

        Runs exactly the computation of :meth:`forward_with_embeds` (same
        outputs), and returns besides its last-layer predictions the query
        features and the mask features.

        Args:
            x (Sequence[Tensor]): multi-scale features of ``B`` frames.
            batch_data_samples (list[DetDataSample]): ``B`` frame samples.

        Returns:
            dict[str, Tensor]: ``cls_logits`` ``(B, Q, K + 1)`` and
            ``mask_logits`` ``(B, Q, h, w)`` of the last decoder layer;
            ``queries`` ``(B, Q, C)`` the raw last-layer queries (DVIS++'s
            ``pred_embds_without_norm``), ``queries_normed`` ``(B, Q, C)``
            the decoder-normed ones (``pred_embds``), ``embeds``
            ``(B, Q, E)`` the re-id embeddings; ``mask_features``
            ``(B, C, h, w)`` the pixel decoder's mask features.
        """
        cls_list, mask_list = self(x, batch_data_samples)
        out = dict(
            cls_logits=cls_list[-1],
            mask_logits=mask_list[-1],
            queries=self._last_raw_queries,
            queries_normed=self._last_queries,
            embeds=self.embed_head(self._last_queries),
            mask_features=self._mask_feature)
        self._clear_stash()
        return out

    # ---------------------------------------------------------------- loss
    def _get_targets_single(self, cls_score: Tensor, mask_pred: Tensor,
                            gt_instances, img_meta: dict) -> tuple:
        """mmdet's target computation; records the sampling result (which
        query got which ground truth) while :meth:`loss_with_embeds` runs."""
        targets = super()._get_targets_single(cls_score, mask_pred,
                                              gt_instances, img_meta)
        if self._assignments is not None:
            self._assignments.append(targets[-1])
        return targets

    def loss_with_embeds(self, x: Sequence[Tensor],
                         batch_data_samples: List[DetDataSample],
                         num_frames: int) -> Dict[str, Tensor]:
        """Mask2Former's per-frame losses plus the tracking loss.

        Args:
            x (Sequence[Tensor]): multi-scale features of ``B = N * T``
                frames, clip-major (the ``T`` frames of a clip consecutive).
            batch_data_samples (list[DetDataSample]): the ``B`` frame samples,
                each with ``gt_instances`` carrying ``labels``, ``masks`` and
                ``instances_ids`` (consistent within a clip).
            num_frames (int): ``T``.

        Returns:
            dict[str, Tensor]: mmdet's ``loss_cls``/``loss_mask``/
            ``loss_dice`` (and ``d{i}.`` per decoder layer) plus the tracking
            losses.
        """
        B = len(batch_data_samples)
        if B % num_frames:
            raise ValueError(f'{B} frame samples are not whole clips of '
                             f'{num_frames} frames')
        metas = [s.metainfo for s in batch_data_samples]
        gts = [s.gt_instances for s in batch_data_samples]
        cls_list, mask_list, embeds = self.forward_with_embeds(
            x, batch_data_samples)
        gts_for_loss = self.preprocess_gt(gts, [None] * B)
        self._assignments = []
        try:
            losses = self.loss_by_feat(cls_list, mask_list, gts_for_loss,
                                       metas)
            # the last decoder layer's B assignments come last
            last_layer = self._assignments[-B:]
        finally:
            self._assignments = None
        if self.loss_track is None:
            return losses
        ids = self.matched_instance_ids(last_layer, gts, embeds.shape[1])
        Q, E = embeds.shape[1:]
        losses.update(
            self.loss_track(
                embeds.view(-1, num_frames, Q, E),
                ids.view(-1, num_frames, Q)))
        return losses

    @staticmethod
    def matched_instance_ids(sampling_results: Sequence, gts: Sequence,
                             num_queries: int) -> Tensor:
        """``(B, Q)`` long: the ``instances_ids`` of the ground truth each
        query was matched to, ``-1`` for unmatched queries."""
        rows = []
        for result, gt in zip(sampling_results, gts):
            row = torch.full((num_queries, ), -1, dtype=torch.long,
                             device=result.pos_inds.device)
            if len(result.pos_inds):
                if 'instances_ids' not in gt:
                    raise KeyError(
                        'gt_instances lack `instances_ids`: the tracking '
                        'loss needs clips packed by PackTrackInputs')
                ids = torch.as_tensor(gt.instances_ids, device=row.device)
                row[result.pos_inds] = ids[result.pos_assigned_gt_inds].long()
            rows.append(row)
        return torch.stack(rows)


__all__ = ['Mask2FormerEmbedHead']
