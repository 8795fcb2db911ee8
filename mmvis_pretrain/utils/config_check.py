"""Build-time validation of configs: misspelt keys must not pass silently.

Two checks (``docs/config_check.md``):

* **top-level keys** (:func:`check_top_level_keys`): a key that is neither
  read by mmengine's runner / the tools nor a plain user variable, but is a
  near miss of such a key (``train_dataloder``), gives a
  :class:`ConfigKeyWarning` with the suggestion. User variables
  (``data_root``, ``train_pipeline``, ...) are far from every known key and
  stay silent.
* **constructor arguments** (:func:`check_constructor_keys`): every dict of
  the config tree whose ``type`` names a class registered in one of
  ``mmvis_pretrain``'s own registries (not their mmdet / mmengine parents)
  must only have keys that the class's constructor accepts; otherwise a
  :class:`ConfigKeyError` names the config path, the class, the key and the
  close matches.

:func:`check_config` runs both; :func:`mmvis_pretrain.utils.runtime_cfg.
load_run_cfg` (``tools/train.py``, ``tools/test.py``, ``mim train``) calls
it once the ``--cfg-options`` are merged.
"""
import ast
import functools
import inspect
import textwrap
import warnings
from typing import (Any, Dict, FrozenSet, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, Set, Tuple)

from mmengine.config import Config
from mmengine.config.lazy import LazyAttr, LazyObject
from mmengine.registry import Registry

__all__ = [
    'ConfigKeyWarning', 'ConfigKeyError', 'check_config',
    'check_top_level_keys', 'check_constructor_keys', 'known_top_level_keys',
    'accepted_arguments', 'edit_distance', 'close_matches'
]

SCOPE = 'mmvis_pretrain'


class ConfigKeyWarning(UserWarning):
    """A top-level config key that nothing reads and that looks like a typo
    of one that is read."""


class ConfigKeyError(ValueError):
    """A config dict passes an argument that the constructor of its
    (``mmvis_pretrain``) class does not take."""


