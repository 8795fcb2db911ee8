"""STMask's prediction head: mmdet's YOLACT head with FCA, FCB and a track
embedding branch (STMask sec. 3.1, sec. 3.2 "tracking branch").

Per FPN level (shared across levels, as YOLACT):

* ``num_head_convs`` shared 3x3 convs (YOLACT), then optionally
  ``num_branch_convs`` 3x3 convs of its own per branch (box / class /
  coefficients / track);
* **FCA** (sec. 3.1.1): one prediction convolution per kernel shape in
  ``kernel_sizes`` (default 3x3, 3x5, 5x3, paddings (1, 1), (1, 2), (2, 1)),
  each predicting the ``S`` anchors of its own footprint (see
  :class:`~mmvis_pretrain.models.task_modules.FCAAnchorGenerator`). With
  ``kernel_sizes=((3, 3),)`` and mmdet's ``AnchorGenerator`` (ratios 0.5, 1,
  2) the head is the YOLACT baseline of table 4;
* **FCB** (sec. 3.1.2): per kernel, the box deltas are predicted first; the
  class / coefficient / track predictions of the same kernel go through a
  :class:`~mmvis_pretrain.models.layers.FeatureCalibration` whose mode is
  set per branch by ``fcb=dict(cls=..., coeff=..., track=...)`` (None,
  ``'adaptive'`` or ``'aligned'``);
* a **track embedding** per anchor (``track_channels``, 128), L2-normalised,
  trained on pairs of frames of a video with a binary cross-entropy on the
  rescaled cosine similarity ``(cos + 1) / 2``: 1 for anchors of the same
  instance, 0 otherwise (:meth:`STMaskHead.loss_track`, weight 5).

Outputs per level (``A = K * S`` anchors, ``C`` classes with background for
the softmax classifier, ``P`` prototypes, ``E`` embedding channels)::

    cls_score (N, A * C, H, W), bbox_pred (N, A * 4, H, W),
    coeff_pred (N, A * P, H, W) in [-1, 1] (tanh),
    track_pred (N, A * E, H, W) unit vectors per anchor (or None)

Training reuses YOLACT's anchor assignment and OHEM losses (mmdet's
``YOLACTHead.loss_by_feat``). Inference decodes, keeps ``nms_pre`` anchors
per level, and runs YOLACT's fast NMS, class-agnostic by default
(``test_cfg.cross_class_nms``), carrying the coefficients and embeddings of
the kept boxes.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import YOLACTHead
from mmdet.models.layers import fast_nms
from mmdet.models.utils import multi_apply, select_single_mlvl
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.config import ConfigDict
from mmengine.model import ModuleList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmvis_pretrain.registry import MODELS, TASK_UTILS
from ..task_modules.prior_generators.fca_anchor_generator import (
    FCA_KERNELS, _as_kernel_sizes)
from ..layers.feature_calibration import FCB_MODES, FeatureCalibration

BRANCHES = ('cls', 'coeff', 'track')


@MODELS.register_module()
class STMaskHead(YOLACTHead):
    """YOLACT head with FCA kernels, FCB branches and track embeddings.

    Args:
        num_classes (int): foreground classes.
        in_channels (int): FPN channels.
        feat_channels (int): channels of the head convs. Defaults to 256.
        anchor_generator (dict): prior generator; FCA uses
            ``FCAAnchorGenerator`` with the same ``kernel_sizes``.
        kernel_sizes (sequence[tuple[int, int]], optional): ``(h, w)`` of
            the prediction kernels; defaults to the generator's
            ``kernel_sizes`` when it has them, else ``((3, 3),)``. The
            generator's anchors per position must be a multiple of their
            number.
        fcb (dict): FCB mode per branch, keys ``cls``, ``coeff``, ``track``,
            values None / ``'adaptive'`` / ``'aligned'``. Defaults to all
            None (no FCB).
        with_track (bool): predict track embeddings. Defaults to True.
        track_channels (int): embedding size. Defaults to 128.
        loss_track_weight (float): weight of the embedding loss (5).
        track_max_pos_per_img (int): positives per frame used by the
            embedding loss (random subset). Defaults to 64.
        num_branch_convs (int): 3x3 conv + ReLU layers per branch after the
            shared ones. Defaults to 0.
        deform_groups (int): offset groups of the FCB deformable convs.
        **kwargs: the arguments of mmdet's ``YOLACTHead`` (``loss_cls``,
            ``loss_bbox``, ``bbox_coder``, ``num_head_convs``, ``num_protos``,
            ``use_ohem``, ``train_cfg``, ``test_cfg``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 feat_channels: int = 256,
                 anchor_generator: ConfigType = dict(
                     type='mmvis_pretrain.FCAAnchorGenerator',
                     strides=[8, 16, 32, 64, 128],
                     kernel_sizes=FCA_KERNELS),
                 kernel_sizes: Optional[Sequence[Tuple[int, int]]] = None,
                 fcb: Optional[Dict[str, Optional[str]]] = None,
                 with_track: bool = True,
                 track_channels: int = 128,
                 loss_track_weight: float = 5.0,
                 track_max_pos_per_img: int = 64,
                 num_branch_convs: int = 0,
                 deform_groups: int = 1,
                 **kwargs) -> None:
        fcb = dict(fcb or {})
        unknown = set(fcb) - set(BRANCHES)
        if unknown:
            raise ValueError(f'fcb keys must be among {BRANCHES}, got '
                             f'{sorted(unknown)}')
        for branch in BRANCHES:
            fcb.setdefault(branch, None)
            if fcb[branch] not in FCB_MODES:
                raise ValueError(f'fcb[{branch!r}] must be one of '
                                 f'{FCB_MODES}, got {fcb[branch]!r}')
        # resolved against the anchor generator in _init_layers
        self.kernel_sizes = None if kernel_sizes is None else \
            _as_kernel_sizes(kernel_sizes)
        # mmdet's AnchorHead builds the generator from mmdet's registry:
        # name ours with its scope so that it is found without a default
        # scope too
        gen_type = anchor_generator.get('type')
        if isinstance(gen_type, str) and '.' not in gen_type and \
                gen_type in TASK_UTILS.module_dict:
            anchor_generator = dict(
                anchor_generator, type=f'{TASK_UTILS.scope}.{gen_type}')
        self.fcb = fcb
        self.with_track = with_track
        self.track_channels = track_channels
        self.loss_track_weight = loss_track_weight
        self.track_max_pos_per_img = track_max_pos_per_img
        self.num_branch_convs = num_branch_convs
        self.deform_groups = deform_groups
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            feat_channels=feat_channels,
            anchor_generator=anchor_generator,
            **kwargs)

    # ------------------------------------------------------------- layers
    def _anchor_cells(self) -> List[Optional[Tuple[float, float]]]:
        """Anchor size in feature cells of each kernel's (single) anchor,
        the same at every level (needed by aligned FCB), else None."""
        gen = self.prior_generator
        if not hasattr(gen, 'anchor_cells') or self.anchors_per_kernel != 1:
            return [None] * len(self.kernel_sizes)
        cells = gen.anchor_cells(0)
        for level in range(1, gen.num_levels):
            other = gen.anchor_cells(level)
            if any(abs(a - b) > 1e-4 for c, o in zip(cells, other)
                   for a, b in zip(c, o)):
                return [None] * len(self.kernel_sizes)
        return cells

    def _init_layers(self) -> None:
        """Shared convs, per-branch convs, and per kernel: the box conv and
        the class / coefficient / track predictions (with FCB)."""
        gen_kernels = getattr(self.prior_generator, 'kernel_sizes', None)
        if self.kernel_sizes is None:
            self.kernel_sizes = list(gen_kernels or [(3, 3)])
        elif gen_kernels is not None and self.kernel_sizes != gen_kernels:
            raise ValueError(
                f'head kernel_sizes {self.kernel_sizes} differ from the '
                f'anchor generator kernel_sizes {gen_kernels}')
        num_kernels = len(self.kernel_sizes)
        if self.num_base_priors % num_kernels:
            raise ValueError(
                f'{self.num_base_priors} anchors per position cannot be '
                f'split over {num_kernels} kernels {self.kernel_sizes}')
        self.anchors_per_kernel = self.num_base_priors // num_kernels
        S = self.anchors_per_kernel
        # aligned FCB: the anchors' size in cells (None: kernel footprint)
        cells = self._anchor_cells()
        self.relu = nn.ReLU(inplace=True)
        self.head_convs = ModuleList()
        for i in range(self.num_head_convs):
            chn = self.in_channels if i == 0 else self.feat_channels
            self.head_convs.append(
                ConvModule(
                    chn,
                    self.feat_channels,
                    3,
                    padding=1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg))
        chn = self.feat_channels if self.num_head_convs else self.in_channels
        self.head_out_channels = chn

        def branch_convs():
            return ModuleList([
                ConvModule(
                    chn,
                    chn,
                    3,
                    padding=1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg)
                for _ in range(self.num_branch_convs)
            ])

        self.reg_convs = branch_convs()
        self.cls_convs = branch_convs()
        self.coeff_convs = branch_convs()
        self.track_convs = branch_convs() if self.with_track else None

        stds = tuple(getattr(self.bbox_coder, 'stds', (0.1, 0.1, 0.2, 0.2)))

        def fcb_module(out_per_anchor, mode, k):
            return FeatureCalibration(
                chn,
                S * out_per_anchor,
                self.kernel_sizes[k],
                mode=mode,
                num_anchors=S,
                anchor_cells=cells[k],
                target_stds=stds,
                deform_groups=self.deform_groups)

        self.conv_regs = ModuleList()
        self.fcb_cls = ModuleList()
        self.fcb_coeff = ModuleList()
        self.fcb_track = ModuleList() if self.with_track else None
        for k, (kh, kw) in enumerate(self.kernel_sizes):
            self.conv_regs.append(
                nn.Conv2d(chn, S * 4, (kh, kw), padding=(kh // 2, kw // 2)))
            self.fcb_cls.append(
                fcb_module(self.cls_out_channels, self.fcb['cls'], k))
            self.fcb_coeff.append(
                fcb_module(self.num_protos, self.fcb['coeff'], k))
            if self.with_track:
                self.fcb_track.append(
                    fcb_module(self.track_channels, self.fcb['track'], k))

    # ------------------------------------------------------------- forward
    @staticmethod
    def _run(convs: Optional[ModuleList], x: Tensor) -> Tensor:
        for conv in convs or ():
            x = conv(x)
        return x

    def forward_single(self, x: Tensor) -> tuple:
        """One FPN level.

        Args:
            x (Tensor): ``(N, in_channels, H, W)``.

        Returns:
            tuple: ``cls_score (N, A*C, H, W)``, ``bbox_pred (N, A*4, H,
            W)``, ``coeff_pred (N, A*P, H, W)`` and ``track_pred (N, A*E,
            H, W)`` (None without the track branch).
        """
        for head_conv in self.head_convs:
            x = head_conv(x)
        reg_x = self._run(self.reg_convs, x)
        cls_x = self._run(self.cls_convs, x)
        coeff_x = self._run(self.coeff_convs, x)
        track_x = self._run(self.track_convs, x) if self.with_track else None
        cls_scores, bbox_preds, coeff_preds, track_preds = [], [], [], []
        for k in range(len(self.kernel_sizes)):
            deltas = self.conv_regs[k](reg_x)
            bbox_preds.append(deltas)
            cls_scores.append(self.fcb_cls[k](cls_x, deltas))
            coeff_preds.append(self.fcb_coeff[k](coeff_x, deltas))
            if self.with_track:
                track_preds.append(self.fcb_track[k](track_x, deltas))
        cls_score = torch.cat(cls_scores, 1)
        bbox_pred = torch.cat(bbox_preds, 1)
        coeff_pred = torch.cat(coeff_preds, 1).tanh()
        track_pred = None
        if self.with_track:
            track_pred = torch.cat(track_preds, 1)
            n, _, h, w = track_pred.shape
            track_pred = F.normalize(
                track_pred.view(n, self.num_base_priors, self.track_channels,
                                h, w),
                dim=2).view(n, -1, h, w)
        return cls_score, bbox_pred, coeff_pred, track_pred

    # ---------------------------------------------------------------- loss
    def get_anchors(self,
                    featmap_sizes: List[tuple],
                    batch_img_metas: List[dict],
                    device='cuda') -> tuple:
        """Anchors of every image, all valid.

        YOLACT's OHEM stacks the targets of the images of a batch, which
        needs the same number of anchors per image; mmdet's valid flags
        (from each image's own ``pad_shape``) differ between frames of
        different sizes in a padded video batch. Anchors over the padding
        are kept as ordinary negatives instead.
        """
        anchor_list, valid_flag_list = super().get_anchors(
            featmap_sizes, batch_img_metas, device=device)
        valid_flag_list = [[torch.ones_like(f) for f in flags]
                           for flags in valid_flag_list]
        return anchor_list, valid_flag_list

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     coeff_preds: List[Tensor],
                     track_preds: List[Optional[Tensor]],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None
                     ) -> dict:
        """YOLACT's classification (OHEM) and box losses; keeps what
        :meth:`get_positive_infos` needs (coefficients, deltas,
        embeddings)."""
        losses = super().loss_by_feat(
            cls_scores,
            bbox_preds,
            coeff_preds,
            batch_gt_instances,
            batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)
        self._raw_positive_infos.update(
            bbox_preds=bbox_preds,
            track_preds=track_preds,
            img_metas=batch_img_metas)
        return losses

    def _flatten(self, preds: List[Tensor], channels: int) -> Tensor:
        """``[(N, A*c, H, W)]`` -> ``(N, sum(H*W*A), c)`` in prior order."""
        n = preds[0].size(0)
        return torch.cat([
            p.permute(0, 2, 3, 1).reshape(n, -1, channels) for p in preds
        ], 1)

    def get_positive_infos(self) -> InstanceList:
        """Positive anchors of each image of the last loss call.

        Returns:
            list[InstanceData]: per image, YOLACT's ``pos_assigned_gt_inds``,
            ``pos_inds``, ``coeffs (n, P)`` and ``bboxes`` (the assigned
            ground-truth boxes), plus ``priors (n, 4)``, ``pred_bboxes (n,
            4)`` (the decoded, detached regression, input pixels) and, with
            the track branch, ``track_embeds (n, E)``.
        """
        pos_infos = super().get_positive_infos()
        raw = self._raw_positive_infos
        sampling_results = raw['sampling_results']
        deltas = self._flatten(raw['bbox_preds'], 4)
        tracks = self._flatten(raw['track_preds'], self.track_channels) \
            if self.with_track else None
        for i, (info, res) in enumerate(zip(pos_infos, sampling_results)):
            info.priors = res.pos_priors
            img_shape = raw['img_metas'][i]['img_shape'][:2]
            info.pred_bboxes = self.bbox_coder.decode(
                res.pos_priors,
                deltas[i][res.pos_inds].detach(),
                max_shape=img_shape)
            if tracks is not None:
                info.track_embeds = tracks[i][res.pos_inds]
        return pos_infos

    def loss_track(self, positive_infos: InstanceList,
                   batch_gt_instances: InstanceList,
                   pairs: Sequence[Tuple[int, int]]) -> Dict[str, Tensor]:
        """Embedding loss over the positive anchors of frame pairs.

        For each pair ``(a, b)`` of image indices (two frames of a video),
        the embeddings of up to ``track_max_pos_per_img`` positives of each
        frame are pooled; every unordered pair of them gets the binary
        cross-entropy of ``(cos + 1) / 2`` against 1 (same instance id) or 0
        (different ids). Mean over pairs of anchors, then over frame pairs,
        times ``loss_track_weight``.

        Args:
            positive_infos (list[InstanceData]): from
                :meth:`get_positive_infos` (``track_embeds``,
                ``pos_assigned_gt_inds``).
            batch_gt_instances (list[InstanceData]): ground truth of the same
                images, with ``instances_ids``.
            pairs (sequence[tuple[int, int]]): image index pairs.

        Returns:
            dict[str, Tensor]: ``loss_track``.
        """
        if not self.with_track:
            return dict()
        losses = []
        for pair in pairs:
            embeds, ids = [], []
            for i in pair:
                info = positive_infos[i]
                emb = info.track_embeds
                inst_ids = batch_gt_instances[i].instances_ids.to(
                    emb.device)[info.pos_assigned_gt_inds]
                if emb.size(0) > self.track_max_pos_per_img:
                    keep = torch.randperm(
                        emb.size(0),
                        device=emb.device)[:self.track_max_pos_per_img]
                    emb, inst_ids = emb[keep], inst_ids[keep]
                embeds.append(emb)
                ids.append(inst_ids)
            emb = torch.cat(embeds)
            inst_ids = torch.cat(ids)
            n = emb.size(0)
            if n < 2:
                continue
            sim = ((emb @ emb.t() + 1) / 2).clamp(1e-6, 1 - 1e-6)
            same = (inst_ids[:, None] == inst_ids[None, :]).to(sim.dtype)
            iu = torch.triu_indices(n, n, 1, device=emb.device)
            losses.append(
                F.binary_cross_entropy(sim[iu[0], iu[1]], same[iu[0],
                                                               iu[1]]))
        if losses:
            loss = torch.stack(losses).mean()
        else:  # keep the graph connected
            loss = sum(p.sum() for p in self._raw_positive_infos['track_preds']
                       ) * 0.
        return dict(loss_track=loss * self.loss_track_weight)

    # ------------------------------------------------------------- predict
    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        coeff_preds: List[Tensor],
                        track_preds: Optional[List[Optional[Tensor]]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        **kwargs) -> InstanceList:
        """Detections of each image after fast NMS.

        Returns:
            list[InstanceData]: per image ``bboxes (n, 4)`` (input pixels,
            or original-image pixels with ``rescale``), ``scores (n,)``,
            ``labels (n,)``, ``coeffs (n, P)`` and ``track_embeds (n, E)``
            (when the head has the track branch).
        """
        assert batch_img_metas is not None
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        mlvl_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype,
            device=cls_scores[0].device)
        with_track = self.with_track and track_preds is not None \
            and track_preds[0] is not None
        results = []
        for img_id, img_meta in enumerate(batch_img_metas):
            results.append(
                self._predict_single(
                    select_single_mlvl(cls_scores, img_id, detach=True),
                    select_single_mlvl(bbox_preds, img_id, detach=True),
                    select_single_mlvl(coeff_preds, img_id, detach=True),
                    select_single_mlvl(track_preds, img_id, detach=True)
                    if with_track else None, mlvl_priors, img_meta, cfg,
                    rescale))
        return results

    def _predict_single(self, cls_score_list: List[Tensor],
                        bbox_pred_list: List[Tensor],
                        coeff_pred_list: List[Tensor],
                        track_pred_list: Optional[List[Tensor]],
                        mlvl_priors: List[Tensor], img_meta: dict,
                        cfg: ConfigDict, rescale: bool) -> InstanceData:
        nms_pre = cfg.get('nms_pre', -1)
        E = self.track_channels if track_pred_list is not None else 0
        P = self.num_protos
        all_scores, all_deltas, all_priors, all_extra = [], [], [], []
        for lvl, priors in enumerate(mlvl_priors):
            logits = cls_score_list[lvl].permute(1, 2, 0).reshape(
                -1, self.cls_out_channels)
            if self.use_sigmoid_cls:
                scores = logits.sigmoid()
                fg = scores
            else:
                scores = logits.softmax(-1)
                fg = scores[:, :-1]
            deltas = bbox_pred_list[lvl].permute(1, 2, 0).reshape(-1, 4)
            extra = [coeff_pred_list[lvl].permute(1, 2, 0).reshape(-1, P)]
            if E:
                extra.append(track_pred_list[lvl].permute(1, 2,
                                                          0).reshape(-1, E))
            extra = torch.cat(extra, 1)
            if 0 < nms_pre < fg.size(0):
                _, keep = fg.max(1)[0].topk(nms_pre)
                fg, deltas, priors, extra = (fg[keep], deltas[keep],
                                             priors[keep], extra[keep])
            all_scores.append(fg)
            all_deltas.append(deltas)
            all_priors.append(priors)
            all_extra.append(extra)
        scores = torch.cat(all_scores)
        bboxes = self.bbox_coder.decode(
            torch.cat(all_priors),
            torch.cat(all_deltas),
            max_shape=img_meta['img_shape'][:2])
        extra = torch.cat(all_extra)
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(
                img_meta['scale_factor']).repeat(2)

        results = InstanceData()
        if scores.size(0) == 0:
            results.bboxes = bboxes.new_zeros(0, 4)
            results.scores = scores.new_zeros(0)
            results.labels = scores.new_zeros(0, dtype=torch.long)
            results.coeffs = extra[:, :P]
            if E:
                results.track_embeds = extra[:, P:]
            return results
        if cfg.get('cross_class_nms', True):
            max_scores, labels = scores.max(1)
            nms_scores = torch.stack([max_scores, max_scores.new_zeros(
                max_scores.shape)], 1)
            extra = torch.cat([extra, labels[:, None].to(extra.dtype)], 1)
            dets, _, kept = fast_nms(bboxes, nms_scores, extra, cfg.score_thr,
                                     cfg.iou_thr, cfg.top_k,
                                     cfg.max_per_img)
            labels = kept[:, -1].round().long()
            kept = kept[:, :-1]
        else:
            padded = torch.cat([scores, scores.new_zeros(len(scores), 1)], 1)
            dets, labels, kept = fast_nms(bboxes, padded, extra,
                                          cfg.score_thr, cfg.iou_thr,
                                          cfg.top_k, cfg.max_per_img)
        results.bboxes = dets[:, :4]
        results.scores = dets[:, 4]
        results.labels = labels.long()
        results.coeffs = kept[:, :P]
        if E:
            results.track_embeds = kept[:, P:]
        return results

    def forward(self, x: Tuple[Tensor]) -> tuple:
        """All levels: four lists (see :meth:`forward_single`)."""
        return multi_apply(self.forward_single, x)
