"""RandomStateHook: a run resumed from a checkpoint continues exactly as the
uninterrupted run (tiny VIS config, CPU, one torch thread)."""
import copy
import glob
import io
import json
import logging
import os
import random
import socket
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from torch.utils.data import DataLoader

from conftest import (REPO, TINY_VIS_CONFIG, as_cli, load_config,
                      tiny_vis_options)
from mmvis_pretrain.engine.hooks.random_state_hook import (
    RNG_STATE_KEY, RandomStateHook, find_generators, get_rng_state,
    select_rank_state, set_rng_state)

N, K = 6, 3  # iterations of the uninterrupted run, checkpoint interval
TOL = 1e-6


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class _Recorder(Hook):
    """Raw loss terms per iteration (``outputs``, not the logger's smoothed
    values), and draws from generators the hook owns (plain attributes:
    RandomStateHook saves them)."""

    def __init__(self):
        self.losses = {}
        self.draws = {}
        self.np_rng = np.random.default_rng(1)
        self.torch_gen = torch.Generator().manual_seed(2)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.draws[runner.iter + 1] = (
            float(self.np_rng.random()),
            float(torch.rand(1, generator=self.torch_gen)))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses[runner.iter + 1] = {
            k: float(v.detach()) for k, v in outputs.items()}


