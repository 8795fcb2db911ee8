"""The copy-on-write contract of clip transforms, and its debug check.

The contract
------------
A pseudo-video is one image replicated T times (:class:`ImageToClip`). To
save T copies of the image and masks per clip, the frames **share** their
arrays: by default every frame of the clip dict holds the *same* objects
(``img``, the ``BitmapMasks`` of ``gt_masks`` and its array, ``gt_bboxes``,
``gt_bboxes_labels``, ``gt_instances_ids``, ``gt_ignore_flags``,
``homography_matrix``, ...), and frame 0's are those of the source image
sample. Later transforms may create more sharing: :class:`VideoAutoAugment`
gives frames that shared an input image one shared output image,
:class:`ClipPanCrop` crops views of one image (overlapping memory),
``stack_frames`` / ``clip_image_buffer`` put the frames' images into one
``(T, H, W, C)`` buffer (disjoint slices, not shared).

Sharing is safe because every transform that runs on a clip is
**copy-on-write**:

1. it treats every array of its input as read-only: it computes new arrays
   and assigns them (``frame['img'] = new``), and never writes into an input
   (no ``frame['img'][...] = v``, ``np.add(..., out=frame['img'])``,
   ``cv2.*(dst=frame['img'])``, ``masks.masks[i] = ...``,
   ``boxes.flip_()`` on the frame's boxes, ``arr.sort()`` ...);
2. it does not mutate a container object a frame holds (the ``BitmapMasks``
   / ``HorizontalBoxes`` object, a list or dict value): it builds a new
   one (:func:`.clip_format.wrap_bitmap_masks` wraps a new array without
   copying it);
3. it may write into arrays it allocated itself, and it may leave an input
   array in place or give one new array to several frames (zero copies).

The transforms of this package follow it (:class:`VideoAutoAugment` and its
photometric ops, :class:`ClipRotate`, :class:`VideoCopyPaste`,
:class:`ClipPanCrop`, :class:`PackClipInputs`; the debug check below runs
the pseudo-video pipelines of the configs without a violation). mmcv's and
mmdet's transforms mostly return new arrays too, with one known exception:
mmdet's box methods ``HorizontalBoxes.flip_`` / ``clip_`` write into the
box tensor, and mmdet's ``autocast_box_type`` wraps a frame's numpy
``gt_bboxes`` without a copy, so ``TransformBroadcaster(transforms=
[RandomFlip])`` on a clip whose frames share ``gt_bboxes`` would flip the
one shared array once per frame (with an even T the boxes end up unflipped
while the masks are flipped): :class:`ImageToClip` gives every frame its
own ``gt_bboxes`` for that reason. A transform that cannot follow the contract needs
``ImageToClip(copy=True)`` (independent copies per frame); run the check
when adding a transform to a clip pipeline.

The debug switch
----------------
The check runs the pipeline transform by transform and, before each
transform whose input is a clip (``img``, ``img_path`` or ``frame_id`` is a
list of T >= 2 entries), records every array that is reachable from two or
more frames (the same object, or overlapping memory: ``np.shares_memory``)
with a copy of its bytes, and every container object held by two or more
frames with its items / attributes. After the transform, a recorded array
whose bytes changed, or a container whose items were replaced, raises
:class:`CopyOnWriteError` naming the transform (its class and index in the
pipeline), the key and the frames. It costs a copy of the shared arrays per
transform (a debug mode); it draws no random numbers and changes nothing,
so the pipeline's output is the same with the check on or off.

Two ways to turn it on:

* environment: ``MMVIS_CHECK_COW=1`` (read once, when this package's
  transforms are imported: ``register_all_modules``, ``custom_imports`` or
  the registry's lazy import). Every dataset pipeline built afterwards by
  mmengine's ``BaseDataset`` (mmdet's datasets and this package's) is a
  :class:`CopyOnWriteCompose`: :func:`enable_copy_on_write_check` swaps the
  ``Compose`` that ``mmengine.dataset.base_dataset`` builds pipelines with;
  :func:`disable_copy_on_write_check` swaps it back.
* config: wrap a pipeline in the :class:`CheckCopyOnWrite` transform,
  ``pipeline=[dict(type='CheckCopyOnWrite', transforms=train_pipeline)]``
  (pipeline indices in its messages are those of ``train_pipeline``).

Off (the default) nothing is installed: pipelines are mmengine's plain
``Compose`` and no transform is wrapped, so the switch costs nothing.

What it cannot catch: a write that leaves the bytes as they were (the same
values written, or writes that cancel out, like the even-T flip above);
writes into arrays shared with something outside the results dict (a
dataset's cache, ``mix_results`` of ``MultiImageMixDataset``, whose
pipeline is a plain list this switch does not reach); sharing between the
frames of different clips; a write made before the clip exists (image
transforms before :class:`ImageToClip` own their sample); and it checks the
top-level transforms of a pipeline, so a violation inside a wrapper
(``TransformBroadcaster``, ``RandomChoice``) is reported as the wrapper's.
Containers are compared one level deep (their items / attributes by
identity), arrays byte by byte.
"""
import os
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import mmengine.dataset.base_dataset as _base_dataset
import numpy as np
import torch
from mmcv.transforms import Compose as TransformCompose
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmvis_pretrain.registry import TRANSFORMS

