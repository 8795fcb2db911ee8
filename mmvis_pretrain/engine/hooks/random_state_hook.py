"""Exact resume: save the random number generators in the checkpoint and
restore them where the uninterrupted run would have had them.

Without this hook a resumed, seeded run continues deterministically but not
*as the uninterrupted run would*: the checkpoint holds no RNG state, so data
augmentation and the model's random draws (e.g. Mask2Former's point
sampling) take different values from the first resumed iteration on.

Besides :class:`RandomStateHook`, the module has two helpers for code that
owns a generator of its own (e.g. a masking hook with an
``np.random.Generator``)::

    state = get_rng_state(self.rng)   # checkpoint-safe (weights_only) form
    set_rng_state(state, self.rng)

and, without a generator argument, the process-global states (python
``random``, numpy's global RNG, torch CPU, torch CUDA).
"""
import functools
import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import BaseLoop

from ...registry import HOOKS

#: Key of the hook's entry in the checkpoint dict.
RNG_STATE_KEY = 'rng_states'
#: Layout of that entry; bump on incompatible changes.
FORMAT_VERSION = 1
#: Generator types found (and restored) automatically; see
#: :func:`find_generators`.
GENERATOR_TYPES = (torch.Generator, np.random.Generator,
                   np.random.BitGenerator, np.random.RandomState,
                   random.Random)
_NDARRAY = '__ndarray__'


# --------------------------------------------------------------------------
# checkpoint-safe conversion
# --------------------------------------------------------------------------
def _to_safe(obj: Any) -> Any:
    """Copy ``obj`` with numpy arrays / scalars replaced by python lists /
    numbers, so that ``torch.load(weights_only=True)`` reads it without any
    allow-listed global (numpy's bit generator states hold arrays)."""
    if isinstance(obj, np.ndarray):
        return {_NDARRAY: obj.tolist(), 'dtype': obj.dtype.str}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_safe(v) for v in obj)
    return obj


def _from_safe(obj: Any) -> Any:
    """Inverse of :func:`_to_safe` (tensors are moved to the CPU: resume
    loads checkpoints with ``map_location`` the current device)."""
    if isinstance(obj, dict):
        if _NDARRAY in obj:
            return np.asarray(obj[_NDARRAY], dtype=np.dtype(obj['dtype']))
        return {k: _from_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_safe(v) for v in obj)
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    return obj


def _python_state(state: Sequence) -> tuple:
    """``random.setstate`` wants ``(version, tuple(internal), gauss)``."""
    version, internal, gauss = state
    return (int(version), tuple(int(x) for x in internal), gauss)


def _byte_tensor(state: Any) -> torch.Tensor:
    return torch.as_tensor(state, dtype=torch.uint8).cpu()


# --------------------------------------------------------------------------
# helpers for anybody who owns a generator
# --------------------------------------------------------------------------
def get_rng_state(generator: Any = None) -> dict:
    """The state of ``generator``, or of the process-global RNGs.

    The result holds only python containers / numbers / strings and CPU
    ``uint8`` tensors, which ``torch.load(..., weights_only=True)`` reads
    without allow-listing anything.

    Args:
        generator: ``None`` for the global RNGs, or a ``torch.Generator``,
            ``np.random.Generator``, ``np.random.BitGenerator``,
            ``np.random.RandomState`` or ``random.Random``.

    Returns:
        dict: For the globals ``{'python', 'numpy', 'torch', 'cuda'}``
        (``cuda`` is a list with one state per device, or ``None`` while
        CUDA is not initialised); for a generator ``{'kind', 'state'}``.

    Raises:
        TypeError: for any other object.
    """
    if generator is None:
        cuda = None
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            cuda = [s.cpu() for s in torch.cuda.get_rng_state_all()]
        return dict(
            python=random.getstate(),
            numpy=_to_safe(np.random.get_state(legacy=False)),
            torch=torch.get_rng_state(),
            cuda=cuda)
    if isinstance(generator, torch.Generator):
        return dict(kind='torch', state=generator.get_state())
    if isinstance(generator, np.random.Generator):
        return dict(kind='numpy',
                    state=_to_safe(generator.bit_generator.state))
    if isinstance(generator, np.random.BitGenerator):
        return dict(kind='numpy', state=_to_safe(generator.state))
    if isinstance(generator, np.random.RandomState):
        return dict(kind='numpy_legacy',
                    state=_to_safe(generator.get_state(legacy=False)))
    if isinstance(generator, random.Random):
        return dict(kind='python', state=generator.getstate())
    raise TypeError(f'get_rng_state: {type(generator).__name__} is not a '
                    'random number generator')


