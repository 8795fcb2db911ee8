"""Fixes for the pinned stack on torch >= 2.6, numpy 2 and setuptools.

Every known breakage of ``torch 2.13 / mmengine 0.10.7 / mmcv 2.1.0 /
mmdet 3.3.0 / numpy 2`` is repaired here and nowhere else; the package
applies them on import (:func:`apply_stack_fixes` is idempotent).

1. **Checkpoints with** ``weights_only=True``. mmengine calls ``torch.load``
   without ``weights_only``; torch >= 2.6 defaults it to ``True`` and refuses
   the non-tensor objects mmengine stores (``HistoryBuffer`` in the message
   hub, numpy arrays / scalars / dtypes in logged values). We keep the safe
   loader and *allow-list* exactly those types with
   :func:`torch.serialization.add_safe_globals`, so ``load_from`` and
   ``resume`` work and untrusted pickles are still refused.
2. **numpy 2 in mmdet's YouTube-VIS evaluation.** ``mmdet.evaluation.
   functional.ytviseval`` calls ``np.float`` (removed in numpy 1.24). We give
   that one module a numpy namespace in which ``float`` is the builtin, instead
   of putting the alias back into numpy for everybody.
3. **pkg_resources.** mmengine and openmim import ``pkg_resources``, which
   setuptools >= 81 no longer ships; the requirements pin ``setuptools<81``
   and :func:`check_pkg_resources` fails with an actionable message otherwise.
   Its deprecation warning is silenced since we cannot act on it.
4. ``mmcv.ops.Correlation`` has no CPU kernel: :func:`correlation_available`
   tells whether mmcv can run it on a device, and
   :class:`mmvis_pretrain.models.layers.ops.Correlation` (same signature) falls
   back to a pure-PyTorch implementation where it cannot.
5. **Distributed runs without CUDA.** mmengine's ``pytorch`` launcher calls
   ``torch.cuda.set_device`` unconditionally, which a CPU build of torch
   cannot do. Without CUDA we initialise the process group directly (the
   backend, ``gloo``, is chosen by :mod:`mmvis_pretrain.utils.runtime_cfg`).
6. **The** ``mmvis_pretrain::`` **config scope.** mmengine resolves
   ``_base_ = 'pkg::folder/config.py'`` only for the packages of its
   hard-coded ``MODULE2PACKAGE`` table (mmdet, mmyolo, ...), and asserts
   otherwise. :func:`register_config_scope` adds this package, so a config
   anywhere can inherit ours (``<package>/.mim/configs``, created by the
   install) once ``mmvis_pretrain`` is imported (the package's tools, and
   ``mim train mmvis_pretrain``, import it before reading the config).
7. **Known log noise**, filtered by exact message (nothing else is hidden):
   torch's ``torch.meshgrid: in an upcoming release ...`` (mmdet / mmcv
   call it without ``indexing``; the default they rely on stays ``'ij'``)
   and mmengine's ``"FileClient" will be deprecated`` log line (emitted by
   mmengine's own hooks, which we cannot change); see
   :func:`quiet_known_noise`.
8. **mmdet's** ``YouTubeVISMetric`` **evaluates only once.** Its
   ``evaluate`` replaces the ``defaultdict`` that collects the frames' and
   videos' meta data by a plain ``dict`` and clears it, so the first video
   of the next evaluation (the second validation of a training) raises
   ``KeyError: 'images'``. :func:`patch_youtube_vis_metric_reset` restores
   the empty ``defaultdict`` after each evaluation, which is the state
   ``__init__`` leaves (the metrics it computes are unchanged).
"""
import functools
import importlib
import logging
import pickle
import types
import warnings
from typing import List

import numpy as np
import torch

_APPLIED = False


def checkpoint_safe_globals() -> List[type]:
    """Objects an mmengine checkpoint may contain besides tensors.

    Returns:
        list: classes / functions to allow-list for ``torch.load`` with
        ``weights_only=True``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    safe: List[type] = [HistoryBuffer, np.ndarray, np.dtype]
    # numpy moved ``core`` to ``_core`` in 2.0; pickles name the module in
    # which the object lived when saved, so allow both spellings.
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', DeprecationWarning)
                mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        safe.extend([mod._reconstruct, mod.scalar])
    # Concrete dtype classes (``numpy.dtypes.Float64DType`` ...): a pickled
    # ``np.dtype('float64')`` references its class since numpy 1.25.
    dtypes_mod = getattr(np, 'dtypes', None)
    if dtypes_mod is not None:
        for name in dir(dtypes_mod):
            obj = getattr(dtypes_mod, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                safe.append(obj)
    return safe


def _history_buffer_statistic(owner, name: str):
    """Stand-in for ``builtins.getattr`` inside checkpoints.

    A ``HistoryBuffer`` pickles its statistics methods (``min``, ``mean``,
    ...) as ``getattr(HistoryBuffer, 'min')``. Allow-listing the real
    ``getattr`` would let a checkpoint reach any attribute of any allowed
    object; this resolves only the statistics methods of ``HistoryBuffer``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # the four built-in statistics are only put into ``_statistics_methods``
    # when the first buffer is created, custom ones when registered.
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); only the '
        'statistics methods of mmengine HistoryBuffer are allowed')


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 loads everything anyway
        return
    add(checkpoint_safe_globals())
    add([(_history_buffer_statistic, 'builtins.getattr')])


