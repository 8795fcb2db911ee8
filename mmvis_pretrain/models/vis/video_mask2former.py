"""Mask2Former pre-trained on pseudo-videos (paper sec. 3.2, appendix A.2).

:class:`VideoMask2Former` is mmdet's image :class:`Mask2Former` with a
temporal neck (:class:`~mmvis_pretrain.models.necks.MSTM`) between the
backbone and the unchanged ``Mask2FormerHead``:

* **training** on clips (``TrackDataSample``, inputs ``(N, T, C, H, W)`` from
  mmdet's ``TrackDataPreprocessor``): the ``N * T`` frames go through the
  backbone as one batch, MSTM mixes the features of the ``T`` frames of each
  clip, and Mask2Former's loss is computed on every frame against that
  frame's own ``gt_instances``;
* **image inference** (appendix A.2): an image (a 1-frame clip, or a plain
  ``DetDataSample`` batch ``(N, C, H, W)``) is replicated to ``T`` frames and
  the prediction of the last frame is returned as a ``DetDataSample`` with
  ``pred_instances`` at the original image size, which mmdet's
  ``CocoMetric`` evaluates. A clip of ``T' != T`` frames is brought to ``T``
  frames (the first frame repeated in front, or its last ``T`` frames kept)
  and the prediction of its last frame is returned;
* **video inference** (:meth:`VideoMask2Former.predict_video`): every frame
  of a video is predicted online from the sliding window of its last ``T``
  frames.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.detectors import Mask2Former
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from mmvis_pretrain.registry import MODELS
from .online_vis_mixin import FeatureWindow

ClipSamples = Sequence[Union[TrackDataSample, DetDataSample]]


@MODELS.register_module()
class VideoMask2Former(Mask2Former):
    """Mask2Former with an MSTM neck, trained on (pseudo-)video clips.

    Args:
        backbone (dict): the image backbone (e.g. ResNet / Swin).
        neck (dict, optional): the temporal neck, e.g.
            ``dict(type='MSTM', in_channels=[...], num_frames=3)``; it must
            keep the backbone's channels and accept ``num_frames``. None:
            no neck (a plain frame-wise Mask2Former).
        panoptic_head, panoptic_fusion_head, train_cfg, test_cfg: as in
            mmdet's :class:`Mask2Former`.
        num_frames (int): frames ``T`` per clip the neck sees. Defaults to 3.
        data_preprocessor (dict, optional): ``TrackDataPreprocessor``.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 panoptic_head: OptConfigType = None,
                 panoptic_fusion_head: OptConfigType = None,
                 num_frames: int = 3,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        # the neck is built here from this package's registry (MSTM is not
        # in mmdet's), whatever the default scope
        super().__init__(
            backbone=backbone,
            neck=None,
            panoptic_head=panoptic_head,
            panoptic_fusion_head=panoptic_fusion_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.num_frames = num_frames

    # ------------------------------------------------------------- features
    def extract_feat(self,
                     batch_inputs: Tensor,
                     num_frames: Optional[int] = None) -> Tuple[Tensor, ...]:
        """Features of ``(N * T, C, H, W)`` frames, clip-major (the ``T``
        frames of a clip are consecutive)."""
        x = self.backbone(batch_inputs)
        if self.with_neck:
            T = self.num_frames if num_frames is None else num_frames
            x = self.neck(x, num_frames=T)
        return x

    @staticmethod
    def _as_clips(batch_inputs: Tensor) -> Tensor:
        """``(N, C, H, W)`` images -> ``(N, 1, C, H, W)`` clips."""
        if batch_inputs.dim() == 4:
            return batch_inputs.unsqueeze(1)
        if batch_inputs.dim() != 5:
            raise ValueError('VideoMask2Former expects (N, T, C, H, W) clips '
                             f'or (N, C, H, W) images, got '
                             f'{tuple(batch_inputs.shape)}')
        return batch_inputs

    @staticmethod
    def _frames(sample: Union[TrackDataSample, DetDataSample]
                ) -> List[DetDataSample]:
        if isinstance(sample, TrackDataSample):
            return list(sample.video_data_samples)
        return [sample]

    # ---------------------------------------------------------------- train
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: ClipSamples) -> dict:
        """Mask2Former's loss on every frame of ``N`` clips of ``T`` frames.

        Args:
            batch_inputs (Tensor): ``(N, T, C, H, W)``.
            batch_data_samples (list[TrackDataSample]): ``N`` clips whose
                frames carry their own ``gt_instances`` (masks, labels).
        """
        clips = self._as_clips(batch_inputs)
        N, T = clips.shape[:2]
        frame_samples = [f for s in batch_data_samples for f in self._frames(s)]
        if len(frame_samples) != N * T:
            raise ValueError(f'{len(frame_samples)} frame samples for {N} '
                             f'clips of {T} frames')
        x = self.extract_feat(clips.flatten(0, 1), num_frames=T)
        return self.panoptic_head.loss(x, frame_samples)

    # -------------------------------------------------------------- predict
    def _to_window(self, clips: Tensor) -> Tensor:
        """Bring ``(N, T', C, H, W)`` clips to ``T = self.num_frames`` frames
        ending at their last frame: the first frame is repeated in front
        (``T' < T``; a single image becomes a static clip) or the last ``T``
        frames are kept (``T' > T``)."""
        T, t_in = self.num_frames, clips.shape[1]
        if t_in < T:
            pad = clips[:, :1].expand(-1, T - t_in, -1, -1, -1)
            clips = torch.cat([pad, clips], dim=1)
        elif t_in > T:
            clips = clips[:, t_in - T:]
        return clips

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: ClipSamples,
                rescale: bool = True) -> List[DetDataSample]:
        """Instance masks of the last frame of each clip (or of each image).

        Args:
            batch_inputs (Tensor): ``(N, T', C, H, W)`` clips (``T' = 1``: an
                image as a 1-frame clip) or ``(N, C, H, W)`` images.
            batch_data_samples (list): ``N`` ``TrackDataSample`` clips or
                ``DetDataSample`` images.
            rescale (bool): masks / boxes at the original image size.

        Returns:
            list[DetDataSample]: per clip, its last frame's data sample with
            ``pred_instances`` (masks, labels, scores, bboxes).
        """
        clips = self._to_window(self._as_clips(batch_inputs))
        N, T = clips.shape[:2]
        last = [self._frames(s)[-1] for s in batch_data_samples]
        if len(last) != N:
            raise ValueError(f'{len(last)} data samples for {N} inputs')
        feats = self.extract_feat(clips.flatten(0, 1), num_frames=T)
        # the head only reads the meta information (batch_input_shape), the
        # same for every frame of a window: the last frame's, T times
        window_samples = [s for s in last for _ in range(T)]
        mask_cls, mask_pred = self.panoptic_head.predict(feats, window_samples)
        mask_cls, mask_pred = mask_cls[T - 1::T], mask_pred[T - 1::T]
        results_list = self.panoptic_fusion_head.predict(
            mask_cls, mask_pred, last, rescale=rescale)
        return self.add_pred_to_datasample(last, results_list)

    def predict_video(self,
                      video: Tensor,
                      video_sample: TrackDataSample,
                      rescale: bool = True) -> TrackDataSample:
        """Per-frame instance masks of a whole video, online.

        Frame ``t`` is predicted from the window of its last ``T`` frames
        (the first frame repeated in front while ``t < T - 1``), exactly as
        :meth:`predict` would predict the last frame of ``video[:t + 1]``.
        The backbone runs once per frame and only the features of the last
        ``T`` frames are kept, so memory does not grow with the video.

        Args:
            video (Tensor): ``(L, C, H, W)`` frames of one video.
            video_sample (TrackDataSample): its ``L`` frame samples.
            rescale (bool): masks / boxes at the original image size.

        Returns:
            TrackDataSample: ``video_sample`` with ``pred_instances`` set on
            every frame (masks, labels, scores, bboxes; no track ids).
        """
        frames = self._frames(video_sample)
        if len(frames) != video.shape[0]:
            raise ValueError(f'{len(frames)} frame samples for a video of '
                             f'{video.shape[0]} frames')
        T = self.num_frames
        window = FeatureWindow(T)
        for t, frame in enumerate(frames):
            feats = window.push(self.backbone(video[t:t + 1]))
            if self.with_neck:
                feats = self.neck(feats, num_frames=T)
            last = tuple(level[-1:] for level in feats)
            mask_cls, mask_pred = self.panoptic_head.predict(last, [frame])
            results = self.panoptic_fusion_head.predict(
                mask_cls, mask_pred, [frame], rescale=rescale)
            self.add_pred_to_datasample([frame], results)
        return video_sample

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: ClipSamples) -> Tuple[List[Tensor]]:
        """The head's raw outputs on the ``N * T`` frames of the clips."""
        clips = self._as_clips(batch_inputs)
        T = clips.shape[1]
        feats = self.extract_feat(clips.flatten(0, 1), num_frames=T)
        frame_samples = [f for s in batch_data_samples for f in self._frames(s)]
        return self.panoptic_head.forward(feats, frame_samples)


__all__ = ['VideoMask2Former']