def set_rng_state(state: dict, generator: Any = None) -> List[str]:
    """Put ``state`` (from :func:`get_rng_state`) back.

    Args:
        state (dict): What :func:`get_rng_state` returned (possibly after a
            round trip through a checkpoint).
        generator: ``None`` for the global RNGs, else the generator whose
            state ``state`` is.

    Returns:
        list[str]: Parts that could not be restored, e.g. CUDA states when
        CUDA is not available here (empty when everything was restored).

    Raises:
        TypeError: if ``state`` belongs to another kind of generator.
        ValueError: if numpy refuses the state (another bit generator).
    """
    if generator is None:
        skipped = []
        random.setstate(_python_state(state['python']))
        np.random.set_state(_from_safe(state['numpy']))
        torch.set_rng_state(_byte_tensor(state['torch']))
        cuda = state.get('cuda')
        if cuda:
            if not torch.cuda.is_available():
                skipped.append(f'{len(cuda)} CUDA device state(s) (CUDA is '
                               'not available)')
            else:
                count = torch.cuda.device_count()
                for index, device_state in enumerate(cuda[:count]):
                    torch.cuda.set_rng_state(_byte_tensor(device_state), index)
                if len(cuda) > count:
                    skipped.append(f'CUDA states of devices {count}..'
                                   f'{len(cuda) - 1} (only {count} here)')
        return skipped
    kind = state.get('kind')
    expected = get_rng_state(generator)['kind']
    if kind != expected:
        raise TypeError(f'set_rng_state: a {kind!r} state cannot go into a '
                        f'{type(generator).__name__} ({expected!r})')
    value = _from_safe(state['state'])
    if kind == 'torch':
        generator.set_state(_byte_tensor(value))
    elif kind == 'numpy':
        bit_generator = getattr(generator, 'bit_generator', generator)
        bit_generator.state = value  # ValueError on another bit generator
    elif kind == 'numpy_legacy':
        generator.set_state(value)
    else:
        generator.setstate(_python_state(value))
    return []


# --------------------------------------------------------------------------
# generators owned by the data pipeline and by hooks
# --------------------------------------------------------------------------
def _is_transform_container(obj: Any) -> bool:
    from mmcv.transforms import BaseTransform
    from mmengine.dataset import Compose
    return isinstance(obj, (BaseTransform, Compose))


def _walk_transforms(obj: Any, path: str, found: Dict[str, Any], seen: set,
                     depth: int = 0) -> None:
    """Generators inside a pipeline: attributes of transforms, of wrapped
    transforms (``Compose``, ``TransformBroadcaster``, ``RandomChoice``...)
    and of lists / dicts of them. Nothing else is entered (a dataset's data
    list can be huge)."""
    if depth > 12 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, GENERATOR_TYPES):
        found[path] = obj
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _walk_transforms(value, f'{path}.{i}', found, seen, depth + 1)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(key, str):
                _walk_transforms(value, f'{path}.{key}', found, seen,
                                 depth + 1)
    elif _is_transform_container(obj):
        for name, value in vars(obj).items():
            _walk_transforms(value, f'{path}.{name}', found, seen, depth + 1)


