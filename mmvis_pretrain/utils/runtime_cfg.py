"""Config adjustments that depend on the machine a job runs on."""
import os.path as osp
import warnings
from typing import Optional

import torch
from mmengine.config import Config

from .class_set import apply_class_set
from .config_check import check_config


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """A config as the package's tools run it: the file, then
    ``cfg_options`` (``--cfg-options``), then its class set written through
    the model and data (:func:`~mmvis_pretrain.utils.class_set.
    apply_class_set`: ``classes = (...)`` in a leaf changes heads and data
    in one place).

    Use it instead of ``Config.fromfile`` in scripts that build the
    package's models or data sets from a config.

    Args:
        config (str): config file (``mmvis_pretrain::`` / ``mmdet::`` paths
            too).
        cfg_options (dict, optional): overrides merged before the class set.

    Returns:
        Config: the loaded config.
    """
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    return apply_class_set(cfg)


def load_run_cfg(config: str,
                 cfg_options: Optional[dict] = None,
                 work_dir: Optional[str] = None,
                 launcher: str = 'none',
                 amp: bool = False) -> Config:
    """The config of a ``tools/train.py`` / ``tools/test.py`` run.

    The file, then ``--cfg-options``, then the class set
    (:func:`load_config`), then the work dir (CLI > config >
    ``./work_dirs/<config name>``, made absolute), then
    :func:`~mmvis_pretrain.utils.config_check.check_config` (misspelt
    top-level keys warn, unknown arguments of the package's classes raise
    :class:`~mmvis_pretrain.utils.config_check.ConfigKeyError`, before
    anything is built; ``docs/config_check.md``), then
    :func:`adapt_cfg_to_device`.

    Args:
        config (str): config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): ``--work-dir``.
        launcher (str): ``none`` / ``pytorch`` / ``slurm`` / ``mpi``.
        amp (bool): ``--amp``.

    Returns:
        Config: the run's config.
    """
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    # absolute: mmdet's TrackVisualizationHook re-joins work_dir onto its
    # output dir at every test iteration, which nests relative paths
    cfg.work_dir = osp.abspath(cfg.work_dir)
    check_config(cfg)
    return adapt_cfg_to_device(cfg, amp=amp)


def adapt_cfg_to_device(cfg: Config, amp: bool = False) -> Config:
    """Make a config runnable on this machine, in place.

    * Distributed runs without CUDA use the ``gloo`` backend (configs name
      ``nccl``, which needs GPUs) and wrap the model in DDP without
      ``device_ids`` (mmengine passes the local rank as a GPU id), so
      ``tools/dist_train.sh`` works on CPU.
    * ``amp=True`` switches to mmengine's ``AmpOptimWrapper`` (dynamic loss
      scale) on CUDA. mmengine's AMP wrapper refuses to run without an
      accelerator, so on CPU it warns and trains in fp32 instead of failing.

    Args:
        cfg (Config): the full config.
        amp (bool): request automatic mixed precision.

    Returns:
        Config: ``cfg``.
    """
    cuda = torch.cuda.is_available()
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if not cuda and dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if not cuda and cfg.get('launcher', 'none') != 'none':
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    if amp:
        if cuda:
            if cfg.optim_wrapper.get('type', 'OptimWrapper') not in (
                    'AmpOptimWrapper', ):
                cfg.optim_wrapper.type = 'AmpOptimWrapper'
                cfg.optim_wrapper.loss_scale = 'dynamic'
        else:
            warnings.warn('--amp needs a CUDA device (mmengine AmpOptimWrapper)'
                          '; no GPU found, training in fp32.')
    return cfg
