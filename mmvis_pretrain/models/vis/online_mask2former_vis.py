"""Online video instance segmentation with Mask2Former (CTVIS style).

:class:`OnlineMask2FormerVIS` fine-tunes the (pseudo-)video pre-trained
:class:`~mmvis_pretrain.models.vis.VideoMask2Former` (backbone + optional
MSTM neck + Mask2Former head, same parameter names) for VIS:

* **training** on ``T``-frame clips (real videos or COCO pseudo-videos):
  the ``N * T`` frames go through the backbone, MSTM mixes consecutive
  windows of ``num_frames`` frames of each clip, and the head
  (:class:`~mmvis_pretrain.models.tracking_heads.Mask2FormerEmbedHead`) adds
  the contrastive tracking loss on the query embeddings to Mask2Former's
  per-frame losses;
* **inference**, online and frame by frame (the package's VIS protocol: one
  frame per ``TrackDataSample``, state reset at ``frame_id == 0``): MSTM
  sees the sliding window of the last ``num_frames`` frames, the head
  predicts classes, masks and embeddings of the current frame, and the
  tracker (:class:`~mmvis_pretrain.models.trackers.MemoryBankTracker`)
  associates them with its memory bank; ``pred_track_instances`` carries
  the masks at the original size and each track's temporally consistent
  label and score. With the tracker's ``video_scoring='ctvis'`` (the
  default tracker of this model and its configs: CTVIS's rule) it also
  carries ``class_scores (M, K)``: the softmax of the track's mean class
  logits times its mask score (mean mask probability inside its masks over
  its frames, at the original size), which ``VISMetric`` turns into the
  best (track, class) pairs of the video. A ``TrackDataSample`` holding a
  whole video is processed frame by frame the same way.
* plain ``DetDataSample`` images are predicted as in
  :class:`VideoMask2Former` (replicated to a static clip): COCO evaluation
  of the same model.

Only the features of the last ``num_frames`` frames and the tracker's
per-track state are kept between frames: memory does not grow with the
video.
"""
from typing import List, Sequence, Tuple, Union

import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import mask2bbox
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.structures import resize_masks_to_original
from .online_vis_mixin import FeatureWindow, OnlineVISMixin
from .video_mask2former import VideoMask2Former

Samples = Sequence[Union[TrackDataSample, DetDataSample]]


