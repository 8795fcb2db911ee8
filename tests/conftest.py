"""Shared fixtures: the synthetic data set, written once per test session."""
import copy
import functools
import os
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Under pytest-xdist every worker is a process of its own: with torch's
# default of one thread per core, N workers oversubscribe the cores and the
# spinning OpenMP threads slow small ops down by an order of magnitude. One
# thread per worker (and for the tools the tests start as subprocesses).
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)


def pytest_collection_modifyitems(session, config, items):
    """Run the ``slow`` tests (tens of seconds each) first. Under
    pytest-xdist the workers take tests in collection order; a long test
    drawn last keeps one worker busy while the other idles, so the long
    ones go first and the short ones fill in behind them. The order within
    each group is kept; the tests do not depend on it."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)


@pytest.fixture(autouse=True)
def _restore_default_scope(request):
    """Give every test the default scope it started with. A runner built
    from a config with another ``default_scope`` (``mmdet`` in the tests of
    other projects' configs) makes that scope the process's current one
    (mmengine keeps the latest ``DefaultScope``), and an unprefixed
    ``type`` in a later test of the same worker would then resolve in it:
    a result that depended on the order of the tests (the tool tests that
    set a tool's scope do this; ``MMVIS_TRACE_SCOPE=1 pytest -s`` names
    them)."""
    from mmengine.registry import DefaultScope

    def name():
        current = DefaultScope.get_current_instance()
        return current and current.scope_name

    before, saved = name(), copy.copy(DefaultScope._instance_dict)
    yield
    if name() != before:
        if os.environ.get('MMVIS_TRACE_SCOPE'):
            print(f'\nSCOPE-LEAK {request.node.nodeid}: {before} -> {name()}')
        DefaultScope._instance_dict = saved


TINY_VIS_CONFIG = osp.join(
    REPO, 'configs/mask2former_vis/mask2former_tiny_1xb2-300it_synthetic-vis.py')


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str) -> Config:
    return Config.fromfile(path)


def load_config(path: str) -> Config:
    """``Config.fromfile(path)``, parsed once per test process (about half
    a second per config with its bases; the config-tree tests parse every
    config several times). A deep copy: callers may change it."""
    return copy.deepcopy(_parsed_config(osp.abspath(path)))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic data set: ``<root>/coco`` and ``<root>/ytvis``."""
    from mmvis_pretrain.datasets.synthetic import make_synthetic_data
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_data(
        str(root), seed=0, num_images=8, num_val_images=4, num_videos=4,
        num_val_videos=2)
    return str(root)


def synthetic_data_options(root: str) -> dict:
    """``--cfg-options`` that point the synthetic configs at ``root``."""
    ytvis = osp.join(root, 'ytvis') + '/'
    coco = osp.join(root, 'coco') + '/'
    return {
        'train_dataloader.dataset.data_root': ytvis,
        'val_dataloader.dataset.data_root': ytvis,
        'test_dataloader.dataset.data_root': ytvis,
        '_coco_root': coco,
    }


def tiny_vis_options(root: str, max_iters: int = 2, **extra) -> dict:
    """Options that make the tiny VIS config run a few iterations on
    ``root``'s synthetic videos with a short validation at the end."""
    opts = synthetic_data_options(root)
    opts.pop('_coco_root')
    opts.update({
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        'param_scheduler.milestones': [max_iters],
        'param_scheduler.end': max_iters,
        'randomness.seed': 0,
    })
    opts.update(extra)
    return opts


def joint_vis_options(root: str, max_iters: int = 2) -> dict:
    """:func:`tiny_vis_options` for the configs whose training loader joins
    pseudo-videos (source 0, COCO-format images) and videos (source 1)."""
    opts = tiny_vis_options(root, max_iters)
    ytvis = osp.join(root, 'ytvis') + '/'
    opts.pop('train_dataloader.dataset.data_root')
    opts.update({
        'train_dataloader.dataset.datasets.0.data_root':
        osp.join(root, 'coco') + '/',
        'train_dataloader.dataset.datasets.1.data_root': ytvis,
        'val_evaluator.ann_file': ytvis + 'valid.json',
        'test_evaluator.ann_file': ytvis + 'valid.json',
    })
    return opts


def package_leaf(tmp_path, base: str, body: str = '') -> str:
    """A config file in ``tmp_path`` (outside the repository) inheriting
    ``mmvis_pretrain::<base>``, followed by ``body``."""
    path = tmp_path / 'leaf.py'
    path.write_text(f"_base_ = 'mmvis_pretrain::{base}'\n{body}")
    return str(path)


def as_cli(options: dict) -> list:
    """``{'a.b': 1}`` -> ``['a.b=1']`` for ``--cfg-options`` (the study
    runner's :func:`cfg_options_cli`)."""
    from mmvis_pretrain.utils.study_runner import cfg_options_cli
    return cfg_options_cli(options)


@pytest.fixture
def tiny_vis_cfg(synthetic_root, tmp_path):
    """The tiny VIS config on the session's synthetic data (2 iterations)."""
    cfg = Config.fromfile(TINY_VIS_CONFIG)
    cfg.merge_from_dict(tiny_vis_options(synthetic_root))
    cfg.work_dir = str(tmp_path / 'work_dir')
    return copy.deepcopy(cfg)
