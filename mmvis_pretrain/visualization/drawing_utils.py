"""Colours and data conversions of :mod:`.clip_renderer`.

Pure helpers without drawing: the colour of an instance id
(:func:`instance_color`), packed ``inputs`` -> RGB frames
(:func:`inputs_to_frames`, :func:`unpack_sample`), boxes / masks of any
mmdet type -> numpy arrays (:func:`boxes_to_array`, :func:`masks_to_array`,
:func:`clip_boxes`; boxes of masks are
:func:`mmvis_pretrain.structures.mask_ops.mask_boxes`) and file-name safe
sample names (:func:`sample_name`).
"""
from __future__ import annotations

import colorsys
import math
import os.path as osp
import re
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.structures import InstanceData

Color = Tuple[int, int, int]

_PHI = (math.sqrt(5) - 1) / 2  # golden ratio conjugate: well spread hues


# --------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------
def instance_color(key: int) -> Color:
    """Return the RGB colour of an instance id (or index).

    A pure function of ``key`` (no RNG involved): the hue advances by the
    golden ratio per id, so consecutive ids get far apart hues, and saturation
    / value vary with other irrational steps so that ids with nearly equal
    hues still differ.

    Args:
        key (int): Instance id (clips) or instance index (images).

    Returns:
        tuple[int, int, int]: RGB colour, each channel in ``[0, 255]``.
    """
    key = int(key)
    hue = (key * _PHI) % 1.0
    sat = 0.6 + 0.4 * ((key * math.sqrt(2)) % 1.0)
    val = 0.75 + 0.25 * ((key * math.sqrt(3)) % 1.0)
    rgb = colorsys.hsv_to_rgb(hue, sat, val)
    return tuple(int(round(255 * c)) for c in rgb)


def instance_keys(instances: InstanceData) -> Tuple[List[int], bool]:
    """Return the colour keys of ``instances`` and whether they are ids.

    Ground truth packed by ``PackTrackInputs`` stores ``instances_ids``;
    mmdet's trackers store predictions as ``instances_id``. Without either
    the instance index is used.

    Args:
        instances (InstanceData): Instances of one frame.

    Returns:
        tuple[list[int], bool]: The keys and ``True`` if they are track ids.
    """
    for name in ('instances_ids', 'instances_id'):
        if name in instances:
            ids = instances.get(name)
            return [int(i) for i in to_numpy(ids).reshape(-1)], True
    return list(range(len(instances))), False


# --------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------
def to_numpy(value: Any) -> np.ndarray:
    """Convert a tensor / array / sequence into a numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def boxes_to_array(bboxes: Any) -> np.ndarray:
    """Convert boxes (``BaseBoxes``, tensor, array) into ``(N, 4)`` float.

    Args:
        bboxes: Boxes in ``x1, y1, x2, y2`` order.

    Returns:
        np.ndarray: ``float32`` array of shape ``(N, 4)``.
    """
    if isinstance(bboxes, BaseBoxes):
        bboxes = bboxes.tensor
    return to_numpy(bboxes).astype(np.float32).reshape(-1, 4)


def fit_mask_size(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or zero-pad ``(N, h, w)`` masks to ``(N, height, width)``."""
    out = np.zeros((masks.shape[0], height, width), dtype=bool)
    h, w = min(height, masks.shape[1]), min(width, masks.shape[2])
    out[:, :h, :w] = masks[:, :h, :w]
    return out