#: The environment variable of the switch (``1`` / ``true`` / ``yes`` /
#: ``on``: on).
ENV_VAR = 'MMVIS_CHECK_COW'

#: mmengine's ``Compose`` (what ``BaseDataset`` builds pipelines with).
_DATASET_COMPOSE = _base_dataset.Compose

#: Keys whose value, a list, tells that results are a clip and its length T.
_CLIP_KEYS = ('img', 'img_path', 'frame_id')
#: Container objects whose shallow state is recorded when frames share them.
_CONTAINERS = (list, dict, BitmapMasks, PolygonMasks, BaseBoxes)
#: How deep the check looks into a frame's value (BitmapMasks -> array: 2;
#: PolygonMasks -> list -> list -> array: 4).
_MAX_DEPTH = 5
#: Work bound of ``np.shares_memory``; beyond it two arrays count as shared.
_MAX_WORK = 10000

Slot = Tuple[str, int]  # (key, frame index)


class CopyOnWriteError(RuntimeError):
    """A clip transform wrote into an array (or container) that frames
    share; see :mod:`mmvis_pretrain.datasets.transforms.copy_on_write`."""


def env_switch_on(environ: Optional[dict] = None) -> bool:
    """Whether :data:`ENV_VAR` turns the check on in ``environ``
    (``os.environ`` by default)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, '')
    return value.strip().lower() in ('1', 'true', 'yes', 'on')


def clip_length(results: Any) -> Optional[int]:
    """T when ``results`` is a clip dict (``img`` / ``img_path`` /
    ``frame_id`` is a list), else None."""
    if not isinstance(results, dict):
        return None
    for key in _CLIP_KEYS:
        value = results.get(key)
        if isinstance(value, list):
            return len(value)
    return None


def _as_array(value: Any) -> Optional[np.ndarray]:
    """The numpy array (view) behind ``value``, or None."""
    if isinstance(value, torch.Tensor):
        if value.device.type != 'cpu':
            return None
        try:
            value = value.detach().numpy()
        except (TypeError, RuntimeError):  # dtypes numpy lacks
            return None
    if isinstance(value, np.ndarray) and value.size \
            and not value.dtype.hasobject:
        return value
    return None


def _signature(array: np.ndarray) -> tuple:
    """Arrays with one signature are the same memory with the same layout
    (e.g. the numpy views of one tensor made for different frames)."""
    return (array.__array_interface__['data'][0], array.shape,
            array.strides, array.dtype.str)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` share memory (too hard to tell: yes)."""
    if not np.may_share_memory(a, b):
        return False
    try:
        return bool(np.shares_memory(a, b, max_work=_MAX_WORK))
    except np.exceptions.TooHardError:
        return True


def _same(a: Any, b: Any) -> bool:
    """The same object, or an equal immutable scalar / tuple."""
    if a is b:
        return True
    if type(a) is not type(b) or not isinstance(
            a, (int, float, bool, str, bytes, tuple, np.generic)):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _shallow_state(obj: Any) -> Any:
    """The items (list, dict) or attributes of a container, by reference."""
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    return dict(vars(obj))


def _changed_parts(obj: Any, before: Any) -> List[str]:
    """Items / attributes of ``obj`` that differ from ``before``."""
    if isinstance(before, list):
        if len(obj) != len(before):
            return [f'length {len(before)} -> {len(obj)}']
        return [f'[{i}]' for i, (now, old) in enumerate(zip(obj, before))
                if not _same(now, old)]
    now = obj if isinstance(obj, dict) else vars(obj)
    names = list(before) + [name for name in now if name not in before]
    return [repr(name) for name in names
            if name not in now or name not in before
            or not _same(now[name], before[name])]


def _frames_text(slots) -> str:
    """``'img' (frames [0, 1, 2])`` for a set of slots, key by key."""
    by_key: Dict[str, set] = {}
    for key, frame in slots:
        by_key.setdefault(key, set()).add(frame)
    return ', '.join(f'{key!r} (frames {sorted(frames)})'
                     for key, frames in sorted(by_key.items()))


