"""MVCMaskingHook on every model family of the package (issue 12): a short
training of each tiny config with the hook on, gradient accumulation, CPU
bf16 autocast, and a 2-process CPU DDP run."""
import copy
import math
import os
import os.path as osp
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel

from conftest import REPO, as_cli, tiny_vis_options
from mmvis_pretrain.engine.hooks import MVCMaskingHook
from mmvis_pretrain.engine.hooks.mvc_masking_hook import MVC_STATE_KEY
from mmvis_pretrain.engine.hooks.random_state_hook import (
    FORMAT_VERSION as RNG_FORMAT_VERSION, get_rng_state, set_rng_state)

CONFIGS = dict(
    video_mask2former=(
        'configs/video_pretrain/'
        'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py'),
    online_vis=('configs/online_vis/'
                'online-mask2former_tiny_1xb2-300it_synthetic-vis.py'),
    stmask='configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
    stc='configs/stc/stc_tiny_1xb2-300it_synthetic-vis.py',
    mask2former='configs/mask2former/'
    'mask2former_tiny_1xb2-300it_synthetic-coco.py',
)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class _Recorder(Hook):
    """Records, per training iteration, the hook's draw, the shape of the
    masked tensor and the total loss."""

    priority = 'LOWEST'

    def __init__(self):
        self.iters = {}

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        hook = next(h for h in runner.hooks if isinstance(h, MVCMaskingHook))
        self.iters[runner.iter + 1] = dict(
            masked=hook.last_masked.clone(),
            keep=hook.last_keep.clone(),
            loss=float(torch.as_tensor(outputs['loss']).detach().float()))


def _data_roots(name, cfg, root):
    coco = osp.join(root, 'coco') + '/'
    ytvis = osp.join(root, 'ytvis') + '/'
    if name == 'online_vis':  # joint: coco pseudo-videos + ytvis clips
        cfg.train_dataloader.dataset.datasets[0].data_root = coco
        cfg.train_dataloader.dataset.datasets[1].data_root = ytvis
    elif name in ('video_mask2former', 'mask2former'):
        cfg.train_dataloader.dataset.data_root = coco
    else:
        cfg.merge_from_dict(tiny_vis_options(root))


def _runner(name, root, work_dir, max_iters=2, optim=None, **hook_args):
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[name]))
    _data_roots(name, cfg, root)
    cfg.merge_from_dict({
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': 1000,
        'default_hooks.logger.interval': 1,
        'randomness': dict(seed=0),
    })
    cfg.train_cfg.pop('dynamic_intervals', None)
    if optim:
        cfg.merge_from_dict(optim)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = None
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks = [
        dict(type='MVCMaskingHook', patch_size=16, mask_ratio=0.7,
             p_mask=1.0, **hook_args)
    ]
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    return runner, recorder


def _check_masked(recorder, mode, video, max_iters=2):
    assert set(recorder.iters) == set(range(1, max_iters + 1))
    for rec in recorder.iters.values():
        assert math.isfinite(rec['loss'])
        keep, masked = rec['keep'], rec['masked']
        assert masked.all()  # p_mask = 1
        assert not keep.all()  # some patches dropped
        assert keep.dim() == (4 if video else 3)
        if video:
            n, t = keep.shape[:2]
            if mode == 'tube':
                assert masked.shape == (n, )
                assert (keep == keep[:, :1]).all()
            else:
                assert masked.shape == (n, t)
                if t > 1:
                    assert not (keep == keep[:, :1]).all()


# (config, mode, clip model)
CASES = [
    ('video_mask2former', 'frame', True),
    ('video_mask2former', 'tube', True),
    ('online_vis', 'frame', True),
    ('stmask', 'frame', True),
    ('stc', 'tube', True),
    ('mask2former', 'frame', False),
]


@pytest.mark.slow
@pytest.mark.parametrize('name,mode,video', CASES,
                         ids=[f'{c[0]}-{c[1]}' for c in CASES])
def test_model_trains_with_the_hook(name, mode, video, synthetic_root,
                                    tmp_path):
    runner, recorder = _runner(name, synthetic_root, tmp_path, mode=mode)
    hook = next(h for h in runner.hooks if isinstance(h, MVCMaskingHook))
    runner.train()
    _check_masked(recorder, mode, video)
    # the preprocessor was restored after training
    assert 'forward' not in vars(runner.model.data_preprocessor)
    assert hook._restore == []


@pytest.mark.slow
def test_gradient_accumulation(synthetic_root, tmp_path):
    """accumulative_counts=2: masks are drawn at every train_step (each
    micro-batch), the parameters change once per 2 iterations."""
    runner, recorder = _runner(
        'online_vis', synthetic_root, tmp_path, max_iters=2,
        optim={'optim_wrapper.accumulative_counts': 2}, mode='tube')
    runner.train()
    _check_masked(recorder, 'tube', True)
    k1, k2 = recorder.iters[1]['keep'], recorder.iters[2]['keep']
    assert k1.shape != k2.shape or not torch.equal(k1, k2)  # 2 draws
    assert runner.optim_wrapper._inner_count == 2


