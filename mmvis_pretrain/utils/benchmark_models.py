"""Model and optimizer of a config, built as the training benchmarks time
them (``tools/analysis_tools/benchmark_model.py``, ``benchmark_mvc.py``)."""
import copy
from typing import Tuple

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from ..registry import MODELS
from .benchmark_batches import is_clip_model
from .split_dataset import init_scope

#: The optimizer of a config that has none (AdamW, as the VIS recipes).
DEFAULT_OPTIM = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))


def build_model(cfg: Config, device: str) -> torch.nn.Module:
    """The config's model on ``device``, without ``init_weights`` (no
    pre-trained weights are downloaded)."""
    init_scope(cfg)
    model = MODELS.build(cfg.model)
    return model.to(device)


def build_clip_model(cfg: Config, num_frames, device: str
                     ) -> Tuple[torch.nn.Module, int]:
    """:func:`build_model` for clips of ``T`` frames.

    ``T`` is ``num_frames`` or the config's ``model.num_frames`` (else 1).
    It is written into ``cfg.model`` / ``cfg.model.neck`` where they have a
    ``num_frames`` before the build (state sized at construction, e.g. the
    feature window of the online models), then set on a clip model and its
    neck.

    Returns:
        tuple: the model and ``T``.
    """
    T = num_frames or int(cfg.model.get('num_frames', 1) or 1)
    for part in (cfg.model, cfg.model.get('neck')):
        if isinstance(part, dict) and 'num_frames' in part:
            part['num_frames'] = T
    model = build_model(cfg, device)
    if is_clip_model(model) and hasattr(model, 'num_frames'):
        model.num_frames = T
        neck = getattr(model, 'neck', None)
        if neck is not None and hasattr(neck, 'num_frames'):
            neck.num_frames = T
    return model, T


def build_optimizer(cfg: Config, model: torch.nn.Module, amp: bool,
                    device: str):
    """The config's ``optim_wrapper`` (else :data:`DEFAULT_OPTIM`);
    ``AmpOptimWrapper`` with ``amp`` on CUDA."""
    optim_cfg = copy.deepcopy(cfg.get('optim_wrapper') or DEFAULT_OPTIM)
    if amp and device == 'cuda':
        optim_cfg['type'] = 'AmpOptimWrapper'
    return build_optim_wrapper(model, optim_cfg)


__all__ = ['DEFAULT_OPTIM', 'build_model', 'build_clip_model',
           'build_optimizer']