def describe_transform(transform: Callable, index: int) -> str:
    """``transform 4 (VideoAutoAugment)``; a wrapper also names the
    transforms it wraps, a plain function is named by its name."""
    name = transform.__name__ if isinstance(
        transform, (types.FunctionType, types.MethodType)) \
        else type(transform).__name__
    inner = getattr(transform, 'transforms', None)
    # mmcv's wrappers (TransformBroadcaster, KeyMapper ...) hold a Compose
    inner = getattr(inner, 'transforms', inner)
    if isinstance(inner, (list, tuple)) and inner:
        name += '[' + ', '.join(type(t).__name__ for t in inner) + ']'
    return f'transform {index} ({name})'


class SharedSnapshot:
    """What the frames of a clip share, recorded before one transform.

    :meth:`take` walks every per-frame value of a clip dict (the keys whose
    value is a list of T entries) into arrays (numpy arrays; CPU tensors,
    e.g. of ``HorizontalBoxes``, as their numpy views) and container objects
    (lists, dicts, ``BitmapMasks``, ``PolygonMasks``, ``BaseBoxes``), and
    keeps

    * for every group of arrays that overlap in memory and are reached from
      two or more frames: each array and a copy of its bytes;
    * for every container object held by two or more frames: its items or
      attributes (references).

    :meth:`verify` compares them after the transform.
    """

    def __init__(self) -> None:
        # (array, bytes, slots of the array, slots of its group)
        self.arrays: List[Tuple[np.ndarray, bytes, set, set]] = []
        # (object, shallow state, slots)
        self.containers: List[Tuple[Any, Any, set]] = []

    @classmethod
    def take(cls, results: Any) -> Optional['SharedSnapshot']:
        """The snapshot of ``results``; None when it is not a clip or its
        frames share nothing."""
        num_frames = clip_length(results)
        if num_frames is None or num_frames < 2:
            return None
        arrays: Dict[tuple, list] = {}  # signature -> [array, slots]
        containers: Dict[int, list] = {}  # id -> [object, slots]
        for key, value in results.items():
            if isinstance(value, list) and len(value) == num_frames:
                for frame, entry in enumerate(value):
                    _walk(entry, (key, frame), arrays, containers, 0)
        snapshot = cls()
        snapshot._record_arrays(list(arrays.values()))
        for obj, slots in containers.values():
            if len({frame for _, frame in slots}) >= 2:
                snapshot.containers.append((obj, _shallow_state(obj), slots))
        if not snapshot.arrays and not snapshot.containers:
            return None
        return snapshot

    def _record_arrays(self, entries: List[list]) -> None:
        """Group arrays by overlapping memory; keep those of groups that
        two or more frames reach."""
        parent = list(range(len(entries)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(entries)):
            for j in range(i + 1, len(entries)):
                if root(i) != root(j) and _overlap(entries[i][0],
                                                   entries[j][0]):
                    parent[root(j)] = root(i)
        groups: Dict[int, List[int]] = {}
        for i in range(len(entries)):
            groups.setdefault(root(i), []).append(i)
        for members in groups.values():
            slots = set().union(*(entries[i][1] for i in members))
            if len({frame for _, frame in slots}) < 2:
                continue
            for i in members:
                array, own_slots = entries[i]
                self.arrays.append((array, array.tobytes(), own_slots,
                                    slots))

    def violations(self) -> List[str]:
        """One line per shared array whose bytes changed and per shared
        container whose items / attributes were replaced."""
        lines = []
        for array, before, own_slots, slots in self.arrays:
            after = array.tobytes()
            if after == before:
                continue
            changed = int(np.count_nonzero(
                np.frombuffer(after, np.uint8)
                != np.frombuffer(before, np.uint8)))
            line = (f'wrote in place into the memory of {_frames_text(slots)}'
                    f' ({changed} of {len(before)} bytes changed')
            if own_slots != slots:
                line += f', through {_frames_text(own_slots)}'
            lines.append(line + ')')
        for obj, before, slots in self.containers:
            parts = _changed_parts(obj, before)
            if parts:
                lines.append(
                    f'replaced {", ".join(parts)} of the {type(obj).__name__}'
                    f' object of {_frames_text(slots)}')
        return lines

    def verify(self, transform: Callable, index: int) -> None:
        """Raise :class:`CopyOnWriteError` on any violation by ``transform``
        (``index``: its position in the pipeline)."""
        lines = self.violations()
        if lines:
            where = describe_transform(transform, index)
            raise CopyOnWriteError(
                f'copy-on-write violated by {where} of the pipeline: it '
                + '; it '.join(lines) + '. Frames of a clip share arrays; a '
                'clip transform must write into new arrays (see '
                'mmvis_pretrain/datasets/transforms/copy_on_write.py), or '
                'use ImageToClip(copy=True).')


def _walk(value: Any, slot: Slot, arrays: Dict[tuple, list],
          containers: Dict[int, list], depth: int) -> None:
    """Collect the arrays and containers reachable from a frame's value."""
    if depth > _MAX_DEPTH or value is None \
            or isinstance(value, (str, bytes, int, float, bool)):
        return
    array = _as_array(value)
    if array is not None:
        entry = arrays.setdefault(_signature(array), [array, set()])
        entry[1].add(slot)
        return
    if isinstance(value, _CONTAINERS):
        entry = containers.setdefault(id(value), [value, set()])
        entry[1].add(slot)
    if isinstance(value, BitmapMasks):
        children = (value.masks, )
    elif isinstance(value, PolygonMasks):
        children = (value.masks, )
    elif isinstance(value, BaseBoxes):
        children = (value.tensor, )
    elif isinstance(value, (list, tuple)):
        children = value
    elif isinstance(value, dict):
        children = value.values()
    else:
        return
    for child in children:
        _walk(child, slot, arrays, containers, depth + 1)


def run_checked(transforms: Sequence[Callable], data: Any) -> Any:
    """Apply ``transforms`` in turn (as ``Compose``), checking the
    copy-on-write contract of every transform whose input is a clip.

    Raises:
        CopyOnWriteError: naming the first transform that wrote into a
            shared array or container.
    """
    for index, transform in enumerate(transforms):
        # a nested check reports the transforms it wraps itself
        snapshot = None if isinstance(transform, CheckCopyOnWrite) \
            else SharedSnapshot.take(data)
        data = transform(data)
        if snapshot is not None:
            snapshot.verify(transform, index)
        if data is None:
            return None
    return data


class CopyOnWriteCompose(_DATASET_COMPOSE):
    """mmengine's ``Compose`` that checks the copy-on-write contract after
    every clip transform (see the module docstring). Datasets build their
    pipelines with it while :func:`enable_copy_on_write_check` is in force
    (``MMVIS_CHECK_COW=1``)."""

    def __call__(self, data: dict) -> Optional[dict]:
        return run_checked(self.transforms, data)


@TRANSFORMS.register_module()
class CheckCopyOnWrite(TransformCompose):
    """Run ``transforms`` like ``Compose``, checking the copy-on-write
    contract after every transform whose input is a clip (the config form
    of the debug switch; see :mod:`.copy_on_write`)::

        train_dataloader = dict(dataset=dict(pipeline=[
            dict(type='CheckCopyOnWrite', transforms=train_pipeline)]))

    Args:
        transforms (list[dict | callable]): The pipeline to check.
    """

    def transform(self, results: dict) -> Optional[dict]:
        return run_checked(self.transforms, results)


def enable_copy_on_write_check() -> None:
    """Datasets built from now on check their pipelines
    (:class:`CopyOnWriteCompose`); what ``MMVIS_CHECK_COW=1`` does."""
    _base_dataset.Compose = CopyOnWriteCompose


def disable_copy_on_write_check() -> None:
    """Undo :func:`enable_copy_on_write_check` (datasets built from now
    on get mmengine's plain ``Compose``)."""
    if _base_dataset.Compose is CopyOnWriteCompose:
        _base_dataset.Compose = _DATASET_COMPOSE


def copy_on_write_check_enabled() -> bool:
    """Whether datasets built now get :class:`CopyOnWriteCompose`."""
    return _base_dataset.Compose is CopyOnWriteCompose


def pipeline_is_checked(pipeline: Any) -> bool:
    """Whether ``pipeline`` (a dataset's ``Compose``) checks the contract:
    it is a :class:`CopyOnWriteCompose` or wraps a :class:`CheckCopyOnWrite`.
    """
    if isinstance(pipeline, (CopyOnWriteCompose, CheckCopyOnWrite)):
        return True
    return any(isinstance(t, CheckCopyOnWrite)
               for t in getattr(pipeline, 'transforms', ()))


def enable_from_env() -> bool:
    """Enable the check if :data:`ENV_VAR` says so (called once, when the
    module is imported); returns whether it did."""
    if env_switch_on():
        enable_copy_on_write_check()
        return True
    return False


enable_from_env()

__all__ = [
    'ENV_VAR', 'CopyOnWriteError', 'SharedSnapshot', 'CopyOnWriteCompose',
    'CheckCopyOnWrite', 'run_checked', 'clip_length', 'env_switch_on',
    'enable_copy_on_write_check', 'disable_copy_on_write_check',
    'copy_on_write_check_enabled', 'pipeline_is_checked', 'enable_from_env'
]
