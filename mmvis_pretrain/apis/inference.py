"""Build a VIS model from a config / checkpoint and run it on a video,
frame by frame, following the package's online VIS protocol.

The test dataloader of an online VIS config (``TrackImgSampler``) gives the
model one frame per step: a ``TrackDataSample`` with one ``DetDataSample``,
inputs ``(N=1, T=1, C, H, W)`` after mmdet's ``TrackDataPreprocessor``.
:func:`inference_vis_video` builds exactly these samples from decoded
frames:

* the config's **test pipeline** (``cfg.test_dataloader.dataset.pipeline``)
  with every ``LoadImageFromFile`` replaced by mmdet's
  ``LoadImageFromNDArray`` and the annotation loaders
  (``LoadTrackAnnotations``, ``LoadAnnotations``, ...) removed
  (:func:`build_vis_test_pipeline`), so resizing, normalisation keys and
  packing are those of evaluation;
* the per-frame input dict of mmdet's ``BaseVideoDataset.prepare_data`` in
  test mode (:func:`pack_vis_frame`): one-entry lists ``img``, ``img_id``,
  ``frame_id`` (0-based), ``video_id``, ``video_length`` (``1``: frames in
  this sample) and ``ori_video_length`` (frames of the video), hence the
  frame metainfo ``video_id, frame_id, video_length, ori_video_length,
  ori_shape, img_shape, scale_factor, img_id, img_path``;
* mmengine's default ``pseudo_collate`` and ``model.test_step`` under
  ``torch.no_grad()``.

Models reset their tracking state on ``frame_id == 0``; every yielded result
carries ``pred_track_instances`` (:func:`get_track_instances`).
"""
from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import (Any, Callable, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

import numpy as np
import torch
import torch.nn as nn
from mmcv.ops import RoIPool
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.structures import InstanceData

from ..registry import DATASETS, MODELS, SCOPE
from ..structures import decode_rle
from ..utils.class_set import apply_class_set
from ..utils.config_check import check_constructor_keys

#: Transforms replaced by ``LoadImageFromNDArray``.
IMAGE_LOADERS = ('LoadImageFromFile', )
#: Already ndarray loaders (kept as they are).
NDARRAY_LOADERS = ('LoadImageFromNDArray', )
#: Annotation loaders dropped from the test pipeline (no annotations here).
ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadTrackAnnotations',
                      'LoadPanopticAnnotations', 'LoadSemSegAnnotations')

VISResult = Union[TrackDataSample, DetDataSample]


def default_device() -> str:
    """``'cuda:0'`` when CUDA is available, else ``'cpu'``."""
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def _config_scope(cfg: Config) -> str:
    return cfg.get('default_scope') or SCOPE


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def _checkpoint_dataset_meta(checkpoint: dict) -> Optional[dict]:
    """``dataset_meta`` (keys lower-cased) or ``CLASSES`` of a checkpoint."""
    meta = checkpoint.get('meta') or {}
    if meta.get('dataset_meta'):
        return {k.lower(): v for k, v in meta['dataset_meta'].items()}
    if meta.get('CLASSES'):
        return dict(classes=tuple(meta['CLASSES']))
    return None


def _config_dataset_meta(cfg: Config) -> dict:
    """``classes`` of the config's test dataset: its ``metainfo`` entry, or
    the dataset class's metainfo (built with ``lazy_init``, no file read)."""
    dataset_cfg = cfg.get('test_dataloader', {}).get('dataset')
    if dataset_cfg is None:
        return dict(classes=None)
    classes = (dataset_cfg.get('metainfo') or {}).get('classes')
    if classes is None:
        dataset_cfg = copy.deepcopy(dataset_cfg)
        dataset_cfg['lazy_init'] = True
        try:
            with DefaultScope.overwrite_default_scope(_config_scope(cfg)):
                classes = DATASETS.build(dataset_cfg).metainfo.get('classes')
        except Exception as e:  # metadata only: the demo works without it
            warnings.warn(f'no class names: cannot build the test dataset '
                          f'of the config to read them ({e!r})')
    return dict(classes=None if classes is None else tuple(classes))


