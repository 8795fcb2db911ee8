"""Run a study (:mod:`.study_spec`): one ``tools/train.py`` process per run
and one ``tools/test.py`` process per evaluated checkpoint, ``jobs`` at a
time, each with ``threads`` torch / OpenMP threads; resumable.

Outputs:

* ``<work_dir>/<name>/``: the study's synthetic data sets (written once,
  with ``ytvis/valid_lookalike.json``, the occlusion-heavy subset);
* ``<work_dir>/runs/<arm>/<stage>/seed<seed>/``: the run's work dir
  (checkpoints, logs; large, not for committing);
* ``<results_dir>/runs/<arm>__<stage>__seed<seed>.json``: the run's
  summary (metrics per evaluated iteration and extra evaluation, the seed
  read back from the config the run dumped, its options, seconds, threads);
  small, meant to be committed. A run whose summary exists is finished and
  skipped; when a later stage needs the checkpoint of a finished run that
  this machine does not have (a fresh checkout), that run is trained again
  (same seed and threads) and its summary kept. A run of another study
  named in ``reuse_runs_from`` with the same fingerprint is adopted: its
  summary is copied (with ``reused_from``), not run again.

Summaries are written to a temporary file and moved into place, so an
interrupted study leaves no partial summary.
"""
import hashlib
import json
import math
import os
import signal
import os.path as osp
import subprocess
import sys
import threading
import time
from functools import reduce
from typing import Any, Callable, Dict, List, Optional

from .study_spec import format_options, planned_runs, run_key, stage_source

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

__all__ = ['StudyRunner', 'read_test_metrics', 'read_run_seed',
           'cfg_options_cli']


def read_test_metrics(test_dir: str) -> Dict[str, float]:
    """The metrics of the latest ``tools/test.py`` run in ``test_dir``
    (``<timestamp>/<timestamp>.json``)."""
    runs = sorted(d for d in os.listdir(test_dir)
                  if osp.isfile(osp.join(test_dir, d, f'{d}.json')))
    if not runs:
        raise FileNotFoundError(f'{test_dir}: no metrics of tools/test.py')
    with open(osp.join(test_dir, runs[-1], f'{runs[-1]}.json')) as f:
        return {k: v for k, v in json.load(f).items()
                if isinstance(v, (int, float))}


def read_run_seed(work_dir: str) -> Optional[int]:
    """``randomness.seed`` of the config a ``tools/train.py`` run dumped
    into its work dir (the newest ``<timestamp>/vis_data/config.py``)."""
    from mmengine.config import Config
    stamps = sorted(d for d in os.listdir(work_dir) if osp.isfile(
        osp.join(work_dir, d, 'vis_data', 'config.py')))
    if not stamps:
        return None
    cfg = Config.fromfile(osp.join(work_dir, stamps[-1], 'vis_data',
                                   'config.py'))
    return (cfg.get('randomness') or {}).get('seed')


def cfg_options_cli(options: Dict[str, Any]) -> List[str]:
    """``{'a.b': 1, 'c': [1, 2]}`` -> ``['a.b=1', 'c=[1,2]']``, the
    ``--cfg-options`` arguments of the tools."""
    out = []
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = '[' + ','.join(str(v) for v in value) + ']'
        out.append(f'{key}={value}')
    return out


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then move it
    into place (no partial file after an interruption)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _write_json(path: str, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + '\n')


