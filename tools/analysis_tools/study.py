"""Run a declared study (arms x seeds x stages) and report it with paired
bootstrap confidence intervals (``docs/studies.md``).

Usage::

    python tools/analysis_tools/study.py SPEC [--work-dir DIR] \
        [--results-dir DIR] [--jobs J] [--threads T] [--dry-run] \
        [--report-only] [--bootstrap-samples N]

``SPEC``: a study spec (``tools/analysis_tools/studies/*.py``; format in
:mod:`mmvis_pretrain.utils.study_spec`). Defaults: ``--work-dir
work_dirs/studies/<name>`` (data, checkpoints, logs), ``--results-dir
docs/studies/<name>`` (run summaries, ``results.json``, ``results.md``,
plots: small, committed). Re-running resumes: finished runs (those with a
summary) are skipped. ``--jobs`` runs at a time (default: the CPU count),
``--threads`` per run (default 1: on a shared 2-core machine one thread per
process avoids the 20-35x slowdown of oversubscribed OpenMP threads; the
thread count also changes CPU numerics slightly, so it is recorded and kept
fixed within a study).
"""
import argparse
import copy
import os
import os.path as osp
import signal
import sys
from typing import Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from mmvis_pretrain.utils.study_report import write_study_report  # noqa
from mmvis_pretrain.utils.study_runner import StudyRunner  # noqa: E402
from mmvis_pretrain.utils.study_spec import (load_study,  # noqa: E402
                                             planned_runs)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('spec', help='study spec file')
    parser.add_argument('--work-dir', help='data, checkpoints and logs '
                        '(default: work_dirs/studies/<name>)')
    parser.add_argument('--results-dir', help='summaries, tables, plots '
                        '(default: docs/studies/<name>)')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                        help='runs at a time (default: the CPU count)')
    parser.add_argument('--threads', type=int, default=1,
                        help='threads per run (default: 1)')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='run only these of the spec\'s seeds (a pilot;'
                        ' its runs are the study\'s runs of those seeds; '
                        'the report still covers every finished run)')
    parser.add_argument('--dry-run', action='store_true',
                        help='list the runs and which are finished')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report from the finished runs')
    parser.add_argument('--bootstrap-samples', type=int, default=10000,
                        help='bootstrap resamples (default: 10000)')
    parser.add_argument('--min-seeds', type=int, default=5,
                        help='fewest paired seeds for an interval (default '
                        '5; below, the interval under-covers: '
                        'docs/studies.md)')
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error('--jobs and --threads must be >= 1')
    if args.min_seeds < 2 or args.bootstrap_samples < 100:
        parser.error('--min-seeds must be >= 2 and --bootstrap-samples >= '
                     '100')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    spec = load_study(args.spec)
    name = spec['name']
    # the report is the whole study's (every finished run of the spec's
    # seeds), not the pilot's: a --seeds run must not overwrite the
    # committed results with a subset of them
    run_spec = copy.deepcopy(spec)
    if args.seeds:
        unknown = sorted(set(args.seeds) - set(spec['seeds']))
        if unknown:
            raise SystemExit(f'--seeds {unknown} are not seeds of '
                             f"{args.spec} ({spec['seeds']})")
        run_spec['seeds'] = [s for s in spec['seeds'] if s in args.seeds]
    work_dir = args.work_dir or osp.join(REPO, 'work_dirs', 'studies', name)
    results_dir = args.results_dir or osp.join(REPO, 'docs', 'studies',
                                               name)
    runner = StudyRunner(run_spec, work_dir, results_dir, jobs=args.jobs,
                         threads=args.threads)
    if args.dry_run:
        pending = set(runner.pending())
        for run in planned_runs(run_spec):
            state = 'finished'
            if run in pending:
                source = runner.reusable(*run)
                state = 'to run' if source is None else \
                    f'to adopt from {source}'
            print(f'{run[0]:>24} {run[1]:>10} seed {run[2]:<4} {state}')
        return dict(pending=sorted(pending))
    if not args.report_only:
        def stop(signum, frame):  # SIGTERM as Ctrl-C: the tools are killed
            raise KeyboardInterrupt(f'signal {signum}')

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            runner.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
    try:
        report = write_study_report(spec, results_dir,
                                    num_samples=args.bootstrap_samples,
                                    min_seeds=args.min_seeds)
    except FileNotFoundError as err:  # --report-only before any run
        raise SystemExit(str(err)) from err
    with open(osp.join(results_dir, 'results.md')) as f:
        print(f.read())
    print('wrote', ', '.join(report['files']))
    return report


if __name__ == '__main__':
    main()
