"""Decoupled video instance segmentation (DVIS / DVIS++, with MVC and OMA).

:class:`DecoupledVIS` is the package's online Mask2Former VIS model (the
**segmenter**, stage 1: :class:`OnlineMask2FormerVIS`, same parameter
names, so a stage-1 checkpoint loads unchanged) plus

* a :class:`~mmvis_pretrain.models.tracking_heads.ReferringTracker`
  (``tracker``, stage 2) that turns the segmenter's per-frame queries into
  ``Q`` slots with a fixed identity each, and
* optionally a :class:`~mmvis_pretrain.models.tracking_heads.
  TemporalRefiner` (``refiner``, stage 3, with Object Masked Attention)
  that refines the slots over time.

**Training** (``train_stage``): stage 2 trains the tracker on clips of
consecutive frames with the segmenter frozen; stage 3 trains the refiner
with the segmenter and the tracker frozen. Frozen parts have
``requires_grad=False``, stay in eval mode (BN statistics untouched) and
run under ``torch.no_grad()``, so DDP needs no
``find_unused_parameters``. The stages chain by plain ``load_from`` of the
previous stage's checkpoint (mmengine loads non-strictly: the missing keys,
``tracker.*`` / ``refiner.*``, are listed in the log).

**Inference** (``inference_mode``):

* ``'online'``: segmenter + tracker frame by frame (the package's online
  protocol: one frame per ``TrackDataSample``, or a whole video); each slot
  is a track on every frame, with the video-level ``class_scores`` of
  DVIS (softmax of the slot's mean logits so far), which ``VISMetric``
  turns into the best (slot, class) pairs of the video;
* ``'offline'``: the video (a whole-video sample, or consecutive pieces of
  at least ``chunk_size`` frames) is processed in chunks of ``chunk_size``
  frames: segmenter + tracker over the chunk (tracker state carried from
  chunk to chunk), then the refiner over the chunk; the refiner's
  video-level class pooling is merged exactly across chunks; the final
  class score is DVIS's ``max(refiner, tracker mean)`` (``offline_score``).
  Only one chunk's mask features are alive at a time and finished frames
  keep their masks as RLE, so memory does not grow with the video beyond
  the RLEs.

See ``docs/decoupled_vis.md``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import mask2bbox
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.structures import encode_rle, resize_masks_to_original
from ..tracking_heads.referring_tracker import ReferringTracker, gather_slots
from ..tracking_heads.temporal_refiner import TemporalRefiner
from .online_frames import online_frames
from .online_mask2former_vis import OnlineMask2FormerVIS
from .video_mask2former import VideoMask2Former

INFERENCE_MODES = ('online', 'offline')
OFFLINE_SCORES = ('max', 'refiner')
SEGMENTER_MODULES = ('backbone', 'neck', 'panoptic_head')


@MODELS.register_module()
class DecoupledVIS(OnlineMask2FormerVIS):
    """Segmenter + referring tracker (+ temporal refiner), DVIS++ style.

    Args:
        backbone, neck, panoptic_head, panoptic_fusion_head: the segmenter,
            as in :class:`OnlineMask2FormerVIS` (the head must be a
            ``Mask2FormerEmbedHead``).
        tracker (dict): a ``ReferringTracker``. Its ``embed_dims`` must be
            the segmenter's query width (``'dvis'``) or query width +
            re-id embedding width (``'dvis++'``).
        refiner (dict, optional): a ``TemporalRefiner`` (stage 3 and
            offline inference); its ``embed_dims`` equals the tracker's and
            its ``mask_dims`` the segmenter's mask-feature channels.
        train_stage (int): 2 (train the tracker) or 3 (train the refiner).
        inference_mode (str): ``'online'`` or ``'offline'`` (needs the
            refiner).
        chunk_size (int): frames per refiner chunk in offline inference
            (DVIS's long-video ``windows_size``; 300 suggested there).
        guided_matching (float): fraction of ``max_iters`` during which the
            matching of the trained stage is computed on the frozen
            previous stage's predictions (DVIS: 0.5); 0 disables it.
        offline_score (str): ``'max'`` (DVIS: elementwise max of the
            refiner's and the tracker's class probabilities) or
            ``'refiner'``.
        num_frames, mask_thr, train_cfg, test_cfg, data_preprocessor,
            init_cfg: as in :class:`OnlineMask2FormerVIS`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 panoptic_head: OptConfigType = None,
                 panoptic_fusion_head: OptConfigType = None,
                 tracker: OptConfigType = None,
                 refiner: OptConfigType = None,
                 train_stage: int = 2,
                 inference_mode: str = 'online',
                 chunk_size: int = 300,
                 guided_matching: float = 0.5,
                 offline_score: str = 'max',
                 num_frames: int = 3,
                 mask_thr: float = 0.5,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if tracker is None:
            raise ValueError('DecoupledVIS needs a tracker '
                             "(dict(type='ReferringTracker', ...))")
        super().__init__(
            backbone=backbone,
            neck=neck,
            panoptic_head=panoptic_head,
            panoptic_fusion_head=panoptic_fusion_head,
            tracker=tracker,
            num_frames=num_frames,
            mask_thr=mask_thr,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not isinstance(self.tracker, ReferringTracker):
            raise TypeError('DecoupledVIS: tracker must be a '
                            f'ReferringTracker, got '
                            f'{type(self.tracker).__name__}')
        self.refiner = MODELS.build(refiner) if refiner else None
        if self.refiner is not None and not isinstance(
                self.refiner, TemporalRefiner):
            raise TypeError('DecoupledVIS: refiner must be a '
                            f'TemporalRefiner, got '
                            f'{type(self.refiner).__name__}')
        if train_stage not in (2, 3):
            raise ValueError(
                f'DecoupledVIS: train_stage must be 2 (tracker) or 3 '
                f'(refiner), got {train_stage!r}; stage 1 (the segmenter) '
                'is OnlineMask2FormerVIS (configs/online_vis)')
        if train_stage == 3 and self.refiner is None:
            raise ValueError('DecoupledVIS: train_stage=3 trains the '
                             'refiner: set refiner=dict(type='
                             "'TemporalRefiner', ...)")
        if train_stage == 2 and self.refiner is not None:
            raise ValueError(
                'DecoupledVIS: train_stage=2 trains the tracker; a refiner '
                'would be built untrained and unused (DDP would also need '
                'find_unused_parameters): set refiner=None, the stage-3 '
                'config adds it')
        if inference_mode not in INFERENCE_MODES:
            raise ValueError(f'inference_mode must be one of '
                             f'{INFERENCE_MODES}, got {inference_mode!r}')
        if inference_mode == 'offline' and self.refiner is None:
            raise ValueError("DecoupledVIS: inference_mode='offline' runs "
                             'the refiner: set refiner')
        if offline_score not in OFFLINE_SCORES:
            raise ValueError(f'offline_score must be one of '
                             f'{OFFLINE_SCORES}, got {offline_score!r}')
        if int(chunk_size) < 1:
            raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
        self._check_dims()
        self.train_stage = train_stage
        self.inference_mode = inference_mode
        self.chunk_size = int(chunk_size)
        self.guided_matching = float(guided_matching)
        self.offline_score = offline_score
        frozen = list(SEGMENTER_MODULES)
        if train_stage == 3:
            frozen.append('tracker')
        self.frozen_modules = tuple(
            name for name in frozen if getattr(self, name, None) is not None)
        for name in self.frozen_modules:
            getattr(self, name).requires_grad_(False)
        self.reset_video_state()

    @property
    def frames_per_step(self) -> int:
        """Frames per ``test_step`` for a streaming caller
        (``inference_vis_video``): 1 online, ``chunk_size`` offline."""
        return self.chunk_size if self.inference_mode == 'offline' else 1

    # ------------------------------------------------------------- checks
    def _check_dims(self) -> None:
        head = self.panoptic_head
        query_dims = head.query_feat.embedding_dim
        reid_dims = head.embed_head.layers[-1].out_features
        mask_dims = head.mask_embed[-1].out_features
        expected = (query_dims + reid_dims
                    if self.tracker.variant == 'dvis++' else query_dims)
        if self.tracker.embed_dims != expected:
            raise ValueError(
                f'DecoupledVIS: the {self.tracker.variant!r} tracker reads '
                f'{expected}-d queries (segmenter queries {query_dims}'
                + (f' + re-id {reid_dims}' if self.tracker.variant ==
                   'dvis++' else '') +
                f'), but tracker.embed_dims={self.tracker.embed_dims}')
        if self.tracker.num_classes != head.num_things_classes:
            raise ValueError(
                f'DecoupledVIS: tracker.num_classes='
                f'{self.tracker.num_classes}, the segmenter has '
                f'{head.num_things_classes}')
        if self.tracker.mask_feature_proj.in_channels != mask_dims:
            raise ValueError(
                f'DecoupledVIS: tracker.mask_dims='
                f'{self.tracker.mask_feature_proj.in_channels}, the '
                f'segmenter mask features have {mask_dims} channels')
        if self.refiner is not None:
            ref = self.refiner
            if ref.embed_dims != self.tracker.embed_dims:
                raise ValueError(
                    f'DecoupledVIS: refiner.embed_dims={ref.embed_dims}, '
                    f'tracker.embed_dims={self.tracker.embed_dims}')
            if ref.num_classes != head.num_things_classes:
                raise ValueError(
                    f'DecoupledVIS: refiner.num_classes={ref.num_classes}, '
                    f'the segmenter has {head.num_things_classes}')
            ref_mask_dims = ref.mask_embed.layers[-1].out_features
            if ref_mask_dims != mask_dims:
                raise ValueError(
                    f'DecoupledVIS: refiner.mask_dims={ref_mask_dims}, the '
                    f'segmenter mask features have {mask_dims} channels')

    # ------------------------------------------------------------ freezing
    def train(self, mode: bool = True) -> 'DecoupledVIS':
        """Train mode for the trained stage only: frozen stages stay in eval
        mode (BN statistics, dropout) whatever the runner asks."""
        super().train(mode)
        for name in self.frozen_modules:
            getattr(self, name).eval()
        return self

    def guided(self) -> bool:
        """Whether this training iteration uses guided matching (iteration
        ``< guided_matching * max_iters`` by the runner's message hub;
        False without a runner)."""
        if self.guided_matching <= 0:
            return False
        hub = MessageHub.get_current_instance()
        it, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
        if it is None or not max_iters:
            return False
        return it < self.guided_matching * max_iters

    # ----------------------------------------------------------- segmenter
    @torch.no_grad()
    def segment(self, clips: Tensor,
                frames: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """The frozen segmenter's exports of ``N`` clips of ``T`` frames.

        Args:
            clips (Tensor): ``(N, T, C, H, W)``.
            frames (Sequence[DetDataSample]): the ``N * T`` frame samples.

        Returns:
            dict[str, Tensor]: ``Mask2FormerEmbedHead.forward_export``'s
            entries reshaped to ``(N, T, ...)``.
        """
        N, T = clips.shape[:2]
        feats = self.extract_clip_feat(clips.flatten(0, 1), T)
        out = self.panoptic_head.forward_export(feats, list(frames))
        return {k: v.reshape(N, T, *v.shape[1:]) for k, v in out.items()}

    def tracker_inputs(self, seg: Dict[str, Tensor]) -> Tuple[Tensor, Tensor]:
        """The tracker's key queries and alignment embeddings.

        DVIS++: ``[raw query ; re-id]`` and ``[normed query ; re-id]``
        (``pred_embds_without_norm`` / ``pred_embds``); DVIS: the normed
        queries for both.
        """
        if self.tracker.variant == 'dvis++':
            return (torch.cat([seg['queries'], seg['embeds']], -1),
                    torch.cat([seg['queries_normed'], seg['embeds']], -1))
        return seg['queries_normed'], seg['queries_normed']

    def _clip_targets(self, frames: Sequence[DetDataSample], N: int,
                      T: int) -> List[List[InstanceData]]:
        """Per clip, per frame ``labels``, ``masks`` (bool tensors at the
        padded input size) and ``instances_ids``."""
        gts = [f.gt_instances for f in frames]
        processed = self.panoptic_head.preprocess_gt(gts, [None] * len(gts))
        for frame, out, gt in zip(frames, processed, gts):
            if 'instances_ids' not in gt:
                raise KeyError(
                    'DecoupledVIS: gt_instances lack `instances_ids` (frame '
                    f"{frame.metainfo.get('img_path')}): pack training "
                    'clips with PackTrackInputs')
            ids = torch.as_tensor(gt.instances_ids, device=out.labels.device)
            if len(ids) != len(out.labels):
                raise ValueError(
                    f'DecoupledVIS: {len(ids)} instances_ids for '
                    f'{len(out.labels)} instances in frame '
                    f"{frame.metainfo.get('img_path')}")
            out.instances_ids = ids.long()
        return [processed[n * T:(n + 1) * T] for n in range(N)]

    # --------------------------------------------------------------- train
    def loss(self, batch_inputs: Tensor, batch_data_samples) -> dict:
        """Losses of the trained stage on ``N`` clips of ``T`` consecutive
        frames.

        Args:
            batch_inputs (Tensor): ``(N, T, C, H, W)``.
            batch_data_samples (list[TrackDataSample]): ``N`` clips whose
                frames carry ``gt_instances`` with ``instances_ids``.
        """
        clips = self._as_clips(batch_inputs)
        N, T = clips.shape[:2]
        frames = [f for s in batch_data_samples for f in self._frames(s)]
        if len(frames) != N * T:
            raise ValueError(f'{len(frames)} frame samples for {N} clips of '
                             f'{T} frames')
        seg = self.segment(clips, frames)
        queries, align = self.tracker_inputs(seg)
        gts = self._clip_targets(frames, N, T)
        guided = self.guided()
        if self.train_stage == 2:
            out = self.tracker(queries, align, seg['mask_features'],
                               noise=True)
            guide = None
            if guided:  # the segmenter's predictions in slot order
                src = out['sources'].flatten(0, 1)
                guide = tuple(
                    gather_slots(seg[k].flatten(0, 1),
                                 src).view(seg[k].shape)
                    for k in ('cls_logits', 'mask_logits'))
            return self.tracker.loss(out, gts, guide)
        with torch.no_grad():
            out = self.tracker(queries, align, seg['mask_features'],
                               last_layer_only=True)
        cls_list, masks_list = self.refiner(out['embeds'], queries,
                                            seg['mask_features'],
                                            seg['cls_logits'])
        guide = None
        if guided:  # the tracker's T-mean logits and its masks
            guide = (out['cls'][-1].mean(1), out['masks'][-1].transpose(1, 2))
        return self.refiner.loss(cls_list, masks_list, gts, guide)

    def _forward(self, batch_inputs: Tensor, batch_data_samples):
        """Raw outputs of the clips: the tracker's (stage 2) or the
        refiner's (stage 3) per-layer class and mask logits."""
        clips = self._as_clips(batch_inputs)
        frames = [f for s in batch_data_samples for f in self._frames(s)]
        seg = self.segment(clips, frames)
        queries, align = self.tracker_inputs(seg)
        out = self.tracker(queries, align, seg['mask_features'],
                           last_layer_only=self.train_stage == 3)
        if self.train_stage == 2:
            return out['cls'], out['masks']
        return tuple(
            self.refiner(out['embeds'], queries, seg['mask_features'],
                         seg['cls_logits']))

    # ----------------------------------------------------- video state
    def reset_video_state(self) -> None:
        """A new video: empty feature window, score accumulators."""
        super().reset_video_state()
        self._logit_sum: Optional[Tensor] = None
        self._num_frames_seen = 0
        self._refiner_stats: Optional[Tuple[Tensor, Tensor]] = None

    def _accumulate_tracker_logits(self, logits: Tensor) -> None:
        """Add one frame's slot logits ``(Q, K + 1)`` to the video mean."""
        logits = logits.float()
        self._logit_sum = (logits if self._logit_sum is None else
                           self._logit_sum + logits)
        self._num_frames_seen += 1

    def tracker_class_scores(self) -> Tensor:
        """``(Q, K)``: softmax of each slot's mean logits so far (DVIS
        online)."""
        mean = self._logit_sum / max(self._num_frames_seen, 1)
        return mean.softmax(-1)[:, :-1]

    def offline_class_scores(self) -> Tensor:
        """``(Q, K)``: the refiner's video-level class probabilities (its
        pooling merged over the chunks so far), with
        ``offline_score='max'`` maxed with :meth:`tracker_class_scores`."""
        logits = self.refiner.class_embed(self._refiner_stats[1])[0]
        scores = logits.float().softmax(-1)[:, :-1]
        if self.offline_score == 'max':
            scores = torch.maximum(scores, self.tracker_class_scores())
        return scores

    @staticmethod
    def slot_instances(masks, class_scores: Tensor) -> InstanceData:
        """Every slot as a track: ``instances_id`` = slot, label / score its
        best class, ``class_scores`` ``(Q, K)``; ``masks`` bool ``(Q, H,
        W)`` (with boxes) or a list of ``Q`` RLEs."""
        scores, labels = class_scores.max(-1)
        pred = InstanceData(
            instances_id=torch.arange(len(class_scores)),
            labels=labels.cpu(),
            scores=scores.float().cpu(),
            class_scores=class_scores.float().cpu())
        pred.masks = masks
        if isinstance(masks, Tensor):
            pred.bboxes = mask2bbox(masks)
        return pred

    # ------------------------------------------------------------ online
    def _track_frame(self, image: Tensor, meta: dict,
                     with_masks: bool = True):
        """Segmenter + tracker on one frame; the tracker logits join the
        video mean. Returns the segmenter exports, the tracker inputs and
        the tracker's output (without masks unless ``with_masks``)."""
        seg = self.panoptic_head.forward_export(
            self.frame_features(image), [DetDataSample(metainfo=meta)])
        queries, align = self.tracker_inputs(seg)
        out = self.tracker.track(
            queries, align, seg['mask_features'] if with_masks else None)
        self._accumulate_tracker_logits(out['cls'][0])
        return seg, queries, out

    def _original_masks(self, logits: Tensor, meta: dict,
                        rescale: bool) -> Tensor:
        """``(Q, h, w)`` logits -> bool ``(Q, H0, W0)``."""
        probs = resize_masks_to_original(
            logits.sigmoid(), meta['img_shape'],
            self.output_shape(meta, rescale),
            pad_shape=self.input_shape(meta))
        return probs > self.mask_thr

    @torch.no_grad()
    def predict_frame(self, image: Tensor, meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Online: segment and track one frame; every slot is a track.

        Returns:
            InstanceData: ``instances_id`` (the slots), ``labels``,
            ``scores``, ``class_scores`` ``(Q, K)`` (the video so far),
            ``masks`` bool at the output size, ``bboxes``.
        """
        _, _, out = self._track_frame(image, meta)
        masks = self._original_masks(out['masks'][0], meta, rescale)
        return self.slot_instances(masks, self.tracker_class_scores())

    # ----------------------------------------------------------- offline
    def predict(self, batch_inputs: Tensor, batch_data_samples,
                rescale: bool = True) -> list:
        """Images: segmenter only; ``TrackDataSample``: online or offline
        VIS by ``inference_mode``."""
        if not isinstance(batch_data_samples[0], TrackDataSample):
            return VideoMask2Former.predict(self, batch_inputs,
                                            batch_data_samples, rescale)
        inputs = self._as_clips(batch_inputs)
        if self.inference_mode == 'online':
            return self.predict_online(inputs, batch_data_samples, rescale)
        return self.predict_offline(inputs, batch_data_samples, rescale)

    @torch.no_grad()
    def predict_offline(self, inputs: Tensor, data_samples: Sequence,
                        rescale: bool = True) -> list:
        """Offline VIS of a whole video or of consecutive pieces of it.

        Args:
            inputs (Tensor): ``(1, L, C, H, W)`` the video's frames
                ``frame_id .. frame_id + L - 1``.
            data_samples (Sequence[TrackDataSample]): one sample of ``L``
                frames. A piece shorter than ``chunk_size`` is accepted
                only as the end of the video (else the refiner would see
                fewer frames than configured: feed whole videos with the
                video-level test loader, or ``chunk_size`` pieces).

        Returns:
            list[TrackDataSample]: ``data_samples``, each frame with
            ``pred_track_instances`` (masks as RLEs at the output size,
            ``class_scores`` of the video so far).
        """
        frames = list(online_frames(inputs, data_samples,
                                    type(self).__name__))
        metas = [f.metainfo for _, f in frames]
        first = metas[0]
        length = first.get('ori_video_length', first.get('video_length'))
        ids = [int(m['frame_id']) for m in metas]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise ValueError(
                f"DecoupledVIS offline (video {first.get('video_id')!r}): "
                f'frames must be consecutive, got frame ids {ids[:8]}...')
        remaining = (int(length) - ids[0]) if length is not None else len(
            ids)
        if len(frames) < min(self.chunk_size, remaining):
            raise ValueError(
                f"DecoupledVIS offline (video {first.get('video_id')!r}): "
                f'got {len(frames)} frame(s) from frame {ids[0]} of a '
                f'{length}-frame video, fewer than chunk_size='
                f'{self.chunk_size}: offline inference needs whole videos '
                '(the video-level test dataloader, DefaultSampler, of the '
                'offline configs) or pieces of chunk_size frames '
                '(inference_vis_video packs them)')
        self.start_video_if_new(first)
        rles: List[List[dict]] = []
        for start in range(0, len(frames), self.chunk_size):
            rles += self._offline_chunk(frames[start:start +
                                               self.chunk_size], rescale)
        class_scores = self.offline_class_scores()
        for (_, frame), frame_rles in zip(frames, rles):
            frame.pred_track_instances = self.slot_instances(
                frame_rles, class_scores)
        return list(data_samples)

    def _offline_chunk(self, frames: Sequence[Tuple[Tensor, DetDataSample]],
                       rescale: bool) -> List[List[dict]]:
        """Track a chunk, refine it, merge its class pooling; returns the
        RLEs of each frame's slot masks."""
        keys, seg_logits, slots, mask_feats = [], [], [], []
        for image, frame in frames:
            seg, queries, out = self._track_frame(image, frame.metainfo,
                                                  with_masks=False)
            keys.append(queries)
            seg_logits.append(seg['cls_logits'])
            slots.append(out['embeds'])
            mask_feats.append(seg['mask_features'])
        _, masks, feats = self.refiner(
            torch.stack(slots, 1), torch.stack(keys, 1),
            torch.stack(mask_feats, 1), torch.stack(seg_logits, 1),
            return_features=True)
        stats = self.refiner.class_statistics(feats)
        self._refiner_stats = (stats if self._refiner_stats is None else
                               self.refiner.merge_class_statistics(
                                   self._refiner_stats, stats))
        chunk_masks = masks[-1][0]  # (Q, Tc, h, w)
        return [
            encode_rle(
                self._original_masks(chunk_masks[:, t], frame.metainfo,
                                     rescale))
            for t, (_, frame) in enumerate(frames)
        ]


__all__ = ['DecoupledVIS']