class StudyRunner:
    """Execute the runs of ``spec`` (see the module docstring).

    Args:
        spec (dict): A checked spec (:func:`~.study_spec.load_study`).
        work_dir (str): Data and run folders.
        results_dir (str): Summaries (``runs/*.json``).
        jobs (int): Runs at a time.
        threads (int): Threads per process (``OMP_NUM_THREADS``,
            ``MKL_NUM_THREADS``); recorded in each summary.
        python (str): Interpreter of the tools. Defaults to this one.
        log (callable): Receives progress lines. Defaults to ``print``.
    """

    def __init__(self, spec: dict, work_dir: str, results_dir: str,
                 jobs: int = 1, threads: int = 1,
                 python: Optional[str] = None,
                 log: Optional[Callable[[str], None]] = None) -> None:
        if jobs < 1 or threads < 1:
            raise ValueError(f'jobs and threads must be >= 1, got {jobs}, '
                             f'{threads}')
        self.spec = spec
        self.work_dir = osp.abspath(work_dir)
        self.results_dir = osp.abspath(results_dir)
        self.jobs, self.threads = int(jobs), int(threads)
        self.python = python or sys.executable
        self._log = log or (lambda line: print(line, flush=True))
        self._lock = threading.Lock()
        self._procs: set = set()  # running tool processes
        self.launched: List[str] = []  # run keys trained in this call

    # -- paths -----------------------------------------------------------
    def data_sets(self) -> Dict[str, dict]:
        """``{name: make_synthetic_data kwargs}``: ``data`` of the spec,
        either one set (its kwargs; named ``data``) or several by name."""
        data = dict(self.spec.get('data') or {})
        if data and all(isinstance(v, dict) for v in data.values()):
            return data
        return dict(data=data)

    @property
    def roots(self) -> Dict[str, str]:
        """Placeholders of the options: per data set ``{name}``,
        ``{name_coco}``, ``{name_ytvis}``; the set named ``data`` (a spec
        with one set) also as ``{coco}`` and ``{ytvis}``."""
        out = {}
        for name in self.data_sets():
            root = osp.join(self.work_dir, name)
            out[name] = root + '/'
            out[f'{name}_coco'] = osp.join(root, 'coco') + '/'
            out[f'{name}_ytvis'] = osp.join(root, 'ytvis') + '/'
        if 'data' in out:
            out['coco'], out['ytvis'] = out['data_coco'], out['data_ytvis']
        return out

    def run_dir(self, arm: str, stage: str, seed: int) -> str:
        return osp.join(self.work_dir, 'runs', arm, stage, f'seed{seed}')

    def summary_path(self, arm: str, stage: str, seed: int) -> str:
        return osp.join(self.results_dir, 'runs',
                        run_key(arm, stage, seed) + '.json')

    def fingerprint(self, arm: str, stage: str, seed: int) -> str:
        """A hash of everything that determines a run: its resolved stage
        (config, iterations, evaluated iterations, options, test options),
        the data settings, the extra evaluations, the threads, the seed and,
        recursively, the run it starts from. A summary or a trained
        checkpoint with another fingerprint is stale (the spec changed)."""
        stage_spec = self.spec['arms'][arm][stage]
        need = self._needs((arm, stage, seed))
        payload = dict(
            stage={k: v for k, v in stage_spec.items() if k != 'label'},
            data=self.data_sets(), extra=self.spec.get('extra_evals') or {},
            threads=self.threads, seed=seed,
            upstream=None if need is None else self.fingerprint(*need))
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _marker(self, arm: str, stage: str, seed: int) -> str:
        """Written into the run dir when tools/train.py exits 0."""
        return osp.join(self.run_dir(arm, stage, seed), 'study_trained.json')

    def trained(self, arm: str, stage: str, seed: int) -> bool:
        """Whether this machine has the run's final checkpoint, trained with
        the run's current fingerprint."""
        marker = self._marker(arm, stage, seed)
        if not (osp.isfile(marker)
                and osp.isfile(self.checkpoint(arm, stage, seed))):
            return False
        with open(marker) as f:
            return json.load(f).get('fingerprint') == self.fingerprint(
                arm, stage, seed)

    def finished(self, arm: str, stage: str, seed: int) -> bool:
        """Whether the run has a summary made with its current fingerprint
        (a summary without one, written before fingerprints, counts)."""
        path = self.summary_path(arm, stage, seed)
        if not osp.isfile(path):
            return False
        with open(path) as f:
            recorded = json.load(f).get('fingerprint')
        if recorded is None or recorded == self.fingerprint(arm, stage,
                                                              seed):
            return True
        raise RuntimeError(
            f'{path}: made with other settings than the spec now gives '
            '(config, options, iterations, data, threads or an upstream '
            'run changed); delete the summary to run it again, or restore '
            'the spec')

    def reusable(self, arm: str, stage: str, seed: int) -> Optional[str]:
        """The summary of a run of a study in ``reuse_runs_from`` (results
        dir ``<results_dir>/../<study>``) with this run's fingerprint, or
        None. Another study's run with the same fingerprint trained the
        same way on the same data (the fingerprint leaves out only the
        arm's label and name), so its results are this run's."""
        wanted = self.fingerprint(arm, stage, seed)
        for study in self.spec.get('reuse_runs_from') or []:
            runs = osp.join(osp.dirname(self.results_dir), study, 'runs')
            if not osp.isdir(runs):
                continue
            for name in sorted(os.listdir(runs)):
                if not name.endswith(f'__{stage}__seed{seed}.json'):
                    continue
                with open(osp.join(runs, name)) as f:
                    if json.load(f).get('fingerprint') == wanted:
                        return osp.join(runs, name)
        return None

    def adopt_reused(self) -> List[tuple]:
        """Copy the summaries of :meth:`reusable` runs into this study
        (``reused_from`` names the source); returns the adopted runs."""
        adopted = []
        for run in planned_runs(self.spec):
            if osp.isfile(self.summary_path(*run)):
                continue
            source = self.reusable(*run)
            if source is None:
                continue
            with open(source) as f:
                summary = json.load(f)
            summary.update(
                study=self.spec['name'], arm=run[0],
                reused_from=osp.relpath(source,
                                        osp.dirname(self.results_dir)))
            _write_json(self.summary_path(*run), summary)
            self.log(f'{run_key(*run)}: adopted from '
                     f"{summary['reused_from']}")
            adopted.append(run)
        return adopted

    def checkpoint(self, arm: str, stage: str, seed: int) -> str:
        iters = self.spec['arms'][arm][stage]['iters']
        return osp.join(self.run_dir(arm, stage, seed), f'iter_{iters}.pth')

    def log(self, line: str) -> None:
        with self._lock:
            self._log(line)

    # -- steps -----------------------------------------------------------
    def prepare_data(self) -> None:
        """Write each synthetic data set once (``data`` of the spec), with
        the look-alike subset of its held-out videos
        (``ytvis/valid_lookalike.json``)."""
        from ..datasets.synthetic import (make_synthetic_data,
                                          write_lookalike_subset)
        for name, wanted in self.data_sets().items():
            root = osp.join(self.work_dir, name)
            marker = osp.join(root, 'study_data.json')
            if osp.isfile(marker):
                with open(marker) as f:
                    if json.load(f) == wanted:
                        continue
            self.log(f'data: make_synthetic_data({wanted}) -> {root}')
            paths = make_synthetic_data(root, **wanted)
            if wanted.get('num_val_videos', 4):
                write_lookalike_subset(paths['ytvis_root'], 'valid')
            _write_json(marker, wanted)

    def _tool(self, args: List[str], log_file: str) -> None:
        """Run a tool in its own process group; an interruption of the
        study (Ctrl-C, SIGTERM via the CLI) kills it, so no orphan keeps
        writing into a run dir."""
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads),
                   MKL_NUM_THREADS=str(self.threads))
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (REPO, env.get('PYTHONPATH')) if p)
        os.makedirs(osp.dirname(log_file), exist_ok=True)
        with open(log_file, 'w') as log:
            proc = subprocess.Popen([self.python, *args], cwd=REPO, env=env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            with self._lock:
                self._procs.add(proc)
            try:
                returncode = proc.wait()
            finally:
                with self._lock:
                    self._procs.discard(proc)
        if returncode != 0:
            raise RuntimeError(f'{args[0]} failed (exit {returncode}), see '
                               f'{log_file}')

    def kill_tools(self) -> None:
        """Kill the process groups of the running tools."""
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _load_from(self, arm: str, stage: str, seed: int) -> Optional[str]:
        stages = self.spec['stages']
        own = self.spec['arms'][arm][stage]
        if own.get('load_from'):
            return own['load_from'].format(**self.roots)
        for previous in reversed(stages[:stages.index(stage)]):
            source = stage_source(self.spec, arm, previous)
            if source is not None:
                return self.checkpoint(source, previous, seed)
        return None

    def train(self, arm: str, stage: str, seed: int) -> None:
        stage_spec = self.spec['arms'][arm][stage]
        iters = stage_spec['iters']
        evals = stage_spec.get('eval_iters') or [iters]
        options = format_options(stage_spec.get('options'), self.roots,
                                 iters)
        options.update({
            'randomness.seed': seed,
            'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters + 1,
            # mmengine also validates at the last iteration unless
            # val_begin is past it; the study tests the checkpoints itself
            'train_cfg.val_begin': iters + 1,
            'default_hooks.checkpoint.interval': reduce(math.gcd, evals),
            'default_hooks.checkpoint.max_keep_ckpts': -1,
        })
        load_from = self._load_from(arm, stage, seed)
        if load_from is not None:
            if not osp.isfile(load_from):
                raise FileNotFoundError(
                    f'{run_key(arm, stage, seed)}: load_from {load_from} '
                    'does not exist')
            options['load_from'] = load_from
        work = self.run_dir(arm, stage, seed)
        marker = self._marker(arm, stage, seed)
        if osp.isfile(marker):
            os.remove(marker)
        self._tool(['tools/train.py', stage_spec['config'], '--work-dir',
                    work, '--cfg-options', *cfg_options_cli(options)],
                   osp.join(work, 'train.log'))
        _write_json(marker, dict(fingerprint=self.fingerprint(
            arm, stage, seed)))

    def test(self, arm: str, stage: str, seed: int, checkpoint: str,
             test_dir: str, extra: Optional[dict] = None) -> Dict[str, float]:
        stage_spec = self.spec['arms'][arm][stage]
        iters = stage_spec['iters']
        options = format_options(stage_spec.get('options'), self.roots,
                                 iters)
        options.update(format_options(stage_spec.get('test_options'),
                                      self.roots, iters))
        options.update(format_options(extra, self.roots, iters))
        self._tool(['tools/test.py', stage_spec['config'], checkpoint,
                    '--work-dir', test_dir, '--cfg-options',
                    *cfg_options_cli(options)],
                   osp.join(test_dir, 'test.log'))
        return read_test_metrics(test_dir)

    def execute(self, arm: str, stage: str, seed: int) -> Dict[str, Any]:
        """Train, test and summarise one run (or only re-train it when its
        summary exists and a later stage needs its checkpoint)."""
        key = run_key(arm, stage, seed)
        summary_file = self.summary_path(arm, stage, seed)
        if self.finished(arm, stage, seed):
            self.log(f'{key}: finished before, re-training for its '
                     'checkpoint')
            self.train(arm, stage, seed)
            with open(summary_file) as f:
                return json.load(f)
        stage_spec = self.spec['arms'][arm][stage]
        iters = stage_spec['iters']
        work = self.run_dir(arm, stage, seed)
        start = time.time()
        if not self.trained(arm, stage, seed):
            self.log(f'{key}: training {iters} iterations ({work})')
            with self._lock:
                self.launched.append(key)
            self.train(arm, stage, seed)
        train_s = time.time() - start
        metrics = {}
        primary = self.spec['metrics'][stage]
        for k in stage_spec.get('eval_iters') or [iters]:
            metrics[str(k)] = self.test(
                arm, stage, seed, osp.join(work, f'iter_{k}.pth'),
                osp.join(work, f'test_iter{k}'))
            if primary not in metrics[str(k)]:
                raise KeyError(
                    f'{key}: the metric {primary!r} (metrics.{stage} of '
                    f"{self.spec.get('spec_file')}) is not among the test's "
                    f'metrics {sorted(metrics[str(k)])}')
        extra = {}
        for name, extra_spec in (self.spec.get('extra_evals') or {}).items():
            if stage in (extra_spec.get('stages') or [stage]):
                extra[name] = self.test(
                    arm, stage, seed, self.checkpoint(arm, stage, seed),
                    osp.join(work, f'test_{name}'),
                    extra_spec.get('options'))
        summary = dict(
            study=self.spec['name'], arm=arm, stage=stage, seed=seed,
            config=stage_spec['config'], iters=iters,
            options=stage_spec.get('options') or {},
            test_options=stage_spec.get('test_options') or {},
            load_from=self._load_from(arm, stage, seed) and osp.relpath(
                self._load_from(arm, stage, seed), self.work_dir),
            cfg_seed=read_run_seed(work), threads=self.threads,
            fingerprint=self.fingerprint(arm, stage, seed),
            metrics=metrics, extra=extra,
            train_seconds=round(train_s, 1),
            seconds=round(time.time() - start, 1))
        if summary['cfg_seed'] != seed:
            raise RuntimeError(f'{key}: the run used randomness.seed='
                               f"{summary['cfg_seed']}, not {seed}")
        _write_json(summary_file, summary)
        self.log(f'{key}: done in {summary["seconds"]:.0f} s, {primary} = '
                 f'{metrics[str(iters)].get(primary)}')
        return summary

    def pending(self) -> List[tuple]:
        """The runs without a (current) summary."""
        return [r for r in planned_runs(self.spec) if not self.finished(*r)]

    def _needs(self, run: tuple) -> Optional[tuple]:
        """The run whose checkpoint ``run`` starts from (or None)."""
        arm, stage, seed = run
        stages = self.spec['stages']
        if self.spec['arms'][arm][stage].get('load_from'):
            return None  # a checkpoint of its own
        for previous in reversed(stages[:stages.index(stage)]):
            source = stage_source(self.spec, arm, previous)
            if source is not None:
                return (source, previous, seed)
        return None

    def _schedule(self, batch: List[tuple]) -> None:
        """Run ``batch`` with ``jobs`` workers: each takes the first run
        (seed-major order: an interrupted study leaves whole seeds
        finished) whose checkpoint dependency is done, so a slow run of one
        seed does not idle the other workers. The first failure stops new
        runs and is raised once the running ones end."""
        pending = list(batch)
        done, failures = set(), []
        cond = threading.Condition()

        def ready(run):
            need = self._needs(run)
            return need is None or need not in batch or need in done

        def worker():
            while True:
                with cond:
                    while True:
                        if failures or not pending:
                            return
                        run = next((r for r in pending if ready(r)), None)
                        if run is not None:
                            pending.remove(run)
                            break
                        cond.wait()
                try:
                    self.execute(*run)
                except BaseException as err:  # noqa: B902 (re-raised below)
                    with cond:
                        failures.append(err)
                        cond.notify_all()
                    return
                with cond:
                    done.add(run)
                    cond.notify_all()

        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(min(self.jobs, max(len(batch), 1)))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.5)
        except BaseException:  # Ctrl-C / SIGTERM: no orphan keeps writing
            with cond:
                failures.append(RuntimeError('interrupted'))
            self.kill_tools()
            raise
        if failures:
            raise failures[0]

    def run(self) -> List[Dict[str, Any]]:
        """Run every unfinished run (:meth:`_schedule`); returns the
        summaries of all runs of the study."""
        runs = planned_runs(self.spec)
        recorded = set()
        for run in runs:
            if osp.isfile(self.summary_path(*run)):
                with open(self.summary_path(*run)) as f:
                    recorded.add(json.load(f).get('threads'))
        if recorded - {None, self.threads}:
            raise RuntimeError(
                f"{self.spec['name']}: its finished runs used "
                f'{sorted(recorded - {None})} thread(s) per run, this call '
                f'{self.threads}; the thread count changes CPU numerics, '
                'so a study keeps one (--threads)')
        self.adopt_reused()
        self.prepare_data()
        todo = set(self.pending())
        # finished runs whose checkpoint a pending run needs (not on this
        # machine, e.g. a fresh checkout), and theirs, and so on
        work = list(todo)
        while work:
            need = self._needs(work.pop())
            if need is not None and need not in todo and \
                    not self.trained(*need):
                todo.add(need)
                work.append(need)
        self.log(f"study {self.spec['name']}: {len(runs)} runs, "
                 f'{len(runs) - len(self.pending())} finished, '
                 f'{len(todo)} to run ({self.jobs} at a time, '
                 f'{self.threads} thread(s) each)')
        order = {s: i for i, s in enumerate(self.spec['seeds'])}
        stage_of = {s: i for i, s in enumerate(self.spec['stages'])}
        self._schedule(sorted((r for r in runs if r in todo),
                              key=lambda r: (order[r[2]], stage_of[r[1]])))
        summaries = []
        for run in runs:
            with open(self.summary_path(*run)) as f:
                summaries.append(json.load(f))
        return summaries
