"""Every config in configs/ builds: its model, and its datasets with their
pipelines, which produce a sample (on the synthetic data, with the category
names of the dataset's own class list)."""
import copy
import glob
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)
# base data set configs are complete data configs of their own
DATASET_BASES = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets', '**', '*.py'),
              recursive=True))


def _rel(path):
    return osp.relpath(path, REPO)


@pytest.fixture(scope='module')
def registered():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_model_builds(config, registered):
    from mmvis_pretrain.registry import MODELS
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)  # no init_weights: nothing downloaded
    assert sum(p.numel() for p in model.parameters()) > 0


def _relabelled_ann(synthetic_root, split, classes, tmp_path):
    """The synthetic video JSON of ``split`` with its categories renamed to
    the first classes of the dataset under test."""
    src = osp.join(synthetic_root, 'ytvis', f'{split}.json')
    with open(src) as f:
        data = json.load(f)
    for cat, name in zip(data['categories'], classes):
        cat['name'] = name
    out = tmp_path / f'{split}.json'
    out.write_text(json.dumps(data))
    return str(out)


def _point_at_synthetic(ds_cfg, synthetic_root, split, tmp_path):
    """Redirect a data set config (wrappers included) to the synthetic
    data, keeping its type, options and pipeline."""
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(ds_cfg)
    if 'datasets' in ds_cfg:  # ConcatDataset
        ds_cfg.datasets = [
            _point_at_synthetic(d, synthetic_root, split, tmp_path)
            for d in ds_cfg.datasets
        ]
        return ds_cfg
    if 'dataset' in ds_cfg:  # RepeatDataset, ClassBalancedDataset, ...
        ds_cfg.dataset = _point_at_synthetic(ds_cfg.dataset, synthetic_root,
                                             split, tmp_path)
        return ds_cfg
    if 'img_path' in ds_cfg.get('data_prefix', {}):  # video data sets
        classes = DATASETS.get(ds_cfg.type).METAINFO['classes']
        ds_cfg.data_root = ''
        ds_cfg.ann_file = _relabelled_ann(synthetic_root, split, classes,
                                          tmp_path)
        ds_cfg.data_prefix = dict(
            img_path=osp.join(synthetic_root, 'ytvis', split, 'JPEGImages'))
    else:  # image (COCO-format) data sets: the synthetic class names are
        # COCO names, so the files load with the COCO class list as well
        coco_split = 'train' if split == 'train' else 'val'
        ds_cfg.data_root = osp.join(synthetic_root, 'coco') + os.sep
        ds_cfg.ann_file = f'annotations/instances_{coco_split}.json'
        ds_cfg.data_prefix = dict(img=f'{coco_split}/')
    return ds_cfg


def _build_and_sample(cfg, synthetic_root, tmp_path):
    from mmvis_pretrain.registry import DATASETS
    for loader, split in (('train_dataloader', 'train'),
                          ('test_dataloader', 'valid')):
        if loader not in cfg:
            continue
        ds_cfg = _point_at_synthetic(cfg[loader].dataset, synthetic_root,
                                     split, tmp_path)
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0, loader
        sample = dataset[0]
        assert {'inputs', 'data_samples'} <= set(sample), loader


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_datasets_and_pipelines_build(config, registered, synthetic_root,
                                      tmp_path):
    _build_and_sample(Config.fromfile(config), synthetic_root, tmp_path)


@pytest.mark.parametrize('config', DATASET_BASES, ids=_rel)
def test_base_dataset_configs_build(config, registered, synthetic_root,
                                    tmp_path):
    _build_and_sample(Config.fromfile(config), synthetic_root, tmp_path)


def _evaluators(cfg):
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        if ev is None:
            continue
        for metric in (ev if isinstance(ev, (list, tuple)) else [ev]):
            yield key, metric


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_samplers_exist_and_vis_metrics_build(config, registered):
    """Every sampler type is registered (and takes the given options); the
    VIS metrics build (they read their ground truth lazily). COCO metrics
    read their JSON when built: their files are checked by the tools'
    tests instead."""
    import inspect

    from mmvis_pretrain.registry import DATA_SAMPLERS, METRICS
    cfg = Config.fromfile(config)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        sampler = cfg.get(loader, {}).get('sampler')
        if not sampler:
            continue
        cls = DATA_SAMPLERS.get(sampler['type'])
        assert cls is not None, (loader, sampler['type'])
        accepted = inspect.signature(cls.__init__).parameters
        for option in sampler:
            assert option == 'type' or option in accepted, (loader, option)
    for key, metric in _evaluators(cfg):
        if metric['type'] in ('VISMetric', 'mmvis_pretrain.VISMetric'):
            METRICS.build(copy.deepcopy(metric))
