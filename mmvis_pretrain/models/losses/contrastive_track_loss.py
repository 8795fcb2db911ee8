"""Spatio-temporal contrastive loss on query embeddings (CTVIS / STC style).

The re-identification embeddings of the queries of a clip are trained so that
a query matched to GT instance ``k`` in frame ``t`` (the *anchor* ``a``) is
closer, by dot product, to the query matched to ``k`` in another frame ``t'``
(the *positive* ``p``) than to every other query of ``t'`` (the *negatives*
``n``: queries matched to other instances and unmatched queries)::

    L(a)     = log(1 + sum_p sum_n exp(a.n - a.p))                 (raw dots)
    L_aux(a) = mean_{keys k of t'} (cos(a, k) - y_k)^2,   y_p = 1, y_n = 0

This is the multi-positive "log(1 + sum exp)" form of IDOL / CTVIS (a
pair-wise softplus, not InfoNCE). It is evaluated stably as::

    sum_p sum_n exp(a.n - a.p) = exp(LSE_n(a.n) + LSE_p(-a.p))
    L(a) = softplus(LSE_n(a.n) + LSE_p(-a.p))

so no ``(Q, Q, Q)`` tensor is built.

Which frame pairs ``(t -> t')`` supply anchors (``t``) and keys (``t'``):

* ``frame_pairs='adjacent'``: ``(t, t + 1)``; with ``bidirectional=True``
  also ``(t + 1, t)``: the key -> reference and reference -> key directions of
  STC's bi-directional contrastive learning.
* ``frame_pairs='all'``: every pair of distinct frames. With
  ``bidirectional=True`` both ordered pairs ``(t, t')`` and ``(t', t)`` (all
  ``T (T - 1)`` ordered pairs); with ``bidirectional=False`` only the forward
  ones ``t < t'`` (``T (T - 1) / 2`` pairs), so for a 2-frame clip
  ``'all'`` and ``'adjacent'`` are the same thing and ``bidirectional``
  doubles the anchors by adding the reverse direction.

The loss is not symmetric in ``(t, t')`` (the anchor's own frame supplies no
keys), so the reverse direction is a different term, not a repetition.

An optional ``anchor_mask (N, T, Q)`` restricts which queries may be anchors
(their keys are unchanged): DVIS++'s loss on the tracker's references takes
as anchors only the slots matched to a ground truth in frames ``t >= 1``,
with every slot of the neighbouring frames as keys (the same slot positive).

Both terms are averaged over every anchor of every used frame pair of every
clip (one common mean, as CTVIS divides by its number of contrastive items),
then multiplied by ``loss_weight`` / ``aux_loss_weight`` (CTVIS: 2 and 3).
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS

# Fill value for masked entries of a log-sum-exp: finite (so that no
# ``inf - inf`` can reach the gradient), small enough that exp() underflows.
_MASKED = -1e9


def frame_pair_indices(num_frames: int, frame_pairs: str,
                       bidirectional: bool) -> List[Tuple[int, int]]:
    """Ordered ``(anchor frame, key frame)`` pairs of a clip of ``T`` frames.

    Args:
        num_frames (int): ``T``.
        frame_pairs (str): ``'all'`` or ``'adjacent'`` (see the module doc).
        bidirectional (bool): Add the reverse direction of every pair.

    Returns:
        list[tuple[int, int]]: e.g. ``T=3, 'adjacent', True`` ->
        ``[(0, 1), (1, 0), (1, 2), (2, 1)]``; empty when ``T < 2``.
    """
    if frame_pairs == 'adjacent':
        forward = [(t, t + 1) for t in range(num_frames - 1)]
    elif frame_pairs == 'all':
        forward = [(t, u) for t in range(num_frames)
                   for u in range(t + 1, num_frames)]
    else:
        raise ValueError(f"frame_pairs must be 'all' or 'adjacent', "
                         f'got {frame_pairs!r}')
    if not bidirectional:
        return forward
    pairs = []
    for t, u in forward:
        pairs += [(t, u), (u, t)]
    return pairs


@MODELS.register_module()
class ContrastiveTrackLoss(nn.Module):
    """Bi-directional spatio-temporal contrastive loss of query embeddings.

    Args:
        frame_pairs (str): ``'all'`` (every pair of distinct frames) or
            ``'adjacent'`` (consecutive frames). Defaults to ``'all'``.
        bidirectional (bool): Use both directions ``t -> t'`` and
            ``t' -> t`` of each pair (STC). Defaults to True.
        loss_weight (float): Weight of the contrastive term (CTVIS
            ``REID_WEIGHT``). Defaults to 2.0.
        aux_loss_weight (float): Weight of the cosine auxiliary term (CTVIS
            ``AUX_REID_WEIGHT``). Defaults to 3.0.

    Shapes:
        - embeds: ``(N, T, Q, C)`` query embeddings of ``N`` clips of ``T``
          frames with ``Q`` queries each (any float dtype; the loss is
          computed in float32 with autocast disabled).
        - instance_ids: ``(N, T, Q)`` long: the GT instance id the query was
          matched to in that frame (ids consistent across a clip's frames),
          ``-1`` for an unmatched query.
        - output: ``dict(loss_track=(), loss_track_aux=())`` scalars.
    """

    def __init__(self,
                 frame_pairs: str = 'all',
                 bidirectional: bool = True,
                 loss_weight: float = 2.0,
                 aux_loss_weight: float = 3.0) -> None:
        super().__init__()
        frame_pair_indices(2, frame_pairs, bidirectional)  # validates
        self.frame_pairs = frame_pairs
        self.bidirectional = bidirectional
        self.loss_weight = loss_weight
        self.aux_loss_weight = aux_loss_weight

    def extra_repr(self) -> str:
        return (f'frame_pairs={self.frame_pairs!r}, '
                f'bidirectional={self.bidirectional}, '
                f'loss_weight={self.loss_weight}, '
                f'aux_loss_weight={self.aux_loss_weight}')

    def forward(self,
                embeds: Tensor,
                instance_ids: Tensor,
                anchor_mask: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the weighted contrastive and auxiliary losses.

        Args:
            embeds (Tensor): ``(N, T, Q, C)`` query embeddings.
            instance_ids (Tensor): ``(N, T, Q)`` matched GT ids, -1 = none.
            anchor_mask (Tensor, optional): ``(N, T, Q)`` bool, the queries
                allowed as anchors (default: every query with an id).

        Returns:
            dict[str, Tensor]: ``loss_track`` (``loss_weight`` times the mean
            of ``L(a)``) and ``loss_track_aux`` (``aux_loss_weight`` times the
            mean of ``L_aux(a)``). Both are a zero that still depends on
            ``embeds`` when there is no anchor (``T == 1``, no instance seen
            in two frames, no matched query).
        """
        if embeds.dim() != 4:
            raise ValueError('ContrastiveTrackLoss: embeds must be (N, T, Q, '
                             f'C), got shape {tuple(embeds.shape)}')
        if tuple(instance_ids.shape) != tuple(embeds.shape[:3]):
            raise ValueError(
                'ContrastiveTrackLoss: instance_ids must be (N, T, Q) = '
                f'{tuple(embeds.shape[:3])}, got {tuple(instance_ids.shape)}')
        if anchor_mask is not None and \
                tuple(anchor_mask.shape) != tuple(embeds.shape[:3]):
            raise ValueError(
                'ContrastiveTrackLoss: anchor_mask must be (N, T, Q) = '
                f'{tuple(embeds.shape[:3])}, got {tuple(anchor_mask.shape)}')
        device_type = embeds.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            loss, aux = self._losses(
                embeds.float(),
                instance_ids.to(embeds.device).long(),
                None if anchor_mask is None else anchor_mask.to(
                    embeds.device).bool())
        return dict(
            loss_track=loss * self.loss_weight,
            loss_track_aux=aux * self.aux_loss_weight)

    def _losses(self, embeds: Tensor, ids: Tensor,
                anchor_mask: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor]:
        """Unweighted mean ``L`` and ``L_aux`` (float32 ``embeds``)."""
        zero = embeds.sum() * 0.
        pairs = frame_pair_indices(embeds.shape[1], self.frame_pairs,
                                   self.bidirectional)
        if not pairs:
            return zero, zero
        src = embeds.new_tensor([p[0] for p in pairs], dtype=torch.long)
        dst = embeds.new_tensor([p[1] for p in pairs], dtype=torch.long)
        anchors, keys = embeds[:, src], embeds[:, dst]  # (N, P, Q, C)
        anchor_ids, key_ids = ids[:, src], ids[:, dst]  # (N, P, Q)

        # positive[n, p, i, j]: query j of the key frame has anchor i's id.
        positive = ((anchor_ids[..., :, None] == key_ids[..., None, :])
                    & (anchor_ids[..., :, None] >= 0))  # (N, P, Q, Q)
        if anchor_mask is not None:
            positive = positive & anchor_mask[:, src][..., None]
        is_anchor = positive.any(-1)  # (N, P, Q)
        num_anchors = int(is_anchor.sum())
        if num_anchors == 0:
            return zero, zero

        dots = torch.einsum('npqc,npkc->npqk', anchors, keys)
        lse_neg = dots.masked_fill(positive, _MASKED).logsumexp(-1)
        lse_pos = (-dots).masked_fill(~positive, _MASKED).logsumexp(-1)
        per_anchor = F.softplus(lse_neg + lse_pos)  # (N, P, Q)
        loss = per_anchor[is_anchor].sum() / num_anchors

        cos = torch.einsum('npqc,npkc->npqk', F.normalize(anchors, dim=-1),
                           F.normalize(keys, dim=-1))
        sq_err = (cos - positive.float()).pow(2).mean(-1)  # (N, P, Q)
        aux = sq_err[is_anchor].sum() / num_anchors
        return loss, aux
