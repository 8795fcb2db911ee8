"""Stop (or skip the step) on a non-finite training loss or gradient."""
import logging
import math
from typing import Dict, List

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from ...registry import HOOKS

ACTIONS = ('stop', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A training loss or gradient became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Catch NaN / Inf losses and gradients before the update applies them.

    Without it a NaN loss is logged as ``loss: nan``, the optimizer applies
    the NaN gradients, and a later iteration dies somewhere unrelated (e.g.
    in mmdet's Hungarian assigner: ``matrix contains invalid numeric
    entries``). mmengine's hooks run after the update, so the guard wraps, at
    ``before_train``, the model's ``parse_losses`` (it sees every loss term
    before the backward pass) and the optimizer wrapper's ``update_params``
    and ``step`` (it sees the gradients before the update); ``after_train``
    restores them.

    * ``action='stop'`` (default): raise :class:`NonFiniteLossError` naming
      the iteration, the non-finite loss terms (or that the gradients of
      finite losses are not finite, with the parameters concerned) and the
      last checkpoint saved (all checkpoints were saved before any
      non-finite value, since the run stops at the first one).
    * ``action='skip'``: skip the step (no backward pass for a non-finite
      loss; no optimizer step for non-finite gradients, which are zeroed),
      warn, and count the skips (``runner.message_hub`` scalar
      ``train/skipped_steps``, logged with the losses). After
      ``max_consecutive_skips`` skips in a row it stops as above.

    **Mixed precision**: with mmengine's :class:`AmpOptimWrapper`, gradients
    that overflow are the loss scaler's business (it skips the step and
    lowers the scale), so only the loss terms are checked. A non-finite loss
    is checked in every case: scaling cannot repair a forward pass that
    produced it.

    **Distributed** runs agree on the decision (a flag all-reduced with
    ``max``), so either every rank skips or every rank stops; a skipped
    backward pass on one rank only would hang DDP.

    The cost is one device-to-host sync of one flag per iteration (the
    logger syncs every loss term anyway) and, without AMP, one fused norm
    over the gradients.

    Config (in the package's ``default_runtime.py``; turn it off with
    ``enabled=False``)::

        default_hooks = dict(
            non_finite=dict(type='NonFiniteGuardHook', action='stop'))

    Args:
        action (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        check_grads (bool): Also check the gradients before the optimizer
            step (not with AMP, see above). Defaults to True.
        max_consecutive_skips (int): With ``action='skip'``, stop after
            this many skipped steps in a row. Defaults to 10.
        enabled (bool): ``False`` turns the guard off. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 action: str = 'stop',
                 check_grads: bool = True,
                 max_consecutive_skips: int = 10,
                 enabled: bool = True) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteGuardHook: action must be one of '
                             f'{ACTIONS}, got {action!r}')
        if int(max_consecutive_skips) < 1:
            raise ValueError('NonFiniteGuardHook: max_consecutive_skips must '
                             f'be >= 1, got {max_consecutive_skips!r}')
        self.action = action
        self.check_grads = check_grads
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.enabled = enabled
        self.num_skipped = 0
        self._consecutive = 0
        self._skip_update = False
        self._runner = None
        self._restore: List = []

    # ------------------------------------------------------------ wrapping
    def before_train(self, runner) -> None:
        if not self.enabled:
            return
        self._runner = runner
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._wrap(model, 'parse_losses', self._guarded_parse_losses)
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            wrappers = list(wrappers.values())
        else:
            wrappers = [wrappers]
        for wrapper in wrappers:
            if not isinstance(wrapper, OptimWrapper):
                continue
            self._wrap(wrapper, 'update_params',
                       self._make_guarded_update(wrapper))
            if self.check_grads and not isinstance(wrapper, AmpOptimWrapper):
                self._wrap(wrapper, 'step', self._make_guarded_step(wrapper))

    def after_train(self, runner) -> None:
        for obj, name, had_own, original in reversed(self._restore):
            if had_own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)
        self._restore = []

    def _wrap(self, obj, name: str, replacement) -> None:
        had_own = name in vars(obj)
        self._restore.append((obj, name, had_own, vars(obj).get(name)))
        original = getattr(obj, name)
        setattr(obj, name, replacement(original))

    # --------------------------------------------------------------- checks
    @staticmethod
    def _any_rank(bad: bool, device) -> bool:
        """Whether ``bad`` holds on any rank."""
        if not (torch_dist.is_available() and torch_dist.is_initialized()):
            return bad
        flag = torch.tensor([float(bad)], device=device)
        torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MAX)
        return bool(flag.item())

    def _guarded_parse_losses(self, original):

        def parse_losses(losses):
            loss, log_vars = original(losses)
            values = [v.detach().float().reshape(-1) for v in
                      log_vars.values() if isinstance(v, torch.Tensor)]
            values.append(loss.detach().float().reshape(-1))
            bad = not bool(torch.isfinite(torch.cat(values)).all())
            if self._any_rank(bad, loss.device):
                self._non_finite(self._describe_losses(log_vars, bad))
            return loss, log_vars

        return parse_losses

    def _make_guarded_update(self, wrapper):

        def make(original):

            def update_params(loss, *args, **kwargs):
                if self._skip_update:
                    # no backward pass: the non-finite loss never reaches
                    # the gradients (and DDP's all-reduce is skipped on
                    # every rank alike)
                    self._skip_update = False
                    return None
                out = original(loss, *args, **kwargs)
                if not self._skip_update:
                    self._consecutive = 0
                self._skip_update = False
                return out

            return update_params

        return make

    def _make_guarded_step(self, wrapper):

        def make(original):

            def step(*args, **kwargs):
                bad_params = self._non_finite_grads(wrapper)
                if self._any_rank(bool(bad_params), self._device(wrapper)):
                    self._non_finite(
                        'the gradients are not finite although the loss '
                        'terms are (' + (', '.join(bad_params[:5]) + (
                            f' and {len(bad_params) - 5} more'
                            if len(bad_params) > 5 else '')
                            if bad_params else 'on another rank') + ')')
                    wrapper.zero_grad()
                    self._skip_update = True  # update_params: no reset
                    return None
                return original(*args, **kwargs)

            return step

        return make

    @staticmethod
    def _device(wrapper):
        for group in wrapper.optimizer.param_groups:
            for param in group['params']:
                return param.device
        return torch.device('cpu')

    def _non_finite_grads(self, wrapper) -> List[str]:
        """Names (or indices) of parameters with non-finite gradients."""
        params = [p for group in wrapper.optimizer.param_groups
                  for p in group['params'] if p.grad is not None]
        if not params:
            return []
        norms = torch._foreach_norm([p.grad for p in params])
        if bool(torch.isfinite(torch.stack(norms)).all()):
            return []
        names = self._param_names()
        return [names.get(id(p), f'param #{i}')
                for i, (p, n) in enumerate(zip(params, norms))
                if not math.isfinite(float(n))]

    def _param_names(self) -> Dict[int, str]:
        model = self._runner.model
        return {id(p): name for name, p in model.named_parameters()}

    @staticmethod
    def _describe_losses(log_vars: dict, bad_here: bool) -> str:
        if not bad_here:
            return 'a loss is not finite on another rank'
        terms = [
            f'{name}={float(value.detach().float().mean()):g}'
            for name, value in log_vars.items()
            if isinstance(value, torch.Tensor)
            and not bool(torch.isfinite(value.detach()).all())
        ]
        return 'non-finite loss terms: ' + ', '.join(terms)

    # ------------------------------------------------------------- actions
    def _non_finite(self, what: str) -> None:
        runner = self._runner
        iteration = runner.iter + 1
        where = f'iteration {iteration}'
        if getattr(runner.train_loop, '_epoch', None) is not None and \
                type(runner.train_loop).__name__.startswith('Epoch'):
            where += f' (epoch {runner.epoch + 1})'
        if self.action == 'skip' and \
                self._consecutive < self.max_consecutive_skips:
            self._consecutive += 1
            self.num_skipped += 1
            self._skip_update = True
            runner.message_hub.update_scalar('train/skipped_steps',
                                             self.num_skipped)
            print_log(
                f'NonFiniteGuardHook: {where}: {what}; step skipped '
                f'({self.num_skipped} skipped in all, {self._consecutive} in '
                'a row)', 'current', level=logging.WARNING)
            return
        last = runner.message_hub.get_info('last_ckpt')
        hint = ("default_hooks.non_finite.action='skip' skips such steps."
                if self.action == 'stop' else
                'skipped steps do not update the weights, so every '
                'checkpoint has finite weights.')
        if self.action == 'skip':
            what += (f' ({self._consecutive} steps in a row were skipped, '
                     f'max_consecutive_skips={self.max_consecutive_skips})')
            ckpt = (f'the last checkpoint is {last}' if last else
                    'no checkpoint was saved')
        else:
            ckpt = ('the last checkpoint, saved before any non-finite value,'
                    f' is {last}' if last else
                    'no checkpoint was saved before it')
        raise NonFiniteLossError(
            f'{where}: {what}; training stopped before the update, {ckpt}. '
            'Lower the learning rate, clip gradients (optim_wrapper.'
            f'clip_grad) or check the data of this iteration; {hint}')

    # ---------------------------------------------------------- checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['non_finite_skips'] = \
            self.num_skipped

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.num_skipped = int(
            checkpoint.get('meta', {}).get('non_finite_skips', 0))
