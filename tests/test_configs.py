"""Every config in configs/ builds: its model, and its datasets with their
pipelines, which produce a sample (on the synthetic data, with the category
names of the dataset's own class list)."""
import copy
import glob
import json
import os
import os.path as osp

import pytest
from conftest import REPO, load_config

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)
# base data set configs are complete data configs of their own
DATASET_BASES = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets', '**', '*.py'),
              recursive=True))


def _rel(path):
    return osp.relpath(path, REPO)


# Many leaf configs share their model or their data sets (65 configs: 33
# distinct models, 24 distinct data set pairs). What was built and checked
# in this test process is not built again: the same content gives the same
# result (with the parsing once per process, conftest.load_config: the suite
# went from 16.3 to 14.6 CPU-minutes, 2026-12-03).
_BUILT = set()


def _content_key(cfg) -> str:
    """A config (dict) by content, for ``_BUILT``."""
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    return json.dumps(cfg, sort_keys=True, default=repr)


@pytest.fixture(scope='module')
def registered():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()


def test_there_are_configs():
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_model_builds(config, registered):
    from mmvis_pretrain.registry import MODELS
    cfg = load_config(config)
    key = _content_key(cfg.model)
    if key in _BUILT:  # the same model config built in this process
        return
    model = MODELS.build(cfg.model)  # no init_weights: nothing downloaded
    assert sum(p.numel() for p in model.parameters()) > 0
    _BUILT.add(key)


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
        key = _content_key(dict(split=split, dataset=cfg[loader].dataset))
        if key in _BUILT:  # the same data set config sampled before
            continue
        ds_cfg = _point_at_synthetic(cfg[loader].dataset, synthetic_root,
                                     split, tmp_path)
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0, loader
        sample = dataset[0]
        assert {'inputs', 'data_samples'} <= set(sample), loader
        _BUILT.add(key)


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_datasets_and_pipelines_build(config, registered, synthetic_root,
                                      tmp_path):
    _build_and_sample(load_config(config), synthetic_root, tmp_path)


@pytest.mark.parametrize('config', DATASET_BASES, ids=_rel)
def test_base_dataset_configs_build(config, registered, synthetic_root,
                                    tmp_path):
    _build_and_sample(load_config(config), synthetic_root, tmp_path)


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
    cfg = load_config(config)
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


# --------------------------------------------------------------------------
# the layout of the config tree (issue 11): short leaf configs that take the
# package's online protocol from the data set bases instead of switching to
# it with `_delete_`
# --------------------------------------------------------------------------
MAX_LEAF_LINES = 60
PROTOCOL_TYPES = ('VISMetric', 'TrackImgSampler')


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_leaf_configs_are_short(config):
    with open(config) as f:
        num_lines = len(f.read().splitlines())
    assert num_lines <= MAX_LEAF_LINES, (
        f'{_rel(config)} has {num_lines} lines (at most {MAX_LEAF_LINES}): '
        'move what it shares with other configs into a base')


def _names_protocol_type(text):
    """Whether ``text`` names VISMetric or TrackImgSampler as a type (not
    as part of a longer name such as mmdet's ``YouTubeVISMetric``)."""
    import re
    return any(
        re.search(rf"""['"](mmvis_pretrain\.|mmdet\.)?{name}['"]""", text)
        for name in PROTOCOL_TYPES)


def test_protocol_type_detection():
    assert _names_protocol_type("dict(type='VISMetric')")
    assert _names_protocol_type('sampler=dict(type="TrackImgSampler")')
    assert _names_protocol_type("type='mmvis_pretrain.VISMetric'")
    assert not _names_protocol_type("dict(type='YouTubeVISMetric')")
    assert not _names_protocol_type('# VISMetric, as the base')


@pytest.mark.parametrize('config', CONFIGS, ids=_rel)
def test_leaf_configs_do_not_delete_for_the_protocol(config):
    """The online protocol (TrackImgSampler, VISMetric) is the default of
    the VIS data set bases: no leaf replaces a dict with `_delete_` to get
    it."""
    with open(config) as f:
        text = f.read()
    assert not ('_delete_' in text and _names_protocol_type(text)), (
        f'{_rel(config)} uses `_delete_` and names VISMetric / '
        'TrackImgSampler: take the protocol from the data set base')


@pytest.mark.parametrize('config', [
    c for c in DATASET_BASES
    if osp.basename(c).startswith(('youtube_vis', 'ovis', 'synthetic_vis'))
], ids=_rel)
def test_vis_dataset_bases_default_to_the_online_protocol(config):
    cfg = load_config(config)
    for loader in ('val_dataloader', 'test_dataloader'):
        assert cfg[loader].sampler == dict(type='TrackImgSampler'), loader
    for key in ('val_evaluator', 'test_evaluator'):
        assert cfg[key].type == 'VISMetric', key


def test_mask2former_model_bases_are_mmdets():
    """The Mask2Former model bases take mmdet's configs (not restated):
    they equal mmdet's ``model`` and ``optim_wrapper`` but for the stated
    differences."""
    from mmengine.config import Config as C
    bases = osp.join(REPO, 'configs', '_base_', 'models')
    for ours, theirs in [
        ('mask2former_r50.py',
         'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py'),
        ('mask2former_vis_r50.py',
         'mmdet::mask2former_vis/mask2former_r50_8xb2-8e_youtubevis2019.py'),
    ]:
        ours = C.fromfile(osp.join(bases, ours)).to_dict()
        theirs = C.fromfile(C._get_cfg_path(theirs, '')[0]).to_dict()
        assert ours['optim_wrapper'] == theirs['optim_wrapper']
        if 'panoptic_head' in ours['model']:
            preprocessor = theirs['model']['data_preprocessor']
            del preprocessor['batch_augments'], preprocessor['seg_pad_value']
            (theirs['model']['panoptic_head']['pixel_decoder']['encoder']
             ['layer_cfg']['self_attn_cfg']['im2col_step']) = 128
        assert ours['model'] == theirs['model']
