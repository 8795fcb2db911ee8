"""Random batches for the speed / memory benchmarks.

What ``tools/analysis_tools/benchmark_model.py`` feeds ``train_step`` /
``test_step``: random ``uint8`` images with a few random rectangular ground
truth instances (box, mask, label, instance id) per frame, so losses such as
Mask2Former's (matching, point sampling, dice) run in full. Clip models
(mmdet's ``TrackDataPreprocessor``) get clips as ``TrackDataSample`` s, image
models ``DetDataSample`` s, so both see the same frames.
"""
from typing import Any, Dict

import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData


def is_clip_model(model: torch.nn.Module) -> bool:
    """Whether the model takes clips (mmdet's ``TrackDataPreprocessor``);
    any other data preprocessor (e.g. ``DetDataPreprocessor``) means an
    image model."""
    return type(model.data_preprocessor).__name__ == 'TrackDataPreprocessor'


def num_classes_of(model: torch.nn.Module) -> int:
    """Classes of the model's ``panoptic_head`` (``num_classes`` or
    ``num_things_classes``); 1 when it has none."""
    head = getattr(model, 'panoptic_head', None)
    n = getattr(head, 'num_classes', None) or getattr(
        head, 'num_things_classes', None)
    return int(n) if n else 1


def random_frame_sample(h: int, w: int, num_instances: int, num_classes: int,
                        rng: np.random.Generator, frame_id: int = 0,
                        img_id: int = 0, with_gt: bool = True
                        ) -> DetDataSample:
    """A ``DetDataSample`` of an ``h x w`` frame with random rectangles as
    gt instances.

    Args:
        h, w (int): Frame size (``ori_shape`` = ``img_shape`` = ``(h, w)``,
            scale factor 1).
        num_instances (int): Instances ``I``.
        num_classes (int): Labels are drawn from ``[0, num_classes)``.
        rng (np.random.Generator): Source of the boxes and labels.
        frame_id, img_id (int): Meta information.
        with_gt (bool): Without, the sample has no ``gt_instances``.

    Returns:
        DetDataSample: ``gt_instances`` with ``bboxes`` ``(I, 4)`` float32
        ``xyxy``, ``masks`` ``BitmapMasks`` ``(I, h, w)`` uint8, ``labels``
        ``(I,)`` int64 and ``instances_ids`` ``0 .. I-1`` (the same
        instances in every frame of a clip, for tracking losses).
    """
    sample = DetDataSample(metainfo=dict(
        img_id=img_id, frame_id=frame_id, img_path=f'random_{img_id}.jpg',
        ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0),
        flip=False, flip_direction=None))
    if not with_gt:
        return sample
    masks = np.zeros((num_instances, h, w), dtype=np.uint8)
    boxes = np.zeros((num_instances, 4), dtype=np.float32)
    for i in range(num_instances):
        bh = int(rng.integers(max(1, h // 8), max(2, h // 2) + 1))
        bw = int(rng.integers(max(1, w // 8), max(2, w // 2) + 1))
        y0 = int(rng.integers(0, h - bh + 1))
        x0 = int(rng.integers(0, w - bw + 1))
        masks[i, y0:y0 + bh, x0:x0 + bw] = 1
        boxes[i] = (x0, y0, x0 + bw, y0 + bh)
    gt = InstanceData()
    gt.bboxes = torch.from_numpy(boxes)
    gt.labels = torch.from_numpy(
        rng.integers(0, num_classes, num_instances).astype(np.int64))
    gt.masks = BitmapMasks(masks, h, w)
    # the same instances in every frame of a clip (tracking losses)
    gt.instances_ids = torch.arange(num_instances)
    sample.gt_instances = gt
    return sample


def make_batch(clip_model: bool, n: int, t: int, h: int, w: int,
               num_instances: int, num_classes: int, seed: int,
               with_gt: bool = True) -> Dict[str, Any]:
    """A collated batch as the dataloader gives it to ``train_step`` /
    ``test_step``, deterministic for a seed.

    Args:
        clip_model (bool): Clips (see :func:`is_clip_model`) or images.
        n (int): Clips ``N``.
        t (int): Frames ``T`` per clip.
        h, w (int): Frame size.
        num_instances, num_classes (int): See :func:`random_frame_sample`.
        seed (int): Seed of the pixels and the instances.
        with_gt (bool): Whether the frames carry ``gt_instances``.

    Returns:
        dict: ``inputs`` and ``data_samples``. Clip models: ``n`` uint8
        tensors ``(T, 3, H, W)`` and ``n`` ``TrackDataSample`` s of ``T``
        frames (frame 0 the key frame, the others references). Image
        models: ``n * t`` uint8 tensors ``(3, H, W)`` and as many
        ``DetDataSample`` s.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)

    def img(*shape):
        return torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)

    inputs, samples = [], []
    if clip_model:
        for i in range(n):
            frames = [
                random_frame_sample(h, w, num_instances, num_classes, rng,
                                    frame_id=j, img_id=i, with_gt=with_gt)
                for j in range(t)
            ]
            track = TrackDataSample()
            track.video_data_samples = frames
            # the first frame is the key frame, the others references (as
            # mmdet's UniformRefFrameSample marks them; pair models read it)
            track.set_metainfo(
                dict(video_id=i, video_length=t, key_frames_inds=[0],
                     ref_frames_inds=list(range(1, t))))
            inputs.append(img(t, 3, h, w))
            samples.append(track)
    else:
        for i in range(n * t):
            inputs.append(img(3, h, w))
            samples.append(
                random_frame_sample(h, w, num_instances, num_classes, rng,
                                    img_id=i, with_gt=with_gt))
    return dict(inputs=inputs, data_samples=samples)


__all__ = [
    'is_clip_model', 'num_classes_of', 'random_frame_sample', 'make_batch'
]