def _datasets(dataset: Any, path: str, depth: int = 0):
    """``dataset`` and the datasets it wraps (Concat / Repeat / ...)."""
    yield path, dataset
    if depth > 4:
        return
    for i, sub in enumerate(getattr(dataset, 'datasets', None) or []):
        yield from _datasets(sub, f'{path}.datasets.{i}', depth + 1)
    sub = getattr(dataset, 'dataset', None)
    if sub is not None and sub is not dataset:
        yield from _datasets(sub, f'{path}.dataset', depth + 1)


def _own_generators(obj: Any, path: str, found: Dict[str, Any]) -> None:
    """Generators that are direct attributes of ``obj``."""
    for name, value in vars(obj).items() if hasattr(obj, '__dict__') else ():
        if isinstance(value, GENERATOR_TYPES):
            found[f'{path}.{name}'] = value


def find_generators(dataloader: Any = None,
                    hooks: Sequence[Hook] = ()) -> Dict[str, Any]:
    """Generators of a training run that :class:`RandomStateHook` saves.

    * direct attributes of the dataloader's ``sampler``, ``batch_sampler``
      and ``batch_sampler.sampler`` (e.g. torch's ``RandomSampler(
      generator=...)``);
    * attributes of the transforms of the dataset's ``pipeline`` (also of
      datasets wrapped by Concat / Repeat / ClassBalanced datasets), nested
      transforms included;
    * direct attributes of ``hooks``, except hooks with ``state_dict()`` and
      ``load_state_dict()``: those save their own state.

    Args:
        dataloader: The training dataloader, or None.
        hooks: The runner's hooks.

    Returns:
        dict: ``{path: generator}``, ``path`` such as
        ``'dataset.pipeline.transforms.1.rng'`` or ``'hooks.MaskHook.rng'``,
        the same in every run of the same config.
    """
    found: Dict[str, Any] = {}
    if dataloader is not None:
        samplers = {}
        for name in ('sampler', 'batch_sampler'):
            samplers[name] = getattr(dataloader, name, None)
        samplers['batch_sampler.sampler'] = getattr(
            samplers['batch_sampler'], 'sampler', None)
        seen_samplers = set()
        for name, sampler in samplers.items():
            if sampler is None or id(sampler) in seen_samplers:
                continue
            seen_samplers.add(id(sampler))
            _own_generators(sampler, name, found)
        seen: set = set()
        dataset = getattr(dataloader, 'dataset', None)
        if dataset is not None:
            for path, ds in _datasets(dataset, 'dataset'):
                pipeline = getattr(ds, 'pipeline', None)
                if pipeline is not None:
                    _walk_transforms(pipeline, f'{path}.pipeline', found, seen)
    names: Dict[str, int] = {}
    for hook in hooks:
        if isinstance(hook, RandomStateHook) or (
                callable(getattr(hook, 'state_dict', None))
                and callable(getattr(hook, 'load_state_dict', None))):
            continue
        name = type(hook).__name__
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name = f'{name}#{names[name]}'
        _own_generators(hook, f'hooks.{name}', found)
    return found


def select_rank_state(saved: dict, rank: int,
                      world_size: int) -> Tuple[Optional[dict], List[str]]:
    """This process's entry of a checkpoint's ``rng_states``.

    Args:
        saved (dict): ``checkpoint['rng_states']``.
        rank (int): This process's rank.
        world_size (int): The number of processes of this run.

    Returns:
        tuple: The state to restore (None: restore nothing) and the warnings
        to log.
    """
    version = saved.get('version') if isinstance(saved, dict) else None
    if version != FORMAT_VERSION:
        return None, [f'RNG state of unknown format {version!r} in the '
                      'checkpoint: not restored']
    ranks = saved.get('ranks') or []
    saved_world_size = saved.get('world_size', len(ranks))
    messages = []
    if saved_world_size != world_size:
        messages.append(
            f'the checkpoint was saved by {saved_world_size} process(es), '
            f'this run has {world_size}: each rank restores the state '
            'saved by the same rank, if any, but the data split differs '
            'and the run is not an exact continuation')
    if rank < len(ranks):
        return ranks[rank], messages
    if rank < saved_world_size:
        messages.append(f'the checkpoint holds the RNG states of rank(s) '
                        f'< {len(ranks)} only: rank {rank} keeps its seeded '
                        'state')
    return None, messages