def init_vis_model(config: Union[str, Path, Config],
                   checkpoint: Optional[str] = None,
                   device: Optional[str] = None,
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a VIS model from a config and load its checkpoint.

    The model is built by this package's ``MODELS`` registry in the config's
    ``default_scope`` (``mmvis_pretrain`` when unset; the current default
    scope is left as it is: :func:`inference_vis_video` enters the config's
    scope for each frame), SyncBN is reverted to BN, and the model is put on ``device`` in eval mode with ``model.cfg``
    (the config) and ``model.dataset_meta`` (``classes``) set.
    ``dataset_meta`` comes from the checkpoint's ``meta['dataset_meta']``
    (``meta['CLASSES']`` of old checkpoints), else from the config's test
    dataset. ``init_weights`` is not called, so no pre-trained weights are
    downloaded; without a checkpoint the weights stay random (a warning).

    Args:
        config (str | Path | Config): Config file or object (copied).
        checkpoint (str, optional): Checkpoint file. Defaults to None.
        device (str, optional): ``'cpu'``, ``'cuda:0'``, ... Defaults to
            :func:`default_device`.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model in eval mode.
    """
    if isinstance(config, (str, Path)):
        cfg = Config.fromfile(str(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config)}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    # `classes` / `num_classes` written through heads and data
    # (docs/class_set.md); idempotent on an already applied config
    apply_class_set(cfg)
    if 'model' not in cfg:
        raise KeyError(f'the config {cfg.filename} has no `model`')
    device = default_device() if device is None else str(device)
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'device {device!r} asked for, but CUDA is not '
                           "available; use device='cpu'")

    import mmvis_pretrain  # noqa: F401  (registers every component)
    # misspelt arguments of the package's classes (model and the test
    # pipeline built below) fail here, naming the config path
    check_constructor_keys(cfg, default_scope=_config_scope(cfg))
    with DefaultScope.overwrite_default_scope(_config_scope(cfg)):
        model = revert_sync_batchnorm(MODELS.build(cfg.model))

    dataset_meta = None
    if checkpoint is None:
        warnings.warn('init_vis_model: no checkpoint, the weights are random')
    else:
        ckpt = load_checkpoint(model, str(checkpoint), map_location='cpu')
        dataset_meta = _checkpoint_dataset_meta(ckpt)
    if dataset_meta is None:
        dataset_meta = _config_dataset_meta(cfg)
    model.dataset_meta = dataset_meta
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


# --------------------------------------------------------------------------
# pipeline
# --------------------------------------------------------------------------
def _type_name(transform: dict) -> str:
    """``'Resize'`` of ``type='Resize'``, ``'mmdet.Resize'`` or a class."""
    kind = transform.get('type')
    if isinstance(kind, str):
        return kind.split('.')[-1]
    return getattr(kind, '__name__', str(kind))


def _to_ndarray_loading(transforms: Sequence[Any],
                        loaders: List[str]) -> List[Any]:
    """Copy of ``transforms`` (nested ``transforms`` of wrappers such as
    ``TransformBroadcaster`` included) with the image loaders replaced and the
    annotation loaders removed; the names of the loaders go to
    ``loaders``."""
    out = []
    for transform in transforms:
        if isinstance(transform, (list, tuple)):  # e.g. TestTimeAug branches
            out.append(_to_ndarray_loading(transform, loaders))
            continue
        transform = copy.deepcopy(transform)
        name = _type_name(transform)
        if name in ANNOTATION_LOADERS:
            continue
        if name in IMAGE_LOADERS:
            transform['type'] = 'mmdet.LoadImageFromNDArray'
            loaders.append(name)
        elif name in NDARRAY_LOADERS:
            loaders.append(name)
        inner = transform.get('transforms')
        if isinstance(inner, dict):
            transform['transforms'] = _to_ndarray_loading([inner], loaders)
        elif isinstance(inner, (list, tuple)):
            transform['transforms'] = _to_ndarray_loading(inner, loaders)
        out.append(transform)
    return out


def vis_test_pipeline_cfg(cfg: Config) -> List[dict]:
    """The config's test pipeline for in-memory frames (see the module
    doc); raises ``ValueError`` if it has no ``LoadImageFromFile``."""
    if 'test_dataloader' not in cfg:
        raise KeyError(f'the config {cfg.filename} has no `test_dataloader`')
    pipeline = get_test_pipeline_cfg(cfg)
    loaders: List[str] = []
    converted = _to_ndarray_loading(pipeline, loaders)
    if not loaders:
        raise ValueError(
            f'the test pipeline of {cfg.filename} has no LoadImageFromFile '
            f'to feed decoded frames through: '
            f'{[_type_name(t) for t in pipeline if isinstance(t, dict)]}')
    return converted


def build_vis_test_pipeline(cfg: Config) -> Compose:
    """Build :func:`vis_test_pipeline_cfg` in the config's default scope."""
    pipeline = vis_test_pipeline_cfg(cfg)
    with DefaultScope.overwrite_default_scope(_config_scope(cfg)):
        return Compose(pipeline)


