"""The online-VIS core shared by the package's online models.

A model of the package's online VIS protocol (``OnlineMask2FormerVIS``,
``DecoupledVIS``, ``STMask``, ``STC``) inherits :class:`OnlineVISMixin`
next to its mmdet base class and writes only what is its own:
:meth:`~OnlineVISMixin.predict_frame` (one frame in, the frame's
``pred_track_instances`` out) and, if it keeps state across frames besides
its tracker, :meth:`~OnlineVISMixin.reset_video_state`. The mixin owns:

* the frame loop (:meth:`~OnlineVISMixin.predict_online`, over the checked
  :func:`~.online_frames.online_frames`);
* the **single new-video decision** (:meth:`~OnlineVISMixin.
  start_video_if_new`: ``frame_id == 0`` or another ``video_id``), which
  resets the tracker (a :class:`~mmvis_pretrain.models.trackers.
  BaseVISTracker`, whose per-track payload carries what a model keeps per
  track) and the model's video state, once per video;
* the sliding feature window (:class:`FeatureWindow`);
* the resize of mask probabilities to the original frame
  (:func:`~mmvis_pretrain.structures.resize_masks_to_original`).

Call chain of one online frame (``model.test_step`` on one
``TrackDataSample``)::

    predict(inputs, data_samples)                     # the model's mmdet API
      predict_online(inputs, data_samples)            # OnlineVISMixin
        for image, frame in online_frames(...):       # checked (1, C, H, W)
          start_video_if_new(frame.metainfo)          # tracker.reset() once
          frame.pred_track_instances = predict_frame(image, meta, rescale)
            # the model: features (FeatureWindow), head, tracker.update,
            # resize_masks_to_original
"""
from abc import ABCMeta, abstractmethod
from typing import Any, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from .online_frames import online_frames


class FeatureWindow:
    """The multi-level features of the last ``size`` frames.

    At the start of a video the first frame's features fill the window
    (repeated), so a temporal neck always sees ``size`` frames.

    Args:
        size (int): Frames in the window (``T``).
    """

    def __init__(self, size: int) -> None:
        if int(size) < 1:
            raise ValueError(f'FeatureWindow: size must be >= 1, got {size}')
        self.size = int(size)
        self._frames: List[Tuple[Tensor, ...]] = []

    def reset(self) -> None:
        """Forget the frames (a new video)."""
        self._frames = []

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Add one frame's features and return the window.

        Args:
            feats (Sequence[Tensor]): Per level ``(1, C_l, H_l, W_l)``.

        Returns:
            tuple[Tensor]: Per level ``(T, C_l, H_l, W_l)``, oldest first.
        """
        feats = tuple(feats)
        frames = self._frames or [feats] * (self.size - 1)
        self._frames = (frames + [feats])[-self.size:]
        return tuple(torch.cat(level) for level in zip(*self._frames))


class OnlineVISMixin(metaclass=ABCMeta):
    """Frame loop, new-video reset and per-video state of an online model.

    The model sets ``self.tracker`` (a ``BaseVISTracker``) and implements
    :meth:`predict_frame`; see the module doc for the call chain.
    """

    #: ``video_id`` of the video being predicted (None before the first).
    _video_key: Any = None

    def predict(self,
                inputs: Tensor,
                data_samples: Sequence,
                rescale: bool = True,
                **kwargs) -> list:
        """mmdet's ``predict`` of an online model: :meth:`predict_online`
        (a model that also predicts images overrides it)."""
        return self.predict_online(inputs, data_samples, rescale)

    def predict_online(self,
                       inputs: Tensor,
                       data_samples: Sequence,
                       rescale: bool = True) -> list:
        """Predict the frames of one ``TrackDataSample`` in order.

        Args:
            inputs (Tensor): ``(1, T, C, H, W)``.
            data_samples (Sequence[TrackDataSample]): one sample of ``T``
                frames (metainfo ``frame_id``, ``video_id``, ``img_shape``,
                ``ori_shape``, ...).
            rescale (bool): outputs at ``ori_shape`` (else ``img_shape``).

        Returns:
            list[TrackDataSample]: ``data_samples``, every frame with
            ``pred_track_instances``.
        """
        for image, frame in online_frames(inputs, data_samples,
                                          type(self).__name__):
            meta = frame.metainfo
            self.start_video_if_new(meta)
            frame.pred_track_instances = self.predict_frame(
                image, meta, rescale)
        return list(data_samples)

    def start_video_if_new(self, meta: dict) -> bool:
        """The one new-video decision: ``frame_id == 0`` or a ``video_id``
        other than the last frame's. Resets the tracker and the model's
        video state (:meth:`reset_video_state`).

        Args:
            meta (dict): The frame's metainfo.

        Returns:
            bool: Whether a new video started.
        """
        frame_id = meta.get('frame_id')
        if frame_id is None:
            raise KeyError('online VIS needs `frame_id` in the frame '
                           'metainfo (PackTrackInputs meta_keys)')
        key = meta.get('video_id')
        if int(frame_id) != 0 and key == self._video_key:
            return False
        self.tracker.reset()
        self.reset_video_state()
        self._video_key = key
        return True

    def track_frame(self, image: Tensor, meta: dict,
                    rescale: bool = True) -> InstanceData:
        """One frame outside the loop: :meth:`start_video_if_new`, then
        :meth:`predict_frame` (e.g. a video streamed frame by frame)."""
        self.start_video_if_new(meta)
        return self.predict_frame(image, meta, rescale)

    def reset_video_state(self) -> None:
        """Forget the model's own per-video state (e.g. a
        :class:`FeatureWindow`); the tracker is reset separately."""

    @abstractmethod
    def predict_frame(self, image: Tensor, meta: dict,
                      rescale: bool = True) -> InstanceData:
        """Predict and track one frame.

        Args:
            image (Tensor): ``(1, C, H, W)`` the pre-processed frame.
            meta (dict): its metainfo.
            rescale (bool): outputs at ``ori_shape`` (else ``img_shape``).

        Returns:
            InstanceData: ``pred_track_instances``: ``instances_id``,
            ``labels``, ``scores``, ``masks`` (bool) and ``bboxes``.
        """

    @staticmethod
    def output_shape(meta: dict, rescale: bool) -> Tuple[int, int]:
        """``ori_shape`` with ``rescale``, else ``img_shape``."""
        return tuple(meta['ori_shape'][:2] if rescale else
                     meta['img_shape'][:2])

    @staticmethod
    def input_shape(meta: dict,
                    default: Optional[Sequence[int]] = None
                    ) -> Tuple[int, int]:
        """The padded network input ``(H, W)`` of a frame."""
        shape = meta.get('batch_input_shape', default)
        if shape is None:
            shape = meta['img_shape']
        return tuple(int(s) for s in shape[:2])


__all__ = ['FeatureWindow', 'OnlineVISMixin']
