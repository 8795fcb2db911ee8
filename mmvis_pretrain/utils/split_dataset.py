"""Build the data set of one split of a config (for the analysis tools)."""
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from ..registry import DATASETS, SCOPE
from .runtime_cfg import load_config
from .setup_env import register_all_modules


def init_scope(cfg: Config) -> str:
    """Register all modules and make the config's default scope current.

    ``cfg.default_scope`` (``mmvis_pretrain`` if unset) becomes the current
    scope, so configs of mmdet and of this package both build.

    Returns:
        str: the scope.
    """
    register_all_modules(init_default_scope=False)
    scope = cfg.get('default_scope') or SCOPE
    init_default_scope(scope)
    return scope


def dataset_config(cfg: Config, split: str) -> ConfigDict:
    """``cfg.<split>_dataloader.dataset``; a KeyError naming the split."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'the config has no {split}_dataloader.dataset')
    return loader['dataset']


def build_split_dataset(cfg: Config, split: str = 'train'):
    """The data set (wrappers included) of ``<split>_dataloader``."""
    init_scope(cfg)
    return DATASETS.build(dataset_config(cfg, split))


__all__ = ['load_config', 'init_scope', 'dataset_config', 'build_split_dataset']
