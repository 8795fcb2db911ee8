"""The inputs of the online frames/s benchmark: frames through the test
pipeline, packed one per step as the online VIS protocol feeds a model.

Clip models (mmdet's ``TrackDataPreprocessor``) get a one-frame
``TrackDataSample`` per step (:func:`mmvis_pretrain.apis.pack_vis_frame`,
``frame_id`` = the frame's index in the video), image models a
``DetDataSample``.
"""
from typing import Any, List, Sequence

import numpy as np
from mmengine.dataset import pseudo_collate

from mmvis_pretrain.apis.inference import pack_vis_frame
from mmvis_pretrain.apis.video_sources import ImageSequenceSource


def set_resize_scale(transforms: Sequence[Any], height: int,
                     width: int) -> int:
    """Set ``scale=(width, height)`` on every ``Resize`` of a pipeline config
    (nested ``transforms`` of wrappers included, in place; a
    ``scale_factor`` is dropped; ``keep_ratio`` is left as it is).

    Returns:
        int: The number of ``Resize`` transforms changed.
    """
    changed = 0
    for transform in transforms:
        if isinstance(transform, (list, tuple)):  # TestTimeAug branches
            changed += set_resize_scale(transform, height, width)
            continue
        if not isinstance(transform, dict):
            continue
        kind = transform.get('type')
        name = kind.split('.')[-1] if isinstance(kind, str) else getattr(
            kind, '__name__', '')
        if name == 'Resize':
            transform['scale'] = (width, height)
            transform.pop('scale_factor', None)
            changed += 1
        inner = transform.get('transforms')
        if isinstance(inner, dict):
            changed += set_resize_scale([inner], height, width)
        elif isinstance(inner, (list, tuple)):
            changed += set_resize_scale(inner, height, width)
    return changed


def pack_frame(pipeline, frame: np.ndarray, index: int, video_length: int,
               clip_model: bool, img_path: str) -> dict:
    """One frame through the test pipeline (before collation).

    Args:
        pipeline (Compose): :func:`mmvis_pretrain.apis.
            build_vis_test_pipeline` of the config.
        frame (np.ndarray): BGR ``uint8`` frame ``(H, W, 3)``.
        index (int): Its index in the video (``frame_id``; ``img_id`` of
            image models).
        video_length (int): Frames ``L`` of the video.
        clip_model (bool): One-frame ``TrackDataSample`` (online protocol)
            or ``DetDataSample``.
        img_path (str): Its file, stored in the metainfo.

    Returns:
        dict: ``inputs``: uint8 ``(1, 3, H', W')`` for clip models,
        ``(3, H', W')`` for image models (``H' x W'`` after the pipeline's
        resize), and ``data_samples``.
    """
    if clip_model:
        return pack_vis_frame(pipeline, frame, index, video_length,
                              img_path=img_path)
    packed = pipeline(dict(img=frame, img_id=index))
    packed['data_samples'].set_metainfo(dict(img_path=img_path))
    return packed


def pack_frames(pipeline, paths: Sequence[str], clip_model: bool,
                video_length: int) -> List[dict]:
    """Decode (``ImageSequenceSource``) and pre-process every frame.

    Returns:
        list[dict]: One collated one-frame batch per file as the test
        dataloader gives it (``inputs``: a list of one tensor of
        :func:`pack_frame`), ``frame_id`` = the file's index.
    """
    batches = []
    for index, frame in enumerate(ImageSequenceSource(paths)):
        batches.append(pseudo_collate([pack_frame(
            pipeline, frame, index, video_length, clip_model,
            paths[index])]))
    return batches


def inputs_to(batch: dict, device: str) -> dict:
    """The batch with its input tensors on ``device`` (a shallow copy; the
    data samples are shared)."""
    return dict(batch, inputs=[x.to(device) for x in batch['inputs']])


__all__ = ['set_resize_scale', 'pack_frame', 'pack_frames', 'inputs_to']
