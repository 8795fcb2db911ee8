"""STC's tracking-embedding head: a dense embedding per FPN location, trained
with the bi-directional spatio-temporal contrastive loss.

STC (Jiang et al., "STC: Spatio-Temporal Contrastive Learning for Video
Instance Segmentation") adds a tracking head to CondInst next to its
classification / box / controller towers. :class:`STCTrackHead` is that head:
a tower of ``num_convs`` 3x3 conv + norm + ReLU layers, shared by the FPN
levels as FCOS's towers are, and a 3x3 conv to ``embed_channels``. Every
location of every level gets an embedding (raw, not normalised: the
contrastive loss and the tracker use dot products).

Training samples (per frame, :meth:`STCTrackHead.sample_frame`), built on
CondInst's own label assignment (the positive locations of FCOS's center
sampling, ``pos_inds`` / ``pos_assigned_gt_inds`` of
``CondInstBboxHead.get_positive_infos``):

* positives: for each GT instance, up to ``max_pos_per_instance`` of its
  positive locations drawn at random, labelled with the instance's track id
  (``gt_instances.instances_ids``, consistent across a clip's frames); at
  most ``int(num_samples * pos_fraction)`` positives per frame in all (with
  more instances than that, a random subset of instances, one location
  each);
* negatives: background locations (not positive for any instance, inside
  the unpadded image) drawn at random, labelled -1, filling the frame up to
  exactly ``num_samples`` entries. Every frame therefore has the same ``Q``
  and no padding is needed: padded entries would count as negatives in
  :class:`~mmvis_pretrain.models.losses.ContrastiveTrackLoss`.

The ``(N, T, Q, C)`` embeddings and ``(N, T, Q)`` ids of the ``N`` clips go
to :class:`~mmvis_pretrain.models.losses.ContrastiveTrackLoss`: an anchor in
frame ``t`` is pulled to the same instance's samples in frame ``t'`` and
pushed from every other sample of ``t'`` (other instances and background),
in both directions ``t -> t'`` and ``t' -> t`` (bi-directional).

At inference, :meth:`STCTrackHead.flat_indices` maps detections (CondInst's
``points`` / ``strides`` after NMS) back to their locations and
:meth:`STCTrackHead.gather` reads any dense map (embeddings, class scores)
there.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS


@MODELS.register_module()
class STCTrackHead(BaseModule):
    """Dense tracking-embedding head of STC (see the module docstring).

    Args:
        in_channels (int): FPN channels. Defaults to 256.
        feat_channels (int): Tower channels. Defaults to 256.
        embed_channels (int): Embedding size ``C``. Defaults to 256.
        num_convs (int): Tower depth (CondInst's towers: 4). Defaults to 4.
        strides (Sequence[int]): FPN strides, as the box head's. Defaults to
            ``(8, 16, 32, 64, 128)``.
        prior_offset (float): Offset of the location grid, as the box head's
            ``MlvlPointGenerator`` (mmdet's anchor-free heads: 0.5).
        conv_cfg (dict, optional): Tower conv config.
        norm_cfg (dict, optional): Tower norm (GN 32 groups as CondInst).
        num_samples (int): ``Q``, samples per frame. Defaults to 128.
        max_pos_per_instance (int): Positive locations per instance and
            frame. Defaults to 8.
        pos_fraction (float): At most this fraction of ``Q`` is positive.
            Defaults to 0.5.
        loss_track (dict): The contrastive loss (bi-directional
            ``ContrastiveTrackLoss``).
        init_cfg (dict): Normal(0, 0.01) on the convs, as FCOS's towers.

    Shapes:
        - forward: FPN levels ``(B, in_channels, H_l, W_l)`` ->
          ``(B, embed_channels, H_l, W_l)`` per level.
        - loss: ``N * T`` frames (clip-major) -> ``loss_track``,
          ``loss_track_aux``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 256,
                 embed_channels: int = 256,
                 num_convs: int = 4,
                 strides: Sequence[int] = (8, 16, 32, 64, 128),
                 prior_offset: float = 0.5,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = dict(
                     type='GN', num_groups=32, requires_grad=True),
                 num_samples: int = 128,
                 max_pos_per_instance: int = 8,
                 pos_fraction: float = 0.5,
                 loss_track: ConfigType = dict(
                     type='ContrastiveTrackLoss',
                     frame_pairs='all',
                     bidirectional=True,
                     loss_weight=2.0,
                     aux_loss_weight=3.0),
                 init_cfg: OptMultiConfig = dict(
                     type='Normal', layer='Conv2d', std=0.01)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_samples < 2:
            raise ValueError(f'num_samples must be >= 2, got {num_samples}')
        if max_pos_per_instance < 1:
            raise ValueError('max_pos_per_instance must be >= 1, got '
                             f'{max_pos_per_instance}')
        if not 0 < pos_fraction < 1:
            raise ValueError(f'pos_fraction must be in (0, 1), got '
                             f'{pos_fraction}')
        self.in_channels = in_channels
        self.embed_channels = embed_channels
        self.strides = [int(s) for s in strides]
        self.prior_offset = prior_offset
        self.num_samples = num_samples
        self.max_pos_per_instance = max_pos_per_instance
        self.pos_fraction = pos_fraction
        self.prior_generator = MlvlPointGenerator(
            self.strides, offset=prior_offset)
        tower = []
        for i in range(num_convs):
            tower.append(
                ConvModule(
                    in_channels if i == 0 else feat_channels,
                    feat_channels,
                    3,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    bias=norm_cfg is None))
        self.tower = nn.Sequential(*tower)
        self.conv_embed = nn.Conv2d(
            feat_channels if num_convs else in_channels, embed_channels, 3,
            padding=1)
        self.loss_track = MODELS.build(loss_track)

    # ------------------------------------------------------------- forward
    def forward(self, x: Sequence[Tensor]) -> List[Tensor]:
        """Embeddings of every FPN level.

        Args:
            x (Sequence[Tensor]): ``(B, in_channels, H_l, W_l)`` per level.

        Returns:
            list[Tensor]: ``(B, embed_channels, H_l, W_l)`` per level.
        """
        if len(x) != len(self.strides):
            raise ValueError(f'STCTrackHead: {len(x)} feature levels for '
                             f'{len(self.strides)} strides {self.strides}')
        return [self.conv_embed(self.tower(feat)) for feat in x]

    # ---------------------------------------------------------- locations
    @staticmethod
    def gather(maps: Sequence[Tensor], img_idx: int,
               flat_inds: Tensor) -> Tensor:
        """Values of dense per-level maps at flat location indices.

        Args:
            maps (Sequence[Tensor]): ``(B, C, H_l, W_l)`` per level.
            img_idx (int): The image of the batch.
            flat_inds (Tensor): ``(M,)`` long indices into the image's
                locations flattened level by level, row-major within a
                level (the order of mmdet's point generators and of the
                anchor-free heads' ``pos_inds``).

        Returns:
            Tensor: ``(M, C)``.
        """
        flat = torch.cat([m[img_idx].flatten(1) for m in maps], dim=1)
        return flat[:, flat_inds.long()].t()

    def flat_indices(self, points: Tensor, strides: Tensor,
                     featmap_sizes: Sequence[Tuple[int, int]]) -> Tensor:
        """Flat location index of each ``(point, stride)`` of a detection.

        Args:
            points (Tensor): ``(M, 2)`` location centres ``(x, y)`` in input
                pixels (``(col + prior_offset) * stride``).
            strides (Tensor): ``(M,)`` the level's stride of each point.
            featmap_sizes (Sequence[tuple]): ``(H_l, W_l)`` per level.

        Returns:
            Tensor: ``(M,)`` long indices, as :meth:`gather` takes them.
        """
        device = points.device
        level_strides = torch.tensor(self.strides, device=device)
        match = strides.reshape(-1, 1).round().long() == level_strides[None]
        known = match.any(1)
        level = match.float().argmax(1)
        if not bool(known.all()):
            raise ValueError(
                f'STCTrackHead: detection strides '
                f'{sorted(set(strides[~known].tolist()))} are not among the '
                f'head strides {self.strides}')
        sizes = torch.tensor([list(s) for s in featmap_sizes],
                             device=device).long()
        starts = torch.cat(
            [sizes.new_zeros(1), (sizes[:, 0] * sizes[:, 1]).cumsum(0)[:-1]])
        stride = level_strides[level].to(points.dtype)
        col = (points[:, 0] / stride - self.prior_offset).round().long()
        row = (points[:, 1] / stride - self.prior_offset).round().long()
        height, width = sizes[level, 0], sizes[level, 1]
        if bool(((col < 0) | (col >= width) | (row < 0)
                 | (row >= height)).any()):
            raise ValueError('STCTrackHead: a detection point lies outside '
                             'its feature map')
        return starts[level] + row * width + col

    # ------------------------------------------------------------ sampling
    def sample_frame(self, pos_inds: Tensor, pos_ids: Tensor,
                     valid: Tensor) -> Tuple[Tensor, Tensor]:
        """Choose the ``Q = num_samples`` contrastive samples of one frame.

        Args:
            pos_inds (Tensor): ``(P,)`` flat indices of the positive
                locations.
            pos_ids (Tensor): ``(P,)`` track id of the instance each
                positive location is assigned to.
            valid (Tensor): ``(L,)`` bool over all locations: inside the
                unpadded image (background candidates).

        Returns:
            tuple[Tensor, Tensor]: ``(Q,)`` flat location indices (positives
            first) and ``(Q,)`` long ids (-1 for background).
        """
        device = valid.device
        pos_inds = pos_inds.to(device).long()
        pos_ids = pos_ids.to(device).long()
        budget = max(1, int(self.num_samples * self.pos_fraction))
        inds, ids = [], []
        instances = torch.unique(pos_ids)
        if instances.numel():
            if instances.numel() > budget:
                instances = instances[torch.randperm(
                    instances.numel(), device=device)[:budget]]
            per_inst = min(self.max_pos_per_instance,
                           max(1, budget // instances.numel()))
            for inst in instances:
                cand = pos_inds[pos_ids == inst]
                cand = cand[torch.randperm(cand.numel(),
                                           device=device)[:per_inst]]
                inds.append(cand)
                ids.append(torch.full_like(cand, int(inst)))
        num_bg = self.num_samples - sum(i.numel() for i in inds)
        background = valid.clone()
        background[pos_inds] = False
        bg = background.nonzero(as_tuple=True)[0]
        if bg.numel() == 0:
            raise ValueError(
                'STCTrackHead: a frame has no background location to '
                'sample negatives from (every location is positive or '
                'outside the image)')
        if bg.numel() >= num_bg:
            bg = bg[torch.randperm(bg.numel(), device=device)[:num_bg]]
        else:  # tiny frames: repeat background locations
            bg = bg[torch.randint(bg.numel(), (num_bg, ), device=device)]
        inds.append(bg)
        ids.append(torch.full_like(bg, -1))
        return torch.cat(inds), torch.cat(ids)

    # ---------------------------------------------------------------- loss
    def loss(self, x: Sequence[Tensor], positive_infos: InstanceList,
             batch_gt_instances: InstanceList, batch_img_metas: List[dict],
             num_frames: int) -> Dict[str, Tensor]:
        """Forward and contrastive loss; see :meth:`loss_by_feat`."""
        return self.loss_by_feat(
            self(x), positive_infos, batch_gt_instances, batch_img_metas,
            num_frames)

    def loss_by_feat(self, embed_maps: Sequence[Tensor],
                     positive_infos: InstanceList,
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     num_frames: int) -> Dict[str, Tensor]:
        """Bi-directional spatio-temporal contrastive loss of a batch of
        clips.

        Args:
            embed_maps (Sequence[Tensor]): :meth:`forward` output for the
                ``B = N * T`` frames, clip-major (the ``T`` frames of clip 0,
                then clip 1, ...).
            positive_infos (list[InstanceData]): per frame, CondInst's
                ``pos_inds`` (flat location indices) and
                ``pos_assigned_gt_inds`` (indices into the frame's GT).
            batch_gt_instances (list[InstanceData]): per frame, with
                ``instances_ids``.
            batch_img_metas (list[dict]): per frame, with ``img_shape``.
            num_frames (int): ``T``.

        Returns:
            dict[str, Tensor]: ``loss_track`` and ``loss_track_aux``.
        """
        num_imgs = embed_maps[0].size(0)
        if num_frames < 1 or num_imgs % num_frames:
            raise ValueError(f'STCTrackHead: {num_imgs} frames do not form '
                             f'clips of {num_frames} frames')
        if not len(positive_infos) == len(batch_gt_instances) == \
                len(batch_img_metas) == num_imgs:
            raise ValueError(
                f'STCTrackHead: {num_imgs} frames but '
                f'{len(positive_infos)} positive infos, '
                f'{len(batch_gt_instances)} GT sets and '
                f'{len(batch_img_metas)} metas')
        device = embed_maps[0].device
        featmap_sizes = [tuple(m.shape[-2:]) for m in embed_maps]
        points = torch.cat(
            self.prior_generator.grid_priors(featmap_sizes, device=device))
        embeds, ids = [], []
        for i in range(num_imgs):
            gt, info, meta = batch_gt_instances[i], positive_infos[i], \
                batch_img_metas[i]
            if 'instances_ids' not in gt:
                raise KeyError(
                    'STCTrackHead: gt_instances need `instances_ids` '
                    f"(frame {meta.get('img_path', i)}); pack clips with "
                    'PackTrackInputs')
            inst_ids = gt.instances_ids.to(device).long()
            pos_ids = inst_ids[info.pos_assigned_gt_inds.to(device).long()]
            img_h, img_w = meta['img_shape'][:2]
            valid = (points[:, 0] < img_w) & (points[:, 1] < img_h)
            inds, frame_ids = self.sample_frame(info.pos_inds, pos_ids, valid)
            embeds.append(self.gather(embed_maps, i, inds))
            ids.append(frame_ids)
        num_clips = num_imgs // num_frames
        embeds = torch.stack(embeds).view(num_clips, num_frames,
                                          self.num_samples, -1)
        ids = torch.stack(ids).view(num_clips, num_frames, self.num_samples)
        return self.loss_track(embeds, ids)

    # ----------------------------------------------------------- inference
    def predict_embeds(self, embed_maps: Sequence[Tensor], img_idx: int,
                       points: Tensor,
                       strides: Tensor) -> Tuple[Tensor, Tensor]:
        """Embeddings of detections given by their CondInst locations.

        Args:
            embed_maps (Sequence[Tensor]): :meth:`forward` output.
            img_idx (int): The image of the batch.
            points (Tensor): ``(M, 2)`` detection points.
            strides (Tensor): ``(M,)`` their strides.

        Returns:
            tuple[Tensor, Tensor]: ``(M, embed_channels)`` embeddings and the
            ``(M,)`` flat location indices.
        """
        featmap_sizes = [tuple(m.shape[-2:]) for m in embed_maps]
        inds = self.flat_indices(points, strides, featmap_sizes)
        return self.gather(embed_maps, img_idx, inds), inds


__all__ = ['STCTrackHead']
