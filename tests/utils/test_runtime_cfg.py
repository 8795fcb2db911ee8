"""Machine adaptation of configs and CPU distributed initialisation."""
import pytest
import torch
from mmengine.config import Config

from mmvis_pretrain.utils.runtime_cfg import adapt_cfg_to_device

needs_cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the behaviour without CUDA')


def _cfg(**kw):
    return Config(dict(
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD')),
        **kw))


@needs_cpu_only
def test_cpu_distributed_uses_gloo_and_no_device_ids():
    cfg = adapt_cfg_to_device(_cfg(launcher='pytorch'))
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'


@needs_cpu_only
def test_cpu_keeps_a_user_wrapper_but_drops_device_ids():
    cfg = _cfg(launcher='pytorch',
               model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                      find_unused_parameters=True))
    cfg = adapt_cfg_to_device(cfg)
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.device_ids is None


@needs_cpu_only
def test_single_process_cpu_needs_no_wrapper():
    cfg = adapt_cfg_to_device(_cfg(launcher='none'))
    assert 'model_wrapper_cfg' not in cfg


@needs_cpu_only
def test_amp_on_cpu_warns_and_keeps_fp32():
    with pytest.warns(UserWarning, match='fp32'):
        cfg = adapt_cfg_to_device(_cfg(), amp=True)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_amp_on_cuda_switches_wrapper():
    cfg = adapt_cfg_to_device(_cfg(), amp=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


@needs_cpu_only
def test_cpu_init_dist_refuses_nccl_clearly():
    import mmvis_pretrain  # noqa: F401
    from mmengine.dist import utils as dist_utils
    assert dist_utils._init_dist_pytorch._mmvis_cpu_aware
    with pytest.raises(RuntimeError, match='gloo'):
        dist_utils._init_dist_pytorch('nccl')
