"""Config adjustments that depend on the machine a job runs on."""
import warnings

import torch
from mmengine.config import Config


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
