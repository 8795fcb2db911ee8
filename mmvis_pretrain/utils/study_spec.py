"""A study's declaration: arms x seeds x stages, read from a Python spec
(an mmengine config file, so specs can inherit with ``_base_``) and checked
before anything runs (``docs/studies.md``).

A spec::

    name = 'table7'
    data = dict(seed=0, num_images=2000, num_val_videos=40)  # synthetic
    seeds = [0, 1, 2, 3, 4]
    stages = ['pretrain', 'finetune']
    metrics = dict(pretrain='coco/segm_mAP', finetune='vis/AP')
    arms = dict(
        image=dict(label='image pre-training', pretrain=dict(
            config='configs/...py', iters=1500, options={...}),
                   finetune=dict(config=..., iters=300, eval_iters=[100, 300],
                                 options={...})),
        image_nomstm=dict(pretrain=dict(same_as='image'), finetune=...),
    )
    comparisons = [('video', 'image'), ('image', 'image_nomstm')]

* ``data``: keyword arguments of
  :func:`mmvis_pretrain.datasets.synthetic.make_synthetic_data`; the data
  set is written once into the study's work dir. ``extra_evals`` add
  evaluations on other annotation files (e.g. an occlusion-heavy subset).
* stage ``options``: ``--cfg-options`` of ``tools/train.py`` and (``test``
  key excepted) of ``tools/test.py``; the strings ``{coco}``, ``{ytvis}``,
  ``{data}`` (the data roots, with a trailing ``/``) and ``{iters}`` are
  replaced. ``test_options`` apply to testing only. The tool adds
  ``randomness.seed``, ``train_cfg.max_iters``, the checkpoint interval and
  ``load_from`` (the arm's previous stage, or ``load_from`` of the stage).
* ``same_as``: the stage is the run of another arm (shared per seed: both
  arms start the next stage from the same checkpoint).
* ``x`` / ``group`` of an arm: a plot of the metric against ``x`` per
  ``group`` (e.g. the number of training videos).
* ``reuse_runs_from``: names of other studies (folders next to this
  study's results dir) whose finished runs are adopted where one has the
  same fingerprint as a run of this study (same config, options, data,
  evaluations, threads, seed and upstream run): e.g. table 3's consistent
  arm is table 7's video arm, trained once.
"""
import copy
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config

__all__ = ['StudySpecError', 'load_study', 'check_study', 'run_key',
           'stage_source']

STAGE_KEYS = {'config', 'iters', 'options', 'test_options', 'eval_iters',
              'same_as', 'load_from'}
ARM_KEYS = {'label', 'x', 'group'}
TOP_KEYS = {'name', 'description', 'data', 'seeds', 'stages', 'metrics',
            'arms', 'comparisons', 'extra_evals', 'x_label',
            'reuse_runs_from'}


class StudySpecError(ValueError):
    """A spec that cannot run; the message names the spec and the key."""


def load_study(path: str) -> Dict[str, Any]:
    """Read and check the spec at ``path`` (see the module docstring).

    Returns:
        dict: The spec as plain dicts / lists, with ``spec_file``.
    """
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # a syntax error, a missing base ...
        raise StudySpecError(f'{path}: cannot read the spec ({err})') from err
    spec = cfg.to_dict()
    spec['spec_file'] = str(path)
    check_study(spec)
    return spec


def _fail(spec: dict, message: str):
    raise StudySpecError(f"{spec.get('spec_file', '<spec>')}: {message}")