def pack_vis_frame(pipeline: Compose,
                   frame: np.ndarray,
                   frame_id: int,
                   video_length: int,
                   video_id: int = 0,
                   img_id: Optional[int] = None,
                   img_path: Optional[str] = None) -> dict:
    """One frame as the VIS test dataloader packs it (before collation).

    Args:
        pipeline (Compose): :func:`build_vis_test_pipeline`.
        frame (np.ndarray): BGR ``(H, W, 3)`` frame (``uint8`` as decoded).
        frame_id (int): 0-based index of the frame in the video.
        video_length (int): Frames of the video (``ori_video_length``).
        video_id (int): Video id. Defaults to 0.
        img_id (int, optional): Image id. Defaults to ``frame_id + 1``
            (as ``mmdet.apis.inference_mot``).
        img_path (str, optional): Source file of the frame, stored in the
            metainfo (``LoadImageFromNDArray`` sets None).

    Returns:
        dict: ``inputs`` ``(1, C, H', W')`` and ``data_samples`` (a
        ``TrackDataSample`` with one frame).
    """
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3
            and frame.shape[2] == 3):
        shape = getattr(frame, 'shape', type(frame).__name__)
        raise ValueError(f'frame {frame_id} of video {video_id} must be a '
                         f'(H, W, 3) BGR array, got {shape}')
    data = dict(
        img=[frame],
        img_id=[frame_id + 1 if img_id is None else img_id],
        frame_id=[frame_id],
        video_id=[video_id],
        video_length=[1],
        ori_video_length=[video_length])
    packed = pipeline(data)
    if img_path is not None:
        packed['data_samples'][0].set_metainfo(dict(img_path=str(img_path)))
    return packed


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------
def get_track_instances(result: VISResult) -> InstanceData:
    """``pred_track_instances`` of a one-frame result.

    Args:
        result (TrackDataSample | DetDataSample): A result of
            :func:`inference_vis_video`.

    Returns:
        InstanceData: ``instances_id``, ``labels``, ``scores``, ``masks``
        (and maybe ``bboxes``) of the frame.
    """
    sample = result
    if isinstance(result, TrackDataSample):
        if len(result) != 1:
            raise ValueError(f'expected one frame per result, got '
                             f'{len(result)}')
        sample = result[0]
    if not isinstance(sample, DetDataSample) or \
            'pred_track_instances' not in sample:
        raise ValueError(
            f'the model returned {type(result).__name__} without '
            '`pred_track_instances`: it does not follow the online VIS '
            'protocol (see docs/video_demo.md)')
    return sample.pred_track_instances


def _check_no_cpu_roi_pool(model: nn.Module) -> None:
    params = next(model.parameters(), None)
    if params is not None and params.is_cuda:
        return
    if any(isinstance(m, RoIPool) for m in model.modules()):
        raise RuntimeError('mmcv RoIPool has no CPU implementation; run on '
                           'CUDA or use RoIAlign')


def inference_vis_video(model: nn.Module,
                        frames: Iterable[np.ndarray],
                        video_length: int,
                        video_id: int = 0,
                        img_paths: Union[Sequence[str],
                                         Callable[[int], Optional[str]],
                                         None] = None
                        ) -> Iterator[Tuple[np.ndarray, VISResult]]:
    """Run an online VIS model on a video, one frame at a time.

    The arguments are checked and the pipeline built at the call; frames are
    read from ``frames`` only as the returned iterator is advanced, one per
    result, so a video of any length streams through in constant memory.

    Args:
        model (nn.Module): A model of :func:`init_vis_model` (``model.cfg``
            is used for the test pipeline).
        frames (Iterable[np.ndarray]): BGR ``(H, W, 3)`` frames, e.g. a
            :class:`~mmvis_pretrain.apis.video_sources.FrameSource`.
        video_length (int): Number of frames (the models' ``frame_id`` /
            ``ori_video_length`` refer to it).
        video_id (int): Video id of the metainfo. Defaults to 0.
        img_paths (Sequence[str] | Callable, optional): Source file of each
            frame (metainfo ``img_path``), or a function ``frame_id ->
            path`` called as each frame is packed (for frames whose files
            are known only as they come, e.g. when undecodable ones are
            skipped). Defaults to None.

    Yields:
        tuple: ``(frame, result)``: the BGR frame given and what
        ``model.test_step`` returns for it, a ``TrackDataSample`` (or
        ``DetDataSample``) with ``pred_track_instances`` on its frame
        (:func:`get_track_instances`).

    Raises:
        ValueError: ``frames`` yields more than ``video_length`` frames, or
            a frame is not ``(H, W, 3)``. Fewer frames only warn.
    """
    if not hasattr(model, 'cfg'):
        raise AttributeError('the model has no `cfg`: build it with '
                             'init_vis_model or set model.cfg = config')
    video_length = int(video_length)
    if video_length <= 0:
        raise ValueError(f'video_length must be positive, got {video_length}')
    if img_paths is not None and not callable(img_paths):
        img_paths = list(img_paths)
        if len(img_paths) != video_length:
            raise ValueError(f'{len(img_paths)} img_paths for a video of '
                             f'{video_length} frames')
    _check_no_cpu_roi_pool(model)
    pipeline = build_vis_test_pipeline(model.cfg)
    return _stream(model, pipeline, frames, video_length, video_id,
                   img_paths)


