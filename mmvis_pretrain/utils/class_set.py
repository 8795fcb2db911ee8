"""One class set per config: ``classes`` (and ``num_classes``) that the
model's heads and every data set follow (``docs/class_set.md``).

mmengine merges configs key by key and replaces lists, so a leaf config
cannot change the number of classes of a model base in one place: the head
fields (``num_things_classes`` of the Mask2Former head and its fusion head,
``num_classes`` of YOLACT / STMask heads, trackers and refiners, the
``class_weight`` list of the classification loss) and the ``metainfo`` of
each data set were written out in the base files. Here the data set bases
declare the class names once, as the top-level key ``classes``, and
:func:`apply_class_set` writes them through the config tree when it is
loaded (:func:`mmvis_pretrain.utils.runtime_cfg.load_config`: the tools,
``mim train`` / ``mim test`` and :func:`mmvis_pretrain.apis.init_vis_model`
call it), so a leaf sets a class subset with one line::

    _base_ = 'mmvis_pretrain::online_vis/online-mask2former_r50_8xb2-16k_ovis.py'
    classes = ('Person', 'Horse', 'Cat')   # heads: 3 classes; data: these 3

Rules (each enforced with a :class:`ClassSetError` naming the key):

* ``classes``: a tuple / list of distinct, non-empty class names. Each data
  set dict of ``train_dataloader`` / ``val_dataloader`` /
  ``test_dataloader`` that reads an annotation file (a dict with
  ``ann_file``, inside any wrapper: ``dataset`` / ``datasets`` keys) gets
  ``metainfo['classes']``; the package's data sets match class names to the
  file's categories (:class:`~mmvis_pretrain.datasets.VISDataset`) or
  restrict their category map (:class:`~mmvis_pretrain.datasets.
  CocoVISDataset`), mmdet's ``CocoDataset`` filters by name.
* ``num_classes`` (optional): derived from ``classes``; a value of its own
  must agree with ``len(classes)`` (a leaf that sets only ``num_classes``
  to a new count would otherwise leave the data with the old names). Set
  alone (no ``classes`` anywhere: the data set takes all categories of its
  file), it sizes the heads only.
* In ``model`` (not under ``backbone``, whose ``num_classes`` would be an
  ImageNet classifier's): every ``num_classes`` and ``num_things_classes``
  is set; a ``num_stuff_classes`` other than 0 is refused (panoptic class
  sets are not VIS); every ``class_weight`` list of ``num classes + 1``
  entries (per class, then the no-object weight) whose per-class weights
  are all equal is rebuilt for the new count, a non-uniform one of another
  length is refused (its weights cannot be assigned to new classes).

The runtime counterpart is mmdet's ``NumClassCheckHook`` in
``configs/_base_/default_runtime.py``: it compares the built heads with the
built data set's classes before training and validation.
"""
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

#: Model keys holding the number of classes.
COUNT_KEYS = ('num_classes', 'num_things_classes')
#: Data loader keys whose data sets follow ``classes``.
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

__all__ = ['ClassSetError', 'apply_class_set', 'COUNT_KEYS', 'LOADER_KEYS']


class ClassSetError(ValueError):
    """A config whose ``classes`` / ``num_classes`` cannot be applied."""


def _check_classes(classes: Any) -> Tuple[str, ...]:
    if isinstance(classes, str) or not isinstance(classes, (list, tuple)):
        raise ClassSetError(
            f'classes must be a tuple of class names, got {classes!r}'
            + (" (one class: classes = ('name', ))"
               if isinstance(classes, str) else ''))
    classes = tuple(classes)
    if not classes:
        raise ClassSetError('classes is empty')
    bad = [c for c in classes if not isinstance(c, str) or not c.strip()]
    if bad:
        raise ClassSetError(
            f'classes must be non-empty strings, got {bad} in {classes}')
    seen, doubles = set(), []
    for c in classes:
        if c in seen:
            doubles.append(c)
        seen.add(c)
    if doubles:
        raise ClassSetError(f'classes {sorted(set(doubles))} are listed '
                            f'twice in {classes}')
    return classes


def _class_weight(weights: Sequence[float], n: int, path: str) -> List[float]:
    """The ``class_weight`` list for ``n`` classes (+ the no-object one)."""
    weights = list(weights)
    if len(weights) == n + 1:
        return weights
    per_class = weights[:-1]
    if len(weights) < 2 or len(set(per_class)) != 1:
        raise ClassSetError(
            f'{path}: the {len(weights)}-entry class_weight {weights} does '
            f'not fit {n} classes (+ no-object) and is not uniform over the '
            'classes, so it cannot be resized; set it for the new classes')
    return [per_class[0]] * n + [weights[-1]]


def _apply_to_model(node: Any, n: int, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f'{path}.{key}'
            if key == 'backbone':
                continue
            if key in COUNT_KEYS:
                node[key] = n
            elif key == 'num_stuff_classes':
                if value not in (0, None):
                    raise ClassSetError(
                        f'{sub}={value}: stuff classes are panoptic, not '
                        'VIS; classes / num_classes set the thing classes '
                        'and need num_stuff_classes=0')
            elif key == 'class_weight' and isinstance(value, (list, tuple)):
                node[key] = _class_weight(value, n, sub)
            else:
                _apply_to_model(value, n, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _apply_to_model(value, n, f'{path}[{i}]')


def _annotated_datasets(node: Any, path: str):
    """``(path, dict)`` of every data set dict that reads an ``ann_file``,
    through the ``dataset`` / ``datasets`` keys of wrappers."""
    if isinstance(node, dict):
        if 'ann_file' in node:
            yield path, node
        for key in ('dataset', 'datasets'):
            if key in node:
                yield from _annotated_datasets(node[key], f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _annotated_datasets(value, f'{path}[{i}]')


def apply_class_set(cfg: Config) -> Config:
    """Write ``cfg.classes`` / ``cfg.num_classes`` through the model and the
    data sets of ``cfg``, in place (see the module docstring).

    Args:
        cfg (Config): a loaded config (``--cfg-options`` already merged).

    Returns:
        Config: ``cfg``; unchanged if it has neither key.

    Raises:
        ClassSetError: bad ``classes``, ``num_classes`` disagreeing with
            them, stuff classes, or a ``class_weight`` that cannot be
            resized.
    """
    classes: Optional[Tuple[str, ...]] = None
    if cfg.get('classes') is not None:
        classes = _check_classes(cfg.classes)
    num = cfg.get('num_classes')
    if num is not None:
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ClassSetError(
                f'num_classes must be a positive int, got {num!r}')
        if classes is not None and num != len(classes):
            raise ClassSetError(
                f'num_classes={num} disagrees with the {len(classes)} '
                f'classes {classes}: set `classes` to the class names '
                '(num_classes follows them)')
    if classes is None and num is None:
        return cfg
    n = len(classes) if classes is not None else num
    cfg.num_classes = n
    if cfg.get('model') is not None:
        _apply_to_model(cfg.model, n, 'model')
    if classes is not None:
        cfg.classes = classes
        for loader in LOADER_KEYS:
            if not cfg.get(loader):
                continue
            for _, dataset in _annotated_datasets(
                    cfg[loader].get('dataset'), f'{loader}.dataset'):
                metainfo = dict(dataset.get('metainfo') or {})
                metainfo['classes'] = classes
                palette = metainfo.get('palette')
                if palette is not None and len(palette) != n:
                    # one colour per class of another set: the renderers
                    # pick their own colours instead
                    metainfo.pop('palette')
                dataset['metainfo'] = ConfigDict(metainfo)
    return cfg