class _RestoreAfterReplay:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` while the loop
    skips the ``skip`` batches that were trained before the checkpoint; calls
    ``restore`` right before the first new batch is fetched, then puts the
    real iterator back."""

    def __init__(self, loop, iterator, skip: int, restore) -> None:
        self._loop = loop
        self._iterator = iterator
        self._skip = skip
        self._fetched = 0
        self._restore = restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._fetched >= self._skip:
            self.uninstall()
            self._restore()
        else:
            self._fetched += 1
        return next(self._iterator)

    def uninstall(self) -> None:
        if getattr(self._loop, 'dataloader_iterator', None) is self:
            self._loop.dataloader_iterator = self._iterator

    def __getattr__(self, name):
        iterator = self.__dict__.get('_iterator')
        if iterator is None:
            raise AttributeError(name)
        return getattr(iterator, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the RNG states in checkpoints and restore them on resume, so that
    a resumed seeded run reproduces the uninterrupted one.

    **Saved** (``checkpoint['rng_states']``, in the checkpoint-safe form of
    :func:`get_rng_state`): python ``random``, numpy's global RNG, torch CPU,
    torch CUDA (every device, once CUDA is initialised), and the generators
    :func:`find_generators` finds (attributes of the train sampler / batch
    sampler, of the training pipeline's transforms, of hooks). In
    distributed runs one entry per rank: when a :class:`CheckpointHook` is
    due to save, all ranks gather their states first (``save_checkpoint``
    runs on rank 0 only); a checkpoint saved otherwise holds rank 0's only.

    mmengine's samplers (``DefaultSampler``, ``InfiniteSampler``), mmdet's
    (``TrackImgSampler``, the aspect-ratio batch samplers) and our
    ``RatioSampler`` own no generator between batches: each draws from a
    generator it builds from ``seed`` (+ ``epoch``), so their sequence is
    fully determined by seed and position, and mmengine's replay of the
    trained batches on resume restores that position. Nothing to save.

    **Restored** where the uninterrupted run had them, not in
    ``after_load_checkpoint``: on resume mmengine's ``IterBasedTrainLoop``
    re-reads ``iter`` batches to skip them ("Advance dataloader ... steps"),
    and with ``num_workers=0`` the transforms of those batches draw from the
    main process's RNGs. The hook wraps the loop's ``dataloader_iterator``
    so that the states are restored after that replay, right before the
    first new batch is fetched (the uninterrupted run saved them right after
    the previous iteration, before fetching that batch). The
    ``EpochBasedTrainLoop`` resumes at an epoch start without replay: the
    states are restored in the first ``before_train_epoch``, before the
    epoch's dataloader iterator (and its workers) is created.

    **Dataloader workers** (``num_workers > 0``): the transforms run in the
    workers, whose RNGs are not saved. They need not be: mmengine's
    ``worker_init_fn`` seeds every worker from ``seed + num_workers * rank
    + worker_id`` when it starts, independently of the main process (and
    torch's per-worker base seed, the only main-process draw, is taken when
    the iterator is created, at the same point of both runs), and the
    workers process the same index sequence in both runs, so after the
    replay they are where the uninterrupted run's workers were. Restoring
    the main process afterwards does not reach running workers; iterators
    created later (next epoch) draw their base seed from the restored
    state, as in the uninterrupted run. Not reproduced: persistent workers
    of an ``EpochBasedTrainLoop`` (their RNGs carried over epochs are lost
    with the process), a custom ``worker_init_fn`` seeding from the main
    process, and samplers drawing from the global torch RNG (torch's
    ``RandomSampler`` without ``generator``) when an epoch starts inside
    the replayed span.

    **Validation** draws from the global RNGs too (creating the val
    dataloader's iterator alone draws torch's base seed), after the
    checkpoint of the same iteration was saved. With ``isolate_val=True``
    the global RNG states are put back after every validation during
    training, so that validation does not shift the training's random
    streams, and a checkpoint saved during validation (``save_best``) holds
    the training states of before validation.

    **Missing or foreign states**: a resumed checkpoint without
    ``rng_states`` (saved without this hook) logs one warning and the run
    continues from the seeded states; ``load_from`` (not a resume) ignores
    the entry silently. With another world size each rank restores the
    state of the same rank if the checkpoint has one and a warning says
    that the continuation is not exact; CUDA states are restored for the
    devices present.

    Hooks that own a generator either keep it as a plain attribute (found
    and restored by this hook) or, if they implement ``state_dict()`` /
    ``load_state_dict()``, save it themselves with :func:`get_rng_state` /
    :func:`set_rng_state`.

    Args:
        isolate_val (bool): Restore the training RNG states after each
            validation during training. Defaults to True.
        enabled (bool): False makes the hook do nothing. mmengine 0.10.7
            removes a default hook given as ``None`` only for its own six
            names and asserts on ``default_hooks.rng_state=None``, so this
            is the way to switch it off from a config or the command line
            (``--cfg-options default_hooks.rng_state.enabled=False``).
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, isolate_val: bool = True, enabled: bool = True) -> None:
        self.isolate_val = isolate_val
        self.enabled = enabled
        self._loaded = False
        self._checkpoint_states: Optional[dict] = None
        self._pending: Optional[dict] = None
        self._proxy: Optional[_RestoreAfterReplay] = None
        self._training = False
        self._val_stash: Optional[dict] = None
        self._val_gathered: Optional[list] = None
        self._gathered: Optional[Tuple[tuple, list]] = None

    # ---------------------------------------------------------------- state
    @staticmethod
    def _train_dataloader(runner):
        # the private attribute: the public ``train_loop`` property would
        # build the loop (and its dataloader) when it is still a config
        loop = getattr(runner, '_train_loop', None)
        return loop.dataloader if isinstance(loop, BaseLoop) else None

    def capture(self, runner) -> dict:
        """This process's global and owned generator states."""
        generators = find_generators(
            self._train_dataloader(runner), runner.hooks)
        return dict(
            global_states=get_rng_state(),
            generators={k: get_rng_state(g) for k, g in generators.items()})

    def restore(self, runner, state: dict) -> None:
        """Put ``state`` (from :meth:`capture`) back; warn about parts that
        have no counterpart in this run."""
        problems = set_rng_state(state['global_states'])
        current = find_generators(
            self._train_dataloader(runner), runner.hooks)
        saved = state.get('generators') or {}
        missing, refused = [], []
        for path, gen_state in saved.items():
            if path not in current:
                missing.append(path)
                continue
            try:
                set_rng_state(gen_state, current[path])
            except (TypeError, ValueError, KeyError):
                refused.append(path)
        new = sorted(set(current) - set(saved))
        if missing:
            problems.append(f'generators gone from this run: {missing}')
        if refused:
            problems.append(f'generators of another type now: {refused}')
        if new:
            problems.append(f'generators not in the checkpoint (left as '
                            f'seeded): {new}')
        for problem in problems:
            runner.logger.warning(f'RandomStateHook: not restored: {problem}')

    @staticmethod
    def _key(runner) -> tuple:
        return runner.epoch, runner.iter

    # ------------------------------------------------------------ checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store ``checkpoint['rng_states']`` (runs on rank 0 only)."""
        if not self.enabled:
            return
        _, world_size = get_dist_info()
        if self._val_stash is not None:
            # saved during validation (e.g. save_best): the training states
            ranks = self._val_gathered or [self._val_stash]
        elif self._gathered is not None and \
                self._gathered[0] == self._key(runner):
            ranks = self._gathered[1]
        else:
            ranks = [self.capture(runner)]
        self._gathered = None
        checkpoint[RNG_STATE_KEY] = dict(
            version=FORMAT_VERSION, world_size=world_size, ranks=ranks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the states; whether this is a resume is known only in
        ``before_train`` (``load_from`` leaves the iteration at 0)."""
        if not self.enabled:
            return
        self._loaded = True
        self._checkpoint_states = checkpoint.get(RNG_STATE_KEY)

    def _checkpoint_due(self, runner, by_epoch: bool) -> bool:
        """Whether a ``CheckpointHook`` saves in this ``after_train_*``."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            try:
                if hook.by_epoch != by_epoch:
                    continue
                if by_epoch:
                    due = hook.every_n_epochs(
                        runner, hook.interval, hook.save_begin) or (
                            hook.save_last
                            and hook.is_last_train_epoch(runner))
                else:
                    due = hook.every_n_train_iters(
                        runner, hook.interval, hook.save_begin) or (
                            hook.save_last
                            and hook.is_last_train_iter(runner))
            except AttributeError:  # a subclass we do not understand
                due = True
            if due:
                return True
        return False

    def _gather_if_due(self, runner, by_epoch: bool) -> None:
        if not self.enabled:
            return
        if get_dist_info()[1] > 1 and self._checkpoint_due(runner, by_epoch):
            self._gathered = (self._key(runner),
                              all_gather_object(self.capture(runner)))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._gather_if_due(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, by_epoch=True)

    # --------------------------------------------------------------- resume
    def before_train(self, runner) -> None:
        if not self.enabled:
            return
        self._training = True
        if not self._loaded:
            return
        self._loaded = False
        saved, self._checkpoint_states = self._checkpoint_states, None
        if runner.iter == 0 and runner.epoch == 0:
            return  # load_from: weights only, nothing to continue
        if saved is None:
            runner.logger.warning(
                'RandomStateHook: the resumed checkpoint holds no RNG state '
                '(saved without this hook): training continues from the '
                'seeded state, not exactly as the uninterrupted run would')
            return
        rank, world_size = get_dist_info()
        self._pending, messages = select_rank_state(saved, rank, world_size)
        for message in messages:
            runner.logger.warning(f'RandomStateHook: {message}')

    def _restore_pending(self, runner) -> None:
        state, self._pending = self._pending, None
        self._proxy = None
        if state is not None:
            self.restore(runner, state)

    def before_train_epoch(self, runner) -> None:
        if self._pending is None or self._proxy is not None:
            return
        loop = runner.train_loop
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is not None and runner.iter > 0:
            # IterBasedTrainLoop: restore after its replay of `iter` batches
            self._proxy = _RestoreAfterReplay(
                loop, iterator, runner.iter,
                functools.partial(self._restore_pending, runner))
            loop.dataloader_iterator = self._proxy
        else:
            self._restore_pending(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._pending is None:
            return
        # the loop did not fetch through `dataloader_iterator`: late, but
        # the model's draws of this iteration are still reproduced
        runner.logger.warning(
            'RandomStateHook: RNG states restored after the first resumed '
            'batch was loaded; its data augmentation is not reproduced')
        if self._proxy is not None:
            self._proxy.uninstall()
        self._restore_pending(runner)

    def after_train(self, runner) -> None:
        self._training = False
        if self._proxy is not None:
            self._proxy.uninstall()
        self._proxy = None
        self._pending = None

    # ----------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        if not self.enabled:
            return
        if not (self.isolate_val and self._training):
            return
        self._val_stash = self.capture(runner)
        if get_dist_info()[1] > 1:
            self._val_gathered = all_gather_object(self._val_stash)

    def after_val(self, runner) -> None:
        if self._val_stash is None:
            return
        set_rng_state(self._val_stash['global_states'])
        self._val_stash = None
        self._val_gathered = None