def masks_to_array(masks: Any, height: int, width: int) -> np.ndarray:
    """Convert instance masks into a boolean ``(N, height, width)`` array.

    Args:
        masks: ``BitmapMasks``, ``PolygonMasks``, a tensor, an array or a
            list of COCO RLE dicts (e.g. an offline model's predictions).
        height (int): Height of the image the masks belong to.
        width (int): Width of the image the masks belong to.

    Returns:
        np.ndarray: Boolean masks; cropped / zero-padded to the image size if
        a pipeline left them with another size.
    """
    if isinstance(masks, (BitmapMasks, PolygonMasks)):
        masks = masks.to_ndarray()
    elif isinstance(masks, (list, tuple)) and (not masks or isinstance(
            masks[0], dict)):
        from ..structures import decode_rle
        masks = decode_rle(masks, (height, width))
    masks = to_numpy(masks)
    if masks.ndim == 2:
        masks = masks[None]
    masks = masks.astype(bool)
    if masks.shape[1:] != (height, width):
        masks = fit_mask_size(masks, height, width)
    return masks


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clip ``(N, 4)`` ``x1, y1, x2, y2`` boxes into the image, in place.

    Coordinates end up in ``[0, width - 1]`` / ``[0, height - 1]``: mmengine's
    ``Visualizer`` warns ("... is out of bounds") about any coordinate that is
    not ``< width`` / ``< height``, so a box reaching the right or bottom
    border (``x2 == width``, as tight mask boxes do) is pulled in by one pixel.

    Args:
        boxes (np.ndarray): Float boxes, modified in place.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: ``boxes``.
    """
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, max(width - 1, 0))
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, max(height - 1, 0))
    return boxes


def label_font_size(height: int, width: int) -> int:
    """Label font size (cap height in pixels) from the frame size: about
    1/30 of the shorter side, 7 to 24, the same for every label of a frame
    (mmdet scales it by the box area, which makes the labels of small
    objects unreadable on large frames)."""
    return int(np.clip(round(min(height, width) / 30), 7, 24))


def label_size(text: str, font_size: int) -> Tuple[float, float]:
    """``(width, height)`` in pixels of a one-line label with its padded
    background box, as :func:`~.raster.draw_label` draws it (OpenCV's
    text extents)."""
    from .raster import label_pad, text_box
    w, h, base = text_box(text, font_size)
    pad = label_pad(font_size)
    return float(w + 2 * pad), float(h + base + 2 * pad)


def place_labels(anchors: np.ndarray, sizes: Sequence[Tuple[float, float]],
                 height: int, width: int) -> np.ndarray:
    """Top-left positions of labels inside the frame, avoiding overlaps.

    Each label starts at its anchor (the top-left corner of its box),
    shifted left / up as needed to fit in the frame; a label that would
    overlap one already placed moves to the nearest free height in its
    column (searched in steps of a quarter of its height, nearer first,
    below before above at equal distance), or stays at its first in-frame
    position when the column has no free place (a crowded frame). Labels
    are placed in the given order: earlier ones keep their anchor.

    Args:
        anchors (np.ndarray): ``(N, 2)`` x, y.
        sizes (Sequence[tuple]): ``(w, h)`` of each label.
        height, width (int): Frame size.

    Returns:
        np.ndarray: ``(N, 2)`` float positions.
    """
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    out = np.zeros_like(anchors)
    placed = np.zeros((0, 4))  # x, y, w, h
    for i in range(len(anchors)):
        w, h = (float(v) for v in sizes[i])
        x = float(np.clip(anchors[i, 0], 0, max(width - w, 0)))
        y0 = float(np.clip(anchors[i, 1], 0, max(height - h, 0)))
        step = max(h / 4, 1.0)
        ys = np.concatenate([[y0], np.arange(0.0, max(height - h, 0) + 1e-6,
                                             step), [max(height - h, 0.0)]])
        # nearest first; below before above at equal distance
        ys = ys[np.lexsort((ys < y0, np.abs(ys - y0)))]
        if len(placed):
            px, py, pw, ph = placed.T
            column = ~((x + w <= px) | (px + pw <= x))
            py, ph = py[column], ph[column]
            free = ~((ys[:, None] < py + ph) & (py < ys[:, None] + h)).any(1)
            y = float(ys[np.argmax(free)]) if free.any() else y0
        else:
            y = y0
        out[i] = (x, y)
        placed = np.vstack([placed, [x, y, w, h]])
    return out


def inputs_to_frames(inputs: Any, bgr: bool = True) -> List[np.ndarray]:
    """Turn packed ``inputs`` into RGB ``uint8`` ``(H, W, 3)`` frames.

    Args:
        inputs: Tensor / array ``(3, H, W)`` (image) or ``(T, 3, H, W)``
            (clip), as packed by ``PackDetInputs`` / ``PackTrackInputs``.
        bgr (bool): Whether the channels are BGR (mmcv's loading default).
            Defaults to True.

    Returns:
        list[np.ndarray]: One contiguous RGB frame per time step.
    """
    array = to_numpy(inputs)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError('inputs must have shape (3, H, W) or (T, 3, H, W), '
                         f'got {tuple(array.shape)}')
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    array = array.transpose(0, 2, 3, 1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if bgr:
        array = array[..., ::-1]
    return [np.ascontiguousarray(frame) for frame in array]


def unpack_sample(sample: Dict[str, Any],
                  bgr: bool = True
                  ) -> Tuple[List[np.ndarray], List[DetDataSample], bool]:
    """Split a packed sample into RGB frames and per-frame data samples.

    Args:
        sample (dict): ``dict(inputs=..., data_samples=...)``.
        bgr (bool): Whether ``inputs`` is BGR. Defaults to True.

    Returns:
        tuple: ``(frames, frame_samples, is_clip)``.
    """
    data_samples = sample['data_samples']
    frames = inputs_to_frames(sample['inputs'], bgr=bgr)
    is_clip = isinstance(data_samples, TrackDataSample)
    if is_clip:
        frame_samples = [data_samples[t] for t in range(len(data_samples))]
    else:
        frame_samples = [data_samples]
    if len(frame_samples) != len(frames):
        raise ValueError(f'{len(frames)} frames but {len(frame_samples)} '
                         'data samples in the packed sample')
    return frames, frame_samples, is_clip


def safe_name(name: str) -> str:
    """Make ``name`` usable in a file name (keeps ``[A-Za-z0-9._-]``)."""
    name = re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('._')
    return name or 'sample'


def sample_name(frame_samples: Sequence[DetDataSample], is_clip: bool) -> str:
    """Name of a sample: image stem, or the video's folder name for clips
    (a pseudo-video, whose frames all come from one image: the image stem).

    YouTube-VIS style ``file_name`` values are ``<video>/<frame>.jpg``, so the
    folder of a frame is the video name; ``video<id>`` is the fallback.

    Args:
        frame_samples (list[DetDataSample]): Data samples of the frames.
        is_clip (bool): Whether the sample is a clip.

    Returns:
        str: A file-name safe name.
    """
    first = frame_samples[0]
    img_path = first.metainfo.get('img_path')
    paths = {f.metainfo.get('img_path') for f in frame_samples}
    if is_clip and len(paths) == 1 and img_path:
        # a pseudo-video: every frame comes from the same image
        is_clip = False
    if not is_clip:
        if img_path:
            return safe_name(osp.splitext(osp.basename(img_path))[0])
        return safe_name(f"img{first.metainfo.get('img_id', '')}")
    folder = osp.basename(osp.dirname(img_path)) if img_path else ''
    if folder:
        return safe_name(folder)
    return safe_name(f"video{first.metainfo.get('video_id', '')}")
