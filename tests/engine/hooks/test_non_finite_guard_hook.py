"""NonFiniteGuardHook on the tiny VIS config: a NaN loss or gradient stops
training before the update (naming the iteration, the loss terms and the
last checkpoint) or, with action='skip', skips the step."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import TINY_VIS_CONFIG, tiny_vis_options
from mmvis_pretrain.engine.hooks import NonFiniteGuardHook, NonFiniteLossError

BAD_ITER = 3  # the 3rd training iteration (runner.iter == 2) goes wrong


class Snapshot(Hook):
    """Parameters before and after every training iteration."""

    def __init__(self):
        self.before, self.after = {}, {}

    @staticmethod
    def _params(runner):
        return {k: v.detach().clone()
                for k, v in runner.model.named_parameters()}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before[runner.iter + 1] = self._params(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.after[runner.iter + 1] = self._params(runner)


def make_runner(root, tmp_path, max_iters=4, **guard):
    cfg = Config.fromfile(TINY_VIS_CONFIG)
    cfg.merge_from_dict(tiny_vis_options(root, max_iters))
    cfg.default_hooks.checkpoint.interval = 2
    cfg.train_cfg.val_interval = 100  # no validation
    if guard:
        cfg.default_hooks.non_finite = dict(type='NonFiniteGuardHook',
                                            **guard)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    snapshot = Snapshot()
    runner.register_hook(snapshot)
    return runner, snapshot


def nan_loss_at(runner, iteration, term='loss_cls', value=float('nan')):
    """Make ``term`` of the model's loss non-finite at ``iteration``."""
    original = runner.model.loss

    def loss(*args, **kwargs):
        losses = original(*args, **kwargs)
        if runner.iter + 1 == iteration:
            losses[term] = losses[term] * value
        return losses

    runner.model.loss = loss


def test_guard_is_on_by_default():
    cfg = Config.fromfile(TINY_VIS_CONFIG)
    assert cfg.default_hooks.non_finite == dict(type='NonFiniteGuardHook',
                                                action='stop')


def test_nan_loss_stops_before_the_update(synthetic_root, tmp_path):
    runner, snap = make_runner(synthetic_root, tmp_path)
    nan_loss_at(runner, BAD_ITER)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert msg.startswith(f'iteration {BAD_ITER}: non-finite loss terms: ')
    assert 'loss_cls=nan' in msg and 'loss=nan' in msg
    assert 'loss_mask' not in msg  # finite terms are not listed
    assert 'the last checkpoint, saved before any non-finite value, is ' in \
        msg and msg.split(' is ')[1].startswith(str(tmp_path / 'work'))
    assert 'iter_2.pth' in msg
    # nothing of the bad iteration reached the parameters
    before = snap.before[BAD_ITER]
    for name, param in runner.model.named_parameters():
        assert torch.equal(param.detach(), before[name]), name
        assert torch.isfinite(param).all()


def test_inf_loss_skip(synthetic_root, tmp_path):
    runner, snap = make_runner(synthetic_root, tmp_path, action='skip')
    nan_loss_at(runner, BAD_ITER, term='loss_dice', value=float('inf'))
    runner.train()  # runs to the end
    guard = [h for h in runner.hooks if isinstance(h, NonFiniteGuardHook)][0]
    assert guard.num_skipped == 1
    assert runner.iter == 4
    # the skipped step left the parameters as they were, the others moved
    for name, param in snap.after[BAD_ITER].items():
        assert torch.equal(param, snap.before[BAD_ITER][name]), name
    assert any(not torch.equal(p, snap.before[BAD_ITER + 1][k])
               for k, p in snap.after[BAD_ITER + 1].items())
    for param in runner.model.parameters():
        assert torch.isfinite(param).all()
    assert runner.message_hub.get_scalar(
        'train/skipped_steps').current() == 1
    # the wrappers are removed after training
    assert 'parse_losses' not in vars(runner.model)
    assert 'update_params' not in vars(runner.optim_wrapper)


def test_nan_gradient_with_finite_loss_stops(synthetic_root, tmp_path):
    runner, snap = make_runner(synthetic_root, tmp_path)
    name, param = next((n, p) for n, p in runner.model.named_parameters()
                       if p.requires_grad)

    def poison(grad):
        return grad * float('nan') if runner.iter + 1 == BAD_ITER else grad

    param.register_hook(poison)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert msg.startswith(f'iteration {BAD_ITER}: the gradients are not '
                          f'finite although the loss terms are ({name}')
    for key, value in runner.model.named_parameters():
        assert torch.equal(value.detach(), snap.before[BAD_ITER][key]), key


def test_skips_in_a_row_are_bounded(synthetic_root, tmp_path):
    runner, _ = make_runner(synthetic_root, tmp_path, action='skip',
                            max_consecutive_skips=2)
    original = runner.model.loss

    def always_nan(*args, **kwargs):
        losses = original(*args, **kwargs)
        losses['loss_cls'] = losses['loss_cls'] * float('nan')
        return losses

    runner.model.loss = always_nan
    with pytest.raises(NonFiniteLossError, match=r'^iteration 3: .*\(2 steps'
                       r' in a row were skipped, max_consecutive_skips=2\); '
                       r'training stopped before the update, the last '
                       r'checkpoint is .*iter_2.pth'):
        runner.train()


def test_bad_arguments():
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteGuardHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        NonFiniteGuardHook(max_consecutive_skips=0)