def test_cpu_bf16_autocast_keeps_dtype():
    """There is no CPU AMP path for training through the runner
    (``tools/train.py --amp`` on CPU warns and trains fp32, see
    ``runtime_cfg.adapt_cfg_to_device``). The benchmark's CPU ``--amp`` is a
    bf16 autocast around ``train_step``; the masking under it keeps the
    input's dtype and zeroes exactly the dropped pixels."""
    hook = MVCMaskingHook(patch_size=16, mode='tube', p_mask=1.0)
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.bfloat16, torch.float32):
        x = (torch.randn((2, 3, 3, 48, 64), generator=g) + 3).to(dtype)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out, masked = hook.mask_inputs(x)
        assert out.dtype == dtype and out.shape == x.shape
        keep = hook.last_keep[:, :, None].expand_as(x)
        assert (out[~keep] == 0).all()
        assert torch.equal(out[keep], x[keep])
        assert masked.all() and not keep.all()


@pytest.mark.slow
def test_train_step_under_cpu_bf16_autocast(synthetic_root, tmp_path):
    """The benchmark's CPU ``--amp``: ``train_step`` of the tiny online VIS
    model with the hook installed, inside a bf16 autocast."""
    runner, _ = _runner('online_vis', synthetic_root, tmp_path, mode='tube')
    hook = next(h for h in runner.hooks if isinstance(h, MVCMaskingHook))
    model = runner.model
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    hook.before_train(runner)
    try:
        data = next(iter(runner.train_dataloader))
        model.train()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            log_vars = model.train_step(copy.deepcopy(data), optim_wrapper)
        assert torch.isfinite(torch.as_tensor(log_vars['loss']))
        assert hook.last_masked.all() and not hook.last_keep.all()
    finally:
        hook.after_train(runner)
    assert 'forward' not in vars(model.data_preprocessor)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_processes_with_the_hook(synthetic_root, tmp_path):
    """tools/dist_train.sh, 2 CPU processes (gloo), tiny online VIS config
    with the hook in tube mode and a dump per rank's first iteration."""
    config = tmp_path / 'mvc_ddp.py'
    base = osp.join(REPO, CONFIGS['online_vis'])
    coco = osp.join(synthetic_root, 'coco') + '/'
    ytvis = osp.join(synthetic_root, 'ytvis') + '/'
    config.write_text(
        f'_base_ = {base!r}\n'
        "custom_hooks = [dict(type='MVCMaskingHook', patch_size=16, "
        "mask_ratio=0.7, mode='tube', p_mask=1.0, dump_dir='mvc_dump')]\n"
        'val_cfg = None\nval_dataloader = None\nval_evaluator = None\n'
        'test_cfg = None\ntest_dataloader = None\ntest_evaluator = None\n'
        'param_scheduler = None\n')
    work_dir = tmp_path / 'ddp'
    options = {
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 1000,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
        'train_dataloader.dataset.datasets.0.data_root': coco,
        'train_dataloader.dataset.datasets.1.data_root': ytvis,
    }
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir), '--cfg-options', *as_cli(options)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert 'MVCMaskingHook: masked inputs of iteration 1' in log
    state = torch.load(work_dir / 'iter_2.pth', weights_only=True)
    assert state['meta']['iter'] == 2
    mvc = state[MVC_STATE_KEY]
    # every rank's generator, gathered before the save
    assert mvc['world_size'] == 2 and len(mvc['ranks']) == 2
    assert torch.equal(mvc['generator']['state'], mvc['ranks'][0]['state'])
    assert not torch.equal(mvc['ranks'][0]['state'], mvc['ranks'][1]['state'])
    assert 'loss: nan' not in log
    pngs = list((work_dir / 'mvc_dump').glob('*.png'))
    assert pngs  # both ranks write the same names: at least one rank's


class _Model(BaseModel):

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs


@pytest.mark.parametrize('rank', [0, 1])
def test_resume_restores_each_ranks_own_generator(rank, monkeypatch):
    """A checkpoint with every rank's state (``ranks``): each rank restores
    its own; an old one (``generator`` only) restores rank 0 only."""
    from mmvis_pretrain.engine.hooks import mvc_masking_hook as module
    monkeypatch.setattr(module, 'get_rank', lambda: rank)
    monkeypatch.setattr(module, 'get_dist_info', lambda: (rank, 2))
    states = []
    for seed in (11, 22):
        g = torch.Generator().manual_seed(seed)
        torch.rand(3, generator=g)
        states.append(get_rng_state(g))
    saved = dict(generator=states[0], version=RNG_FORMAT_VERSION,
                 world_size=2, ranks=states)

    def draws_after_resume(state):
        hook = MVCMaskingHook()
        hook.after_load_checkpoint(None, {MVC_STATE_KEY: state})
        runner = SimpleNamespace(model=_Model(), seed=0, iter=2,
                                 work_dir='.', logger=None)
        hook.before_train(runner)
        hook.after_train(runner)
        return torch.rand(4, generator=hook.generator)

    def expected(state):
        g = torch.Generator()
        set_rng_state(state, g)
        return torch.rand(4, generator=g)

    assert torch.equal(draws_after_resume(saved), expected(states[rank]))
    old = draws_after_resume(dict(generator=states[0]))
    assert torch.equal(old, expected(states[0])) == (rank == 0)
