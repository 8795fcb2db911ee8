"""The frame loop of the package's online VIS protocol, shared by the
online models (``OnlineMask2FormerVIS``, ``STMask``, ``STC``).

Under the protocol a test batch is ONE ``TrackDataSample`` (one video, or one
frame of it with ``TrackImgSampler``) and inputs ``(1, T, C, H, W)``; the
models predict its frames one after the other with their trackers.
"""
from typing import Iterator, Sequence, Tuple

from mmdet.structures import DetDataSample, TrackDataSample
from torch import Tensor


def online_frames(inputs: Tensor, data_samples: Sequence[TrackDataSample],
                  model_name: str) -> Iterator[Tuple[Tensor, DetDataSample]]:
    """Check a batch of the online protocol and yield its frames in order.

    Args:
        inputs (Tensor): ``(1, T, C, H, W)``.
        data_samples (Sequence[TrackDataSample]): one sample of ``T`` frames.
        model_name (str): for the error messages.

    Yields:
        tuple: ``(image (1, C, H, W) contiguous, frame DetDataSample)``.

    Raises:
        ValueError: inputs not 5-D, more than one video, or a number of
            frame samples that differs from ``T``.
    """
    if inputs.dim() != 5:
        raise ValueError(f'{model_name} expects (N, T, C, H, W) inputs, got '
                         f'{tuple(inputs.shape)}')
    if len(data_samples) != 1:
        raise ValueError(f'{model_name} predicts one video at a time (batch '
                         f'size 1), got {len(data_samples)} samples')
    frames = list(data_samples[0].video_data_samples)
    if len(frames) != inputs.size(1):
        raise ValueError(f'{model_name}: {len(frames)} frame samples for '
                         f'{inputs.size(1)} frames')
    for t, frame in enumerate(frames):
        yield inputs[:, t].contiguous(), frame


__all__ = ['online_frames']