def check_study(spec: Dict[str, Any]) -> None:
    """Raise :class:`StudySpecError` for anything that would fail later."""
    # `_name` variables are the spec file's helpers
    unknown = sorted(k for k in set(spec) - TOP_KEYS - {'spec_file'}
                     if not k.startswith('_'))
    if unknown:
        _fail(spec, f'unknown keys {unknown} (known: {sorted(TOP_KEYS)})')
    for key in ('name', 'seeds', 'stages', 'arms', 'metrics'):
        if not spec.get(key):
            _fail(spec, f'`{key}` is missing or empty')
    seeds = spec['seeds']
    if (not isinstance(seeds, (list, tuple)) or len(set(seeds)) != len(seeds)
            or not all(isinstance(s, int) and s >= 0 for s in seeds)):
        _fail(spec, f'seeds must be distinct ints >= 0, got {seeds}')
    stages = list(spec['stages'])
    for stage in stages:
        if stage not in spec['metrics']:
            _fail(spec, f'metrics has no key for the stage {stage!r}')
    arms = spec['arms']
    for arm, arm_spec in arms.items():
        bad = sorted(set(arm_spec) - ARM_KEYS - set(stages))
        if bad:
            _fail(spec, f'arm {arm!r}: unknown keys {bad} (stages: '
                  f'{stages}, other keys: {sorted(ARM_KEYS)})')
        for stage in stages:
            stage_spec = arm_spec.get(stage)
            if stage_spec is None:
                continue  # the arm skips the stage (e.g. no pre-training)
            where = f'arm {arm!r}, stage {stage!r}'
            bad = sorted(set(stage_spec) - STAGE_KEYS)
            if bad:
                _fail(spec, f'{where}: unknown keys {bad} (known: '
                      f'{sorted(STAGE_KEYS)})')
            if 'same_as' in stage_spec:
                if len(stage_spec) > 1:
                    _fail(spec, f'{where}: same_as takes no other keys, got '
                          f'{sorted(set(stage_spec) - {"same_as"})}')
                other = stage_spec['same_as']
                if other not in arms or not arms[other].get(stage) or \
                        'same_as' in arms[other][stage]:
                    _fail(spec, f'{where}: same_as={other!r} is not an arm '
                          f'that runs {stage!r} itself')
                continue
            if not stage_spec.get('config'):
                _fail(spec, f'{where}: `config` is missing')
            iters = stage_spec.get('iters')
            if not isinstance(iters, int) or iters < 1:
                _fail(spec, f'{where}: iters must be an int >= 1, got '
                      f'{iters!r}')
            evals = stage_spec.get('eval_iters') or [iters]
            if any(not isinstance(k, int) or not 0 < k <= iters
                   for k in evals) or iters not in evals:
                _fail(spec, f'{where}: eval_iters {evals} must be in '
                      f'1..{iters} and include iters')
    for name, extra in (spec.get('extra_evals') or {}).items():
        bad = sorted(set(extra) - {'stages', 'options'})
        unknown = sorted(set(extra.get('stages') or []) - set(stages))
        if bad or unknown:
            _fail(spec, f'extra_evals.{name}: unknown keys {bad} or stages '
                  f'{unknown} (keys: options, stages; stages: {stages})')
    reuse = spec.get('reuse_runs_from') or []
    if not isinstance(reuse, (list, tuple)) or not all(
            isinstance(n, str) and n and '/' not in n and n != spec['name']
            for n in reuse):
        _fail(spec, 'reuse_runs_from must be a list of names of other '
              f'studies, got {reuse!r}')
    for pair in spec.get('comparisons') or []:
        if len(pair) != 2 or any(a not in arms for a in pair):
            _fail(spec, f'comparison {pair} must name two arms of '
                  f'{sorted(arms)}')


def run_key(arm: str, stage: str, seed: int) -> str:
    """The file-name key of one run: ``<arm>__<stage>__seed<seed>``."""
    return f'{arm}__{stage}__seed{seed}'


def stage_source(spec: dict, arm: str, stage: str) -> Optional[str]:
    """The arm whose run a stage is (``same_as`` followed), or None when
    the arm skips the stage."""
    stage_spec = spec['arms'][arm].get(stage)
    if stage_spec is None:
        return None
    return stage_spec.get('same_as', arm)


def planned_runs(spec: dict) -> List[Tuple[str, str, int]]:
    """``(arm, stage, seed)`` of every run the study makes, stage by stage
    (runs shared through ``same_as`` once)."""
    runs = []
    for stage in spec['stages']:
        for seed in spec['seeds']:
            for arm in spec['arms']:
                if stage_source(spec, arm, stage) == arm:
                    runs.append((arm, stage, seed))
    return runs


def format_options(options: Optional[dict], roots: Dict[str, str],
                   iters: int) -> Dict[str, Any]:
    """``options`` with ``{coco}``, ``{ytvis}``, ``{data}``, ``{iters}`` in
    their string values replaced."""
    out = {}
    for key, value in (copy.deepcopy(options) or {}).items():
        if isinstance(value, str):
            value = value.format(iters=iters, **roots)
        out[key] = value
    return out


__all__ += ['planned_runs', 'format_options']