class _Warnings(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _runner(root, work_dir, max_iters=N, hook=True, val=False,
            resume_from=None, load_from=None, epochs=False, num_workers=0,
            **hook_args):
    from mmengine.runner import Runner
    cfg = Config.fromfile(TINY_VIS_CONFIG)
    cfg.merge_from_dict(tiny_vis_options(root, max_iters))
    cfg.merge_from_dict({
        'default_hooks.checkpoint.interval': K,
        'default_hooks.logger.interval': 100,
        'randomness': dict(seed=0, deterministic=True),
        'train_dataloader.num_workers': num_workers,
    })
    if epochs:  # 4 samples = 2 iterations per epoch, N // 2 epochs
        cfg.train_cfg = dict(
            type='EpochBasedTrainLoop', max_epochs=N // 2, val_interval=N)
        cfg.train_dataloader.sampler = dict(
            type='DefaultSampler', shuffle=True)
        cfg.train_dataloader.dataset.indices = 4
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook', by_epoch=True, interval=1)
    if val:  # validation at the checkpoint iteration
        cfg.train_cfg.val_interval = K
        # the package's metric (mmdet's YouTubeVISMetric also evaluates
        # more than once since stack fix 8; this test predates it)
        cfg.val_evaluator = dict(
            type='VISMetric', ann_file=os.path.join(root, 'ytvis/valid.json'))
    else:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    if hook:
        cfg.default_hooks.rng_state.update(hook_args)
    else:
        cfg.default_hooks.pop('rng_state')
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    elif load_from:
        cfg.load_from = load_from
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    warnings = _Warnings()
    runner.logger.addHandler(warnings)
    return runner, recorder, warnings


def _train(*args, **kwargs):
    runner, recorder, warnings = _runner(*args, **kwargs)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(warnings)
    return recorder, warnings


def _worst(resumed, full, first=K + 1):
    """Largest absolute and relative difference over iterations / terms."""
    worst_abs = worst_rel = 0.0
    assert set(resumed) == set(range(first, N + 1))
    for it, terms in resumed.items():
        assert terms.keys() == full[it].keys()
        for name, value in terms.items():
            ref = full[it][name]
            worst_abs = max(worst_abs, abs(value - ref))
            worst_rel = max(worst_rel, abs(value - ref) / max(abs(ref), 1e-12))
    return worst_abs, worst_rel


@pytest.fixture(scope='module')
def uninterrupted(synthetic_root, tmp_path_factory):
    """N iterations in one go, checkpoints every K."""
    work_dir = tmp_path_factory.mktemp('rng_full')
    recorder, _ = _train(synthetic_root, work_dir)
    return SimpleNamespace(
        recorder=recorder, ckpt=str(work_dir / f'iter_{K}.pth'))


def test_resume_reproduces_the_uninterrupted_losses(synthetic_root,
                                                    uninterrupted, tmp_path):
    recorder, warnings = _train(
        synthetic_root, tmp_path, resume_from=uninterrupted.ckpt)
    worst_abs, worst_rel = _worst(recorder.losses,
                                  uninterrupted.recorder.losses)
    assert worst_abs <= TOL and worst_rel <= TOL, (worst_abs, worst_rel)
    # generators owned by a hook continue too
    for it in range(K + 1, N + 1):
        assert recorder.draws[it] == uninterrupted.recorder.draws[it]
    assert not [w for w in warnings.lines if 'RandomStateHook' in w]


def test_resume_without_the_hook_drifts(synthetic_root, uninterrupted,
                                        tmp_path):
    """The comparison above catches a regression: without the hook the
    same resume differs."""
    recorder, _ = _train(
        synthetic_root, tmp_path, hook=False, resume_from=uninterrupted.ckpt)
    worst_abs, worst_rel = _worst(recorder.losses,
                                  uninterrupted.recorder.losses)
    assert worst_rel > 100 * TOL, (worst_abs, worst_rel)
    assert recorder.draws[K + 1] != uninterrupted.recorder.draws[K + 1]


def _logged_losses(work_dir):
    """``{iter: row}`` of the run's scalars.json."""
    (path, ) = glob.glob(os.path.join(work_dir, '*/vis_data/scalars.json'))
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return {r['iter']: r for r in rows if 'loss' in r}


@pytest.mark.slow
def test_distributed_resume_two_processes(synthetic_root, tmp_path):
    """2 processes (gloo): the states of both ranks are gathered before
    rank 0 saves; the resumed run logs the same losses and gradient norms
    (which average both ranks' gradients)."""
    options = tiny_vis_options(synthetic_root, N)
    options.update({
        'default_hooks.checkpoint.interval': K,
        'randomness.deterministic': True,
        'log_processor.window_size': 1,  # log raw values, not means
        'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None,
    })

    def dist_train(work_dir, *extra):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        env = dict(os.environ, PYTHON=sys.executable, PORT=str(port),
                   OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
        proc = subprocess.run(
            ['bash', os.path.join(REPO, 'tools/dist_train.sh'),
             TINY_VIS_CONFIG, '2', '--work-dir', str(work_dir),
             '--cfg-options', *as_cli(options), *extra],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    dist_train(tmp_path / 'full')
    ckpt = tmp_path / 'full' / f'iter_{K}.pth'
    saved = torch.load(ckpt, weights_only=True)[RNG_STATE_KEY]
    assert saved['world_size'] == 2 and len(saved['ranks']) == 2
    dist_train(tmp_path / 'resumed', f'load_from={ckpt}', 'resume=True')
    full = _logged_losses(tmp_path / 'full')
    resumed = _logged_losses(tmp_path / 'resumed')
    assert sorted(resumed) == list(range(K + 1, N + 1))
    for it, row in resumed.items():
        for key in ('loss', 'grad_norm', 'loss_mask', 'loss_cls'):
            assert row[key] == pytest.approx(full[it][key], rel=TOL,
                                             abs=TOL), (it, key)


def test_disabled_hook_saves_nothing(synthetic_root, tmp_path):
    """``enabled=False`` is the switch-off (mmengine refuses
    ``default_hooks.rng_state=None``)."""
    _train(synthetic_root, tmp_path, max_iters=1, enabled=False)
    ckpt = torch.load(tmp_path / 'iter_1.pth', weights_only=True)
    assert RNG_STATE_KEY not in ckpt


@pytest.mark.parametrize('isolate_val', [True, False])
def test_resume_with_validation_at_the_checkpoint(synthetic_root, tmp_path,
                                                  isolate_val):
    """Validation after the checkpointed iteration draws from the global
    RNGs (the val dataloader's iterator takes a torch seed); isolate_val
    keeps that out of the training's streams, without it the resumed run
    drifts."""
    recorder_full, _ = _train(synthetic_root, tmp_path / 'full', val=True,
                              isolate_val=isolate_val)
    ckpt = str(tmp_path / 'full' / f'iter_{K}.pth')
    recorder, _ = _train(synthetic_root, tmp_path / 'resumed', val=True,
                         resume_from=ckpt, isolate_val=isolate_val)
    worst_abs, worst_rel = _worst(recorder.losses, recorder_full.losses)
    if isolate_val:
        assert worst_abs <= TOL and worst_rel <= TOL, (worst_abs, worst_rel)
    else:
        assert worst_rel > 100 * TOL, (worst_abs, worst_rel)


def test_resume_of_an_epoch_based_loop(synthetic_root, tmp_path):
    """EpochBasedTrainLoop: restored before the resumed epoch starts."""
    full, _ = _train(synthetic_root, tmp_path / 'full', epochs=True)
    resumed, _ = _train(synthetic_root, tmp_path / 'resumed', epochs=True,
                        resume_from=str(tmp_path / 'full' / 'epoch_1.pth'))
    worst_abs, worst_rel = _worst(resumed.losses, full.losses, first=3)
    assert worst_abs <= TOL and worst_rel <= TOL, (worst_abs, worst_rel)
    assert all(resumed.draws[i] == full.draws[i] for i in resumed.draws)


@pytest.mark.slow
def test_resume_with_dataloader_workers(synthetic_root, tmp_path):
    """num_workers=2: the workers' RNGs are not saved; mmengine seeds them
    from the config seed and the replay brings them where they were."""
    full, _ = _train(synthetic_root, tmp_path / 'full', num_workers=2)
    resumed, _ = _train(synthetic_root, tmp_path / 'resumed', num_workers=2,
                        resume_from=str(tmp_path / 'full' / f'iter_{K}.pth'))
    worst_abs, worst_rel = _worst(resumed.losses, full.losses)
    assert worst_abs <= TOL and worst_rel <= TOL, (worst_abs, worst_rel)


def test_checkpoint_loads_with_weights_only(uninterrupted, tmp_path):
    """The package's load path (mmengine's loader, torch.load with
    weights_only=True) reads the states; they need no allow-listed type,
    so plain torch reads them as well."""
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(uninterrupted.ckpt, map_location='cpu')
    saved = ckpt[RNG_STATE_KEY]
    assert saved['version'] == 1 and saved['world_size'] == 1
    (state, ) = saved['ranks']
    assert set(state['global_states']) == {'python', 'numpy', 'torch', 'cuda'}
    assert state['global_states']['torch'].dtype == torch.uint8
    assert {'hooks._Recorder.np_rng', 'hooks._Recorder.torch_gen'} <= set(
        state['generators'])
    only_rng = tmp_path / 'rng.pth'
    torch.save(saved, only_rng)
    code = ('import sys, torch; s = torch.load(sys.argv[1], '
            'weights_only=True); assert len(s["ranks"]) == 1')
    subprocess.run([sys.executable, '-c', code, str(only_rng)], check=True,
                   env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_old_checkpoint_warns_and_load_from_is_silent(synthetic_root,
                                                      uninterrupted,
                                                      tmp_path):
    old = torch.load(uninterrupted.ckpt, weights_only=True)
    del old[RNG_STATE_KEY]
    torch.save(old, tmp_path / 'old.pth')
    _, warnings = _train(synthetic_root, tmp_path / 'resumed',
                         max_iters=K + 1,
                         resume_from=str(tmp_path / 'old.pth'))
    ours = [w for w in warnings.lines if 'RandomStateHook' in w]
    assert len(ours) == 1 and 'holds no RNG state' in ours[0]
    assert '\n' not in ours[0]
    # load_from (fine-tuning, not a resume): neither restored nor warned
    for ckpt in (uninterrupted.ckpt, str(tmp_path / 'old.pth')):
        _, warnings = _train(synthetic_root, tmp_path / 'ft', max_iters=1,
                             load_from=ckpt)
        assert not [w for w in warnings.lines if 'RandomStateHook' in w]


# ---------------------------------------------------------------- helpers
def _roundtrip(obj, map_location='cpu'):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True, map_location=map_location)


def _draw_globals():
    return (random.random(), float(np.random.rand()), float(torch.rand(1)),
            float(np.random.randn()))


def test_global_states_roundtrip():
    np.random.randn()  # a cached gauss is part of numpy's state
    saved = _roundtrip(get_rng_state())
    expected = _draw_globals()
    _draw_globals()
    assert set_rng_state(saved) == []
    assert _draw_globals() == expected


@pytest.mark.parametrize('make', [
    lambda: torch.Generator().manual_seed(3),
    lambda: np.random.default_rng(3),
    lambda: np.random.Generator(np.random.Philox(3)),
    lambda: np.random.Generator(np.random.SFC64(3)),
    lambda: np.random.MT19937(3),
    lambda: np.random.RandomState(3),
    lambda: random.Random(3),
], ids=['torch', 'pcg64', 'philox', 'sfc64', 'mt19937-bitgen',
        'randomstate', 'python'])
def test_generator_states_roundtrip(make):
    gen = make()

    def draw():
        if isinstance(gen, torch.Generator):
            return torch.rand(3, generator=gen).tolist()
        if isinstance(gen, np.random.BitGenerator):
            return np.random.Generator(gen).random(3).tolist()
        return [gen.random() for _ in range(3)]

    draw()
    saved = _roundtrip(get_rng_state(gen))
    expected = draw()
    draw()
    set_rng_state(saved, gen)
    assert draw() == expected


def test_state_of_another_generator_type_is_refused():
    with pytest.raises(TypeError):
        set_rng_state(get_rng_state(random.Random(0)),
                      np.random.default_rng(0))
    with pytest.raises(ValueError):
        set_rng_state(get_rng_state(np.random.default_rng(0)),
                      np.random.Generator(np.random.Philox(0)))
    with pytest.raises(TypeError):
        get_rng_state(object())


@pytest.mark.skipif(torch.cuda.is_available(), reason='a CPU-only case')
def test_cuda_state_of_a_gpu_checkpoint_on_cpu_is_reported():
    state = get_rng_state()
    assert state['cuda'] is None
    state['cuda'] = [torch.zeros(16, dtype=torch.uint8)]
    skipped = set_rng_state(state)
    assert len(skipped) == 1 and 'CUDA' in skipped[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_states_roundtrip():
    torch.cuda.init()
    saved = _roundtrip(get_rng_state(), map_location='cuda')  # as resume
    assert len(saved['cuda']) == torch.cuda.device_count()
    expected = torch.rand(4, device='cuda').tolist()
    torch.rand(4, device='cuda')
    assert set_rng_state(saved) == []
    assert torch.rand(4, device='cuda').tolist() == expected


def test_world_size_change_restores_existing_ranks_and_warns():
    saved = dict(version=1, world_size=2, ranks=['s0', 's1'])
    assert select_rank_state(saved, 1, 2) == ('s1', [])
    state, messages = select_rank_state(saved, 0, 1)
    assert state == 's0' and '2 process(es), this run has 1' in messages[0]
    state, messages = select_rank_state(saved, 3, 4)
    assert state is None and len(messages) == 1
    # checkpoint saved outside a CheckpointHook: rank 0's state only
    rank0_only = dict(version=1, world_size=2, ranks=['s0'])
    state, messages = select_rank_state(rank0_only, 1, 2)
    assert state is None and 'rank 1 keeps its seeded state' in messages[0]
    assert select_rank_state(dict(version=99), 0, 1)[0] is None


def test_find_generators_in_sampler_pipeline_and_hooks():
    from mmcv.transforms import BaseTransform, Compose
    from mmengine.dataset import Compose as EngineCompose

    class Noise(BaseTransform):

        def __init__(self):
            self.rng = np.random.default_rng(0)

        def transform(self, results):
            return results

    class Dataset(torch.utils.data.Dataset):

        def __init__(self):
            self.pipeline = EngineCompose([Compose([Noise()]), Noise()])
            self.data_list = [dict(rng=np.random.default_rng(1))] * 4

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i

    sampler = torch.utils.data.RandomSampler(
        range(4), generator=torch.Generator())
    loader = DataLoader(Dataset(), sampler=sampler, batch_size=2)

    class Owner(Hook):

        def __init__(self):
            self.rng = random.Random(0)

    class SelfSaving(Owner):

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    found = find_generators(
        loader, [Owner(), Owner(), SelfSaving(), RandomStateHook()])
    assert set(found) == {
        'sampler.generator',
        'dataset.pipeline.transforms.0.transforms.0.rng',
        'dataset.pipeline.transforms.1.rng',
        'hooks.Owner.rng', 'hooks.Owner#2.rng'}  # not data_list, not
    # a hook that saves itself


@pytest.mark.slow
def test_every_config_enables_the_hook():
    import glob

    from mmvis_pretrain.registry import HOOKS
    configs = [p for p in glob.glob(f'{REPO}/configs/**/*.py', recursive=True)
               if '_base_' not in p]
    assert configs
    for path in configs:
        hook_cfg = load_config(path).default_hooks.get('rng_state')
        assert hook_cfg['type'] == 'RandomStateHook', path
    assert isinstance(HOOKS.build(copy.deepcopy(hook_cfg)), RandomStateHook)