@MODELS.register_module()
class OnlineMask2FormerVIS(OnlineVISMixin, VideoMask2Former):
    """Mask2Former + MSTM + contrastive tracking embedding, online VIS.

    Args:
        backbone (dict): image backbone.
        neck (dict, optional): temporal neck (``MSTM``) or None.
        panoptic_head (dict): a ``Mask2FormerEmbedHead``.
        panoptic_fusion_head (dict): mmdet's ``MaskFormerFusionHead`` (used
            for image inference).
        tracker (dict): the online tracker, e.g.
            ``dict(type='MemoryBankTracker', video_scoring='ctvis', ...)``
            (the default); the tracker's ``video_scoring`` selects the
            video-level class / score rule (``docs/online_vis.md``).
        num_frames (int): the temporal window of the neck: training clips
            are cut into consecutive windows of this many frames (the last
            one may be shorter); at inference MSTM sees the last
            ``num_frames`` frames. Defaults to 3 (the pre-training ``T``).
        mask_thr (float): threshold on the mask probability. Defaults 0.5.
        train_cfg, test_cfg, data_preprocessor, init_cfg: as in
            :class:`VideoMask2Former`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 panoptic_head: OptConfigType = None,
                 panoptic_fusion_head: OptConfigType = None,
                 tracker: OptConfigType = dict(
                     type='MemoryBankTracker', video_scoring='ctvis'),
                 num_frames: int = 3,
                 mask_thr: float = 0.5,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            backbone=backbone,
            neck=neck,
            panoptic_head=panoptic_head,
            panoptic_fusion_head=panoptic_fusion_head,
            num_frames=num_frames,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not hasattr(self.panoptic_head, 'loss_with_embeds'):
            raise TypeError('OnlineMask2FormerVIS needs a head with tracking '
                            'embeddings (Mask2FormerEmbedHead), got '
                            f'{type(self.panoptic_head).__name__}')
        self.tracker = MODELS.build(tracker)
        self.mask_thr = mask_thr
        # online state: backbone features of the last `num_frames` frames
        self._window = FeatureWindow(num_frames)

    # ------------------------------------------------------------- features
    def extract_clip_feat(self, frames: Tensor,
                          clip_len: int) -> Tuple[Tensor, ...]:
        """Features of ``(N * T, C, H, W)`` clip-major frames, the neck
        applied on consecutive windows of ``num_frames`` frames per clip.

        Returns:
            tuple[Tensor]: per level ``(N * T, C_l, H_l, W_l)``.
        """
        feats = self.backbone(frames)
        if not self.with_neck:
            return feats
        N = frames.shape[0] // clip_len
        per_clip = [f.view(N, clip_len, *f.shape[1:]) for f in feats]
        chunks = []
        for start in range(0, clip_len, self.num_frames):
            stop = min(start + self.num_frames, clip_len)
            window = tuple(f[:, start:stop].flatten(0, 1) for f in per_clip)
            out = self.neck(window, num_frames=stop - start)
            chunks.append([o.view(N, stop - start, *o.shape[1:]) for o in out])
        return tuple(
            torch.cat(level, dim=1).flatten(0, 1) for level in zip(*chunks))

    # ---------------------------------------------------------------- train
    def loss(self, batch_inputs: Tensor, batch_data_samples: Samples) -> dict:
        """Per-frame Mask2Former losses + contrastive tracking loss.

        Args:
            batch_inputs (Tensor): ``(N, T, C, H, W)`` clips.
            batch_data_samples (list[TrackDataSample]): ``N`` clips whose
                frames carry ``gt_instances`` with ``instances_ids``.
        """
        clips = self._as_clips(batch_inputs)
        N, T = clips.shape[:2]
        frames = [f for s in batch_data_samples for f in self._frames(s)]
        if len(frames) != N * T:
            raise ValueError(f'{len(frames)} frame samples for {N} clips of '
                             f'{T} frames')
        feats = self.extract_clip_feat(clips.flatten(0, 1), T)
        return self.panoptic_head.loss_with_embeds(feats, frames, T)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Samples) -> Tuple[List[Tensor]]:
        """Raw head outputs (classes, masks per layer, embeddings)."""
        clips = self._as_clips(batch_inputs)
        T = clips.shape[1]
        feats = self.extract_clip_feat(clips.flatten(0, 1), T)
        frames = [f for s in batch_data_samples for f in self._frames(s)]
        return self.panoptic_head.forward_with_embeds(feats, frames)

    # -------------------------------------------------------------- predict
    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: Samples,
                rescale: bool = True) -> List:
        """Online tracking (``TrackDataSample``) or image inference.

        Args:
            batch_inputs (Tensor): ``(1, L, C, H, W)`` -- one frame
                (``L = 1``, the online protocol) or a whole video -- or
                ``(N, C, H, W)`` images with ``DetDataSample``.
            batch_data_samples (list): one ``TrackDataSample`` (frame
                metainfo ``frame_id``, ``video_id``, ``ori_shape``) or ``N``
                ``DetDataSample`` images.

        Returns:
            list: the ``TrackDataSample`` with ``pred_track_instances``
            (``instances_id``, ``labels``, ``scores``, ``masks`` bool at
            ``ori_shape``, ``bboxes``) on each frame; for images, the
            ``DetDataSample`` with ``pred_instances``.
        """
        if not isinstance(batch_data_samples[0], TrackDataSample):
            # images: VideoMask2Former's (the mixin's predict is online)
            return VideoMask2Former.predict(self, batch_inputs,
                                            batch_data_samples, rescale)
        return self.predict_online(
            self._as_clips(batch_inputs), batch_data_samples, rescale)

    def reset_video_state(self) -> None:
        """A new video: empty feature window (the tracker is reset by
        :meth:`start_video_if_new`)."""
        self._window.reset()

    def frame_features(self, image: Tensor) -> Tuple[Tensor, ...]:
        """Features of the newest frame of a video, the temporal neck
        applied over the window of the last ``num_frames`` frames.

        Args:
            image (Tensor): ``(1, C, H, W)`` the pre-processed frame.

        Returns:
            tuple[Tensor]: per level ``(1, C_l, H_l, W_l)``.
        """
        if not self.with_neck:  # no temporal mixing: no window to keep
            return tuple(self.backbone(image))
        T = self.num_frames
        if self._window.size != T:  # num_frames changed after the build
            self._window = FeatureWindow(T)
        feats = self.neck(self._window.push(self.backbone(image)),
                          num_frames=T)
        return tuple(level[-1:] for level in feats)

    @torch.no_grad()
    def predict_frame(self, image: Tensor, meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Predict and track one frame.

        Args:
            image (Tensor): ``(1, C, H, W)`` the pre-processed frame.
            meta (dict): its metainfo (``frame_id``, ``ori_shape``,
                ``img_shape``, ``batch_input_shape``).
            rescale (bool): outputs at ``ori_shape`` (else ``img_shape``).

        Returns:
            InstanceData: ``pred_track_instances`` (``instances_id``,
            ``labels``, ``scores``, ``masks`` bool, ``bboxes``; with the
            tracker's ``video_scoring='ctvis'`` also ``class_scores``).
        """
        last = self.frame_features(image)
        frame = DetDataSample(metainfo=meta)
        cls_list, mask_list, embeds = self.panoptic_head.forward_with_embeds(
            last, [frame])
        cls_logits = cls_list[-1][0]  # (Q, K + 1), no-object last
        cls_probs = cls_logits.softmax(-1)[:, :-1]  # (Q, K)
        mask_probs = mask_list[-1][0].sigmoid()  # (Q, h, w)
        result = self.tracker.update(
            frame_id=int(meta['frame_id']),
            embeds=embeds[0],
            cls_probs=cls_probs,
            masks=mask_probs,
            cls_logits=cls_logits)
        probs = resize_masks_to_original(
            mask_probs[result.keep_inds], meta['img_shape'],
            self.output_shape(meta, rescale),
            pad_shape=self.input_shape(meta))
        masks = probs > self.mask_thr
        pred = InstanceData(
            instances_id=result.instances_id.long(),
            labels=result.labels.long(),
            scores=result.scores.float(),
            masks=masks,
            bboxes=mask2bbox(masks))
        if 'class_scores' in result:
            # CTVIS: class score x the track's mask score over its frames
            mask_scores = self.tracker.add_mask_scores(
                result.instances_id, (probs * masks).flatten(1).sum(1),
                masks.flatten(1).sum(1).float())
            class_scores = result.class_scores * mask_scores[:, None]
            pred.class_scores = class_scores.float()
            if len(class_scores):
                pred.scores = class_scores.max(dim=1)[0].float()
        return pred


__all__ = ['OnlineMask2FormerVIS']
