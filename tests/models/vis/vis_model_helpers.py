"""Shared helpers of the one-stage VIS model tests (STMask, STC): build the
tiny model of a config and feed it synthetic frame pairs or a validation
video frame by frame."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Small convolutions on a shared 2-core box: one thread avoids the
    OpenMP oversubscription that slows them down by an order of magnitude
    (conftest does the same under xdist). Import it into a test module to
    use it there."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_cfg(path):
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(path)


def build_dataset(cfg, root, loader):
    """``cfg[loader].dataset`` on the synthetic videos under ``root``."""
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg[loader].dataset)
    ds_cfg.data_root = osp.join(root, 'ytvis') + '/'
    return DATASETS.build(ds_cfg)


def build_model(cfg, **model_overrides):
    """The config's model (seed 0, initialised) with ``model_overrides``
    merged in."""
    from mmvis_pretrain.registry import MODELS
    model_cfg = Config(dict(model=copy.deepcopy(cfg.model)))
    model_cfg.merge_from_dict(dict(model=model_overrides))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg.model)
    model.init_weights()
    return model


def train_pairs(cfg, root, model, n=2):
    """``n`` pre-processed training clips (frame pairs), seed 0."""
    np.random.seed(0)
    dataset = build_dataset(cfg, root, 'train_dataloader')
    data = pseudo_collate([dataset[i] for i in range(n)])
    return model.data_preprocessor(data, training=True)


def video_frames(cfg, root, video=0):
    """The frames of one validation video as online samples (collated, not
    preprocessed: ``test_step`` preprocesses), in order."""
    dataset = build_dataset(cfg, root, 'test_dataloader')
    for frame in range(dataset.get_len_per_video(video)):
        yield pseudo_collate([dataset[(video, frame)]])