class _NumpyWithFloatAlias(types.ModuleType):
    """A view of numpy that also has the removed ``np.float`` alias."""

    float = float

    def __init__(self):
        super().__init__('numpy')

    def __getattr__(self, name):
        return getattr(np, name)


def patch_ytviseval_numpy() -> None:
    """Make ``mmdet.evaluation.functional.ytviseval`` run on numpy >= 1.24."""
    if hasattr(np, 'float'):  # old numpy still has the alias
        return
    ytviseval = importlib.import_module(
        'mmdet.evaluation.functional.ytviseval')
    if not isinstance(ytviseval.np, _NumpyWithFloatAlias):
        ytviseval.np = _NumpyWithFloatAlias()


def patch_youtube_vis_metric_reset() -> None:
    """Let mmdet's ``YouTubeVISMetric`` evaluate more than once (fix 8)."""
    from collections import defaultdict

    from mmdet.evaluation.metrics.youtube_vis_metric import YouTubeVISMetric
    evaluate = YouTubeVISMetric.evaluate
    if getattr(evaluate, '_mmvis_resets_meta_info', False):
        return

    @functools.wraps(evaluate)
    def evaluate_and_reset(self, size: int) -> dict:
        try:
            return evaluate(self, size)
        finally:  # the state __init__ leaves, also after a failure
            self._vis_meta_info = defaultdict(list)

    evaluate_and_reset._mmvis_resets_meta_info = True
    YouTubeVISMetric.evaluate = evaluate_and_reset


def check_pkg_resources() -> None:
    """Fail early, with the fix, where ``pkg_resources`` is missing."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            importlib.import_module('pkg_resources')
        except ImportError as err:
            raise ImportError(
                'pkg_resources is missing (setuptools >= 81 removed it) but '
                'mmengine and openmim import it: '
                'pip install "setuptools>=77,<81"') from err


def correlation_available(device='cpu') -> bool:
    """Whether ``mmcv.ops.Correlation`` has a kernel for ``device``.

    mmcv 2.1.0 compiles it for CUDA only (and not at all in mmcv-lite or a
    build without CUDA); elsewhere it raises at call time.
    """
    return torch.device(device).type == 'cuda' and _mmcv_cuda_ops_built()


@functools.lru_cache(maxsize=None)
def _mmcv_cuda_ops_built() -> bool:
    """Whether mmcv's compiled ops load and were built with CUDA."""
    try:
        from mmcv.ops import get_compiling_cuda_version
        return get_compiling_cuda_version() != 'not available'
    except Exception:  # mmcv-lite, a broken build, a missing extension
        return False


def patch_cpu_distributed_init() -> None:
    """Let ``mmengine.dist.init_dist('pytorch', backend='gloo')`` run on
    machines without CUDA (mmengine would call ``torch.cuda.set_device``)."""
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mmvis_cpu_aware', False):
        return

    def init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            raise RuntimeError('the nccl backend needs CUDA; use gloo on CPU')
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._mmvis_cpu_aware = True
    dist_utils._init_dist_pytorch = init_dist_pytorch


#: Exact starts of mmengine log lines that say nothing a user can act on.
KNOWN_LOG_NOISE = ('"FileClient" will be deprecated in future', )


class _KnownLogNoise(logging.Filter):
    """Drops the log records of :data:`KNOWN_LOG_NOISE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(KNOWN_LOG_NOISE)


def quiet_known_noise() -> None:
    """Filter the known, unactionable warnings (fix 7)."""
    warnings.filterwarnings(
        'ignore',
        message=r'torch\.meshgrid: in an upcoming release',
        category=UserWarning)
    from mmengine.logging import MMLogger
    original = MMLogger.__init__
    if getattr(original, '_mmvis_quiet', False):
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.addFilter(_KnownLogNoise())

    __init__._mmvis_quiet = True
    MMLogger.__init__ = __init__
    for logger in list(MMLogger._instance_dict.values()):
        logger.addFilter(_KnownLogNoise())


def register_config_scope() -> None:
    """Let mmengine resolve ``mmvis_pretrain::<folder>/<config>.py``."""
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('mmvis_pretrain',
                                           'mmvis_pretrain')


def apply_stack_fixes() -> None:
    """Apply all fixes once (called when ``mmvis_pretrain`` is imported)."""
    global _APPLIED
    if _APPLIED:
        return
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)
    check_pkg_resources()
    register_checkpoint_safe_globals()
    patch_ytviseval_numpy()
    patch_youtube_vis_metric_reset()
    patch_cpu_distributed_init()
    register_config_scope()
    quiet_known_noise()
    _APPLIED = True