# --------------------------------------------------------------------------
# string distance
# --------------------------------------------------------------------------
def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: Levenshtein (insertions,
    deletions, substitutions) where swapping two adjacent characters also
    counts as one edit (``trian_cfg`` -> ``train_cfg``: 1)."""
    if a == b:
        return 0
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if (i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb):
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def max_typo_distance(key: str) -> int:
    """Edits that still make ``key`` a typo of another key: none below 4
    characters, 1 for 4-7 characters, 2 from 8 characters on."""
    if len(key) < 4:
        return 0
    return 1 if len(key) < 8 else 2


def close_matches(key: str, candidates: Iterable[str]) -> List[str]:
    """The ``candidates`` within :func:`max_typo_distance` of ``key``,
    nearest first (ties: alphabetical)."""
    limit = max_typo_distance(key)
    if limit == 0:
        return []
    scored = sorted((edit_distance(key, c), c) for c in set(candidates)
                    if c != key)
    return [c for d, c in scored if d <= limit]


def _did_you_mean(matches: Sequence[str]) -> str:
    if not matches:
        return ''
    return '; did you mean ' + ' or '.join(f"'{m}'" for m in matches) + '?'


# --------------------------------------------------------------------------
# top-level keys
# --------------------------------------------------------------------------
#: Top-level keys read besides the parameters of ``Runner.__init__``:
#: mmengine's ``Config`` / ``Runner`` / ``FlexibleRunner`` (``cfg.get``),
#: mmdet's and this package's tools and APIs.
EXTRA_TOP_LEVEL_KEYS = frozenset({
    # mmengine Config
    'custom_imports', '_base_', '_deprecation_',
    # mmengine Runner / FlexibleRunner reading self.cfg
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'strategy',
    'init_weights_for_test_or_val',
    # tools (mmengine / mmdet / mmvis_pretrain) and mim
    'runner_type', 'launcher', 'work_dir', 'resume', 'load_from',
    'auto_scale_lr', 'default_scope', 'randomness', 'log_level', 'env_cfg',
    'log_processor', 'visualizer', 'default_hooks', 'custom_hooks',
    'experiment_name', 'tta_model', 'tta_pipeline',
    # mmvis_pretrain's class set (utils/class_set.py)
    'classes', 'num_classes',
})


def _init_params(cls) -> Set[str]:
    params = inspect.signature(cls.__init__).parameters
    return {name for name in params if name not in ('self', 'cfg')}


def known_top_level_keys() -> FrozenSet[str]:
    """The parameters of ``Runner.__init__`` / ``FlexibleRunner.__init__``
    plus :data:`EXTRA_TOP_LEVEL_KEYS`."""
    from mmengine.runner import FlexibleRunner, Runner
    return frozenset(
        _init_params(Runner) | _init_params(FlexibleRunner)
        | EXTRA_TOP_LEVEL_KEYS)


def _top_level_items(cfg) -> Iterator[Tuple[str, Any]]:
    if isinstance(cfg, Config):
        imported = set(getattr(cfg, '_imported_names', ()) or ())
        cfg_dict = cfg._cfg_dict  # without building lazy objects
        for key in dict.keys(cfg_dict):
            if key not in imported:
                yield key, dict.__getitem__(cfg_dict, key)
    else:
        for key in dict.keys(cfg):
            yield key, dict.__getitem__(cfg, key)


def check_top_level_keys(cfg, warn: bool = True) -> List[Tuple[str, str]]:
    """Warn about top-level keys that look like typos of known ones.

    A key is reported when it is not known (:func:`known_top_level_keys`),
    does not start with ``_`` (helper variables), is not bound to an
    imported object (module, class, function of a pure-Python config), and
    is within :func:`max_typo_distance` of a known key.

    Args:
        cfg (Config | dict): the full config.
        warn (bool): issue a :class:`ConfigKeyWarning` per key.

    Returns:
        list[tuple[str, str]]: ``(key, suggestion)`` pairs, the nearest
        known key as suggestion.
    """
    known = known_top_level_keys()
    found = []
    for key, value in _top_level_items(cfg):
        if not isinstance(key, str) or key in known or key.startswith('_'):
            continue
        if (inspect.ismodule(value) or inspect.isclass(value)
                or inspect.isfunction(value)
                or isinstance(value, (LazyObject, LazyAttr))):
            continue
        matches = close_matches(key, known)
        if not matches:
            continue  # a user variable (data_root, train_pipeline, ...)
        found.append((key, matches[0]))
        if warn:
            warnings.warn(
                f"config key '{key}' is not used by the runner; did you mean "
                f"'{matches[0]}'?", ConfigKeyWarning, stacklevel=3)
    return found


# --------------------------------------------------------------------------
# constructor arguments
# --------------------------------------------------------------------------
#: Keys a registry's builder (not the constructor) consumes, per registry
#: name: mmengine's ``Runner.register_hook`` pops ``priority``.
BUILDER_KEYS: Dict[str, FrozenSet[str]] = {
    'hook': frozenset({'priority'}),
}
#: Keys of a config dict that are never constructor arguments.
RESERVED_KEYS = frozenset({'type', '_scope_', '_delete_'})

_P = inspect.Parameter


def _package_registries() -> List[Registry]:
    from .. import registry
    return [
        value for value in vars(registry).values()
        if isinstance(value, Registry) and value.scope == SCOPE
    ]


def _call_name(func: ast.AST) -> Optional[Tuple[str, Optional[str]]]:
    """``('super', X)`` for ``super(X, self).__init__`` (X None for
    ``super().__init__``), ``('base', Name)`` for ``Name.__init__``."""
    if not (isinstance(func, ast.Attribute) and func.attr == '__init__'):
        return None
    owner = func.value
    if (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == 'super'):
        if owner.args and isinstance(owner.args[0], ast.Name):
            return 'super', owner.args[0].id
        return 'super', None
    if isinstance(owner, ast.Name):
        return 'base', owner.id
    return None


def _kwargs_use(init, var_kw: str):
    """How an ``__init__`` uses its ``**var_kw`` (from its source).

    Returns:
        tuple: ``(mode, target, read_keys)``: ``mode`` is
        ``'swallow'`` (never used), ``'forward'`` (passed as ``**var_kw``
        to one base ``__init__``; then ``target`` is ``('super', X)`` for
        ``super(X, self).__init__`` (X None for ``super()``) or ``('base',
        Name)`` for ``Name.__init__(self, ...)``), ``'unknown'`` (used
        otherwise), ``'no source'``; ``read_keys``: string keys read with
        ``var_kw.get / pop / setdefault / [...]`` or tested with ``in``.
    """
    try:
        source = textwrap.dedent(inspect.getsource(init))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return 'no source', None, set()
    func = next((n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
                None)
    if func is None:
        return 'no source', None, set()
    forwarded: List[Tuple[str, Optional[str]]] = []
    read: Set[str] = set()
    accounted: Set[int] = set()  # ids of ast.Name nodes explained
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            target = _call_name(node.func)
            for kw in node.keywords:
                if (kw.arg is None and isinstance(kw.value, ast.Name)
                        and kw.value.id == var_kw and target is not None):
                    forwarded.append(target)
                    accounted.add(id(kw.value))
            # set(kwargs), sorted(kwargs), len(kwargs), kwargs.keys():
            # inspections, the keys still go where they went
            if (isinstance(node.func, ast.Name)
                    and node.func.id in ('set', 'sorted', 'len', 'list')
                    and len(node.args) == 1
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id == var_kw):
                accounted.add(id(node.args[0]))
            if (isinstance(node.func, ast.Attribute)
                    and node.func.attr == 'keys' and not node.args
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == var_kw):
                accounted.add(id(node.func.value))
            # kwargs.get('x') / kwargs.pop('x', ...) / kwargs.setdefault
            if (isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == var_kw
                    and node.func.attr in ('get', 'pop', 'setdefault')
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                read.add(node.args[0].value)
                accounted.add(id(node.func.value))
        elif (isinstance(node, ast.Subscript)
              and isinstance(node.value, ast.Name)
              and node.value.id == var_kw):
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(
                    index.value, str):
                read.add(index.value)
                accounted.add(id(node.value))
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(
                node.iter, ast.Name) and node.iter.id == var_kw:
            accounted.add(id(node.iter))  # `for key in kwargs`: inspection
        elif (isinstance(node, ast.Compare) and len(node.ops) == 1
              and isinstance(node.ops[0], (ast.In, ast.NotIn))
              and isinstance(node.comparators[0], ast.Name)
              and node.comparators[0].id == var_kw
              and isinstance(node.left, ast.Constant)
              and isinstance(node.left.value, str)):
            read.add(node.left.value)
            accounted.add(id(node.comparators[0]))
    uses = [
        n for n in ast.walk(func)
        if isinstance(n, ast.Name) and n.id in (var_kw, 'locals', 'vars')
    ]
    if not uses:
        return 'swallow', None, read
    if any(id(n) not in accounted for n in uses) or len(set(forwarded)) != 1:
        return 'unknown', None, read
    return 'forward', forwarded[0], read


def accepted_arguments(obj) -> Optional[FrozenSet[str]]:
    """The keyword arguments the constructor of ``obj`` accepts, or None
    when it cannot be told (then nothing is checked).

    Walks the MRO: each class that defines ``__init__`` adds its explicit
    parameter names (positional-only ones and ``self`` excepted); the first
    ``__init__`` without ``**kwargs`` ends the walk. One with ``**kwargs``
    is read (its source, :func:`_kwargs_use`):

    * passed on to one base ``__init__`` (``super().__init__(**kwargs)``,
      ``super(X, self).__init__(**kwargs)``, ``Base.__init__(self,
      **kwargs)``): the walk continues at that base; keys read with
      ``kwargs.pop('k')`` / ``.get('k')`` / ``kwargs['k']`` / ``'k' in
      kwargs`` are accepted as well;
    * never used (swallowed, e.g. mmdet's ``Mask2FormerHead``, which calls
      ``super(AnchorFreeHead, self).__init__(init_cfg=init_cfg)``): the walk
      continues with the next class of the MRO anyway, whose parameters
      upstream configs pass (mmdet's Mask2Former configs give ``strides``,
      an ``AnchorFreeHead`` argument that ``Mask2FormerHead`` drops) -- an
      approximation: such keys are accepted though they do nothing;
    * no source: same as never used;
    * used otherwise (stored, passed to another callable, ``locals()``):
      the class takes arbitrary keys, None. Inspections that leave the keys
      where they go (``for k in kwargs``, ``set(kwargs)``, ``sorted``,
      ``len``, ``list``, ``kwargs.keys()``) don't count as uses.

    A plain callable (registered function) gives its parameters, None with
    ``**kwargs``.
    """
    if isinstance(obj, (LazyObject, LazyAttr)):
        return None
    if not inspect.isclass(obj):
        if not callable(obj):
            return None
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind == _P.VAR_KEYWORD for p in params):
            return None
        return frozenset(p.name for p in params
                         if p.kind in (_P.POSITIONAL_OR_KEYWORD,
                                       _P.KEYWORD_ONLY))
    return _class_arguments(obj)


@functools.lru_cache(maxsize=None)
def _class_arguments(obj: type) -> Optional[FrozenSet[str]]:
    mro = inspect.getmro(obj)
    names: Set[str] = set()
    i = 0
    while i < len(mro):
        cls = mro[i]
        if cls is object:
            return frozenset(names)
        init = cls.__dict__.get('__init__')
        if init is None:
            i += 1
            continue
        init = inspect.unwrap(init)
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            return None
        params = params[1:]  # self
        names.update(p.name for p in params
                     if p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY))
        var_kw = next((p.name for p in params if p.kind == _P.VAR_KEYWORD),
                      None)
        if var_kw is None:
            return frozenset(names)
        mode, target, read = _kwargs_use(init, var_kw)
        names.update(read)
        if mode == 'unknown':
            return None
        if mode in ('swallow', 'no source'):
            i += 1
            continue
        kind, base = target
        nxt = None
        if base is not None:
            for j, c in enumerate(mro):
                if c.__name__ == base:
                    nxt = j + 1 if kind == 'super' else j
                    break
        if nxt is None or nxt <= i:
            nxt = i + 1
        i = nxt
    return frozenset(names)


def _candidates(name: str, registries: Sequence[Registry]) -> List[Tuple[
        Registry, Any]]:
    """``(registry, object)`` for each package registry whose own table
    holds ``name``; empty when none does."""
    return [(reg, reg._module_dict[name]) for reg in registries
            if name in reg._module_dict]


def _resolvable_elsewhere(name: str, registries: Sequence[Registry],
                          own: Sequence[Any]) -> List[Any]:
    """Objects ``name`` resolves to in other registries of the scope (their
    parents' tables): a config dict may be built by any of them."""
    others = []
    for reg in registries:
        if name in reg._module_dict:
            continue
        parent = reg.parent
        while parent is not None:
            if name in parent._module_dict:
                obj = parent._module_dict[name]
                if obj not in own and obj not in others:
                    others.append(obj)
                break
            parent = parent.parent
    return others


def _resolve(type_, scope: Optional[str],
             registries: Sequence[Registry]):
    """``(class name, accepted keys)`` of a ``type`` value, or None when it
    is not a class of this package (or cannot be checked)."""
    if isinstance(type_, (LazyObject, LazyAttr)):
        try:
            type_ = type_.build()
        except Exception:  # unresolvable import: the build reports it
            return None
    if isinstance(type_, str):
        if '.' in type_:
            prefix, name = type_.split('.', 1)
            if prefix != SCOPE or '.' in name:
                return None
        elif scope in (None, SCOPE):
            name = type_
        else:
            return None  # another scope: our names don't resolve there
        found = _candidates(name, registries)
        if not found:
            return None
        objs = [obj for _, obj in found]
        if '.' not in type_:
            objs += _resolvable_elsewhere(name, registries, objs)
        builder_keys = set()
        for reg, _ in found:
            builder_keys |= BUILDER_KEYS.get(reg.name, frozenset())
    elif inspect.isclass(type_) or inspect.isfunction(type_):
        module = getattr(type_, '__module__', None) or ''
        if module != SCOPE and not module.startswith(SCOPE + '.'):
            return None
        name = type_.__name__
        objs = [type_]
        builder_keys = set()
        for reg in registries:
            if type_ in reg._module_dict.values():
                builder_keys |= BUILDER_KEYS.get(reg.name, frozenset())
    else:
        return None
    accepted: Set[str] = set(builder_keys)
    for obj in objs:
        keys = accepted_arguments(obj)
        if keys is None:
            return None
        accepted |= keys
    return name, frozenset(accepted)


def _path(parent: str, key) -> str:
    if isinstance(key, int):
        return f'{parent}[{key}]'
    return f'{parent}.{key}' if parent else str(key)


def _items(node):
    """Items of a dict without building lazy objects (ConfigDict.items()
    would import them)."""
    return [(k, dict.__getitem__(node, k)) for k in dict.keys(node)]


def _find_errors(node, path: str, scope: Optional[str],
                 registries: Sequence[Registry], errors: List[str],
                 seen: Set[int]) -> None:
    if isinstance(node, (list, tuple)):
        if id(node) in seen:
            return
        seen.add(id(node))
        for i, item in enumerate(node):
            _find_errors(item, _path(path, i), scope, registries, errors,
                         seen)
        return
    if not isinstance(node, dict):
        return
    if id(node) in seen:
        return
    seen.add(id(node))
    items = _items(node)
    scope = node.get('_scope_', scope) if '_scope_' in node else scope
    if 'type' in node:
        resolved = _resolve(dict.__getitem__(node, 'type'), scope, registries)
        if resolved is not None:
            name, accepted = resolved
            where = path or '<config>'
            for key, _ in items:
                if key in RESERVED_KEYS or key in accepted:
                    continue
                errors.append(
                    f"{where}: {name} does not take the argument '{key}'"
                    + _did_you_mean(close_matches(str(key), accepted)))
    for key, value in items:
        _find_errors(value, _path(path, key), scope, registries, errors, seen)


def check_constructor_keys(cfg, default_scope: Optional[str] = None) -> None:
    """Raise when a dict of a package class has a key its constructor does
    not take.

    Walks the whole tree (dicts, lists, tuples). A dict is checked when its
    ``type`` is a name in one of ``mmvis_pretrain``'s registries (their own
    tables, not the mmdet / mmengine parents'), given plainly in the
    ``mmvis_pretrain`` scope (the config's ``default_scope``, or a
    ``_scope_`` key above) or as ``'mmvis_pretrain.Name'``, or a class
    object of the package. Keys ``type``, ``_scope_``, ``_delete_`` and
    those a builder consumes (``priority`` of hooks) are always allowed;
    the others must be in :func:`accepted_arguments`.

    Args:
        cfg (Config | dict): the config (or any part of it).
        default_scope (str, optional): scope of plain names; defaults to
            the config's ``default_scope`` (``mmvis_pretrain`` if unset).

    Raises:
        ConfigKeyError: one line per unknown key, ``<path>: <Class> does
            not take the argument '<key>'; did you mean '<match>'?``.
    """
    import mmvis_pretrain  # noqa: F401  (fills the registries)
    if isinstance(cfg, Config):
        root = cfg._cfg_dict
    else:
        root = cfg
    if default_scope is None and isinstance(root, Mapping):
        default_scope = root.get('default_scope', None)
    if default_scope is None:
        default_scope = SCOPE
    errors: List[str] = []
    _find_errors(root, '', default_scope, _package_registries(), errors,
                 set())
    if errors:
        filename = getattr(cfg, 'filename', None)
        head = f'config {filename}:' if filename else 'config:'
        sep = '\n  ' if len(errors) > 1 else ' '
        raise ConfigKeyError(head + sep + '\n  '.join(errors))


def check_config(cfg, default_scope: Optional[str] = None):
    """Validate a full config before building a Runner from it:
    :func:`check_top_level_keys` (warnings) then
    :func:`check_constructor_keys` (raises :class:`ConfigKeyError`).

    Args:
        cfg (Config | dict): the config, ``--cfg-options`` merged.
        default_scope (str, optional): see :func:`check_constructor_keys`.

    Returns:
        The same ``cfg``.
    """
    check_top_level_keys(cfg)
    check_constructor_keys(cfg, default_scope=default_scope)
    return cfg
