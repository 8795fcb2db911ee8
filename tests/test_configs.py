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


def _point_at_synthetic(ds_cfg, synthetic_root, split, classes, tmp_path):
    ds_cfg = copy.deepcopy(ds_cfg)
    if 'ann_file' in ds_cfg and 'img_path' in ds_cfg.get('data_prefix', {}):
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


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_datasets_and_pipelines_build(config, registered, synthetic_root,
                                      tmp_path):
    from mmvis_pretrain.registry import DATASETS
    cfg = Config.fromfile(config)
    for loader, split in (('train_dataloader', 'train'),
                          ('test_dataloader', 'valid')):
        ds_cfg = cfg[loader].dataset
        cls = DATASETS.get(ds_cfg.type)
        classes = cls.METAINFO['classes']
        ds_cfg = _point_at_synthetic(ds_cfg, synthetic_root, split, classes,
                                     tmp_path)
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0, (config, loader)
        sample = dataset[0]
        assert {'inputs', 'data_samples'} <= set(sample)