def _stream(model: nn.Module, pipeline: Compose,
            frames: Iterable[np.ndarray], video_length: int, video_id: int,
            img_paths: Union[List[str], Callable[[int], Optional[str]],
                             None]) -> Iterator[Tuple[np.ndarray, VISResult]]:
    """The generator behind :func:`inference_vis_video`.

    A model with ``frames_per_step > 1`` (an offline model, e.g.
    ``DecoupledVIS`` with ``inference_mode='offline'``: its refiner chunk)
    gets that many consecutive frames per ``test_step`` (the last piece may
    be shorter); only those frames are buffered, and their results are
    yielded one frame each, RLE masks decoded, after the step.
    """
    num = 0
    scope = _config_scope(model.cfg)
    per_step = max(int(getattr(model, 'frames_per_step', 1) or 1), 1)
    pending = []  # (frame, packed) of the current step

    def run(batch):
        # neither grad mode nor scope is held across the yield
        with torch.no_grad(), DefaultScope.overwrite_default_scope(scope):
            if per_step == 1:
                return model.test_step(pseudo_collate([batch[0][1]]))
            return _split_frames(
                model.test_step(pseudo_collate([_merge_frames(
                    [packed for _, packed in batch])])))

    for frame_id, frame in enumerate(frames):
        if frame_id >= video_length:
            raise ValueError(f'video {video_id}: more frames than '
                             f'video_length={video_length}')
        if img_paths is None:
            img_path = None
        elif callable(img_paths):
            img_path = img_paths(frame_id)
        else:
            img_path = img_paths[frame_id]
        pending.append((frame, pack_vis_frame(pipeline, frame, frame_id,
                                              video_length, video_id,
                                              img_path=img_path)))
        num += 1
        if len(pending) == per_step or num == video_length:
            batch, pending = pending, []
            for (image, _), result in zip(batch, run(batch)):
                yield image, result
    if pending:  # fewer frames than video_length
        for (image, _), result in zip(pending, run(pending)):
            yield image, result
    if num < video_length:
        warnings.warn(f'video {video_id}: only {num} of video_length='
                      f'{video_length} frames were given')


def _merge_frames(packed: Sequence[dict]) -> dict:
    """Consecutive one-frame samples of :func:`pack_vis_frame` -> one
    sample of ``T`` frames (inputs ``(T, C, H, W)``)."""
    sample = TrackDataSample()
    sample.video_data_samples = [
        p['data_samples'].video_data_samples[0] for p in packed
    ]
    return dict(inputs=torch.cat([p['inputs'] for p in packed]),
                data_samples=sample)


def _split_frames(results: Sequence[TrackDataSample]) -> List[TrackDataSample]:
    """One multi-frame result -> one ``TrackDataSample`` per frame, RLE
    masks decoded to bool tensors (what a frame consumer expects)."""
    out = []
    for frame in results[0].video_data_samples:
        pred = frame.get('pred_track_instances')
        if pred is not None and isinstance(pred.get('masks'), list):
            shape = tuple(frame.metainfo['ori_shape'][:2])
            pred.masks = torch.from_numpy(
                np.ascontiguousarray(decode_rle(pred.masks, shape)))
        sample = TrackDataSample()
        sample.video_data_samples = [frame]
        out.append(sample)
    return out
