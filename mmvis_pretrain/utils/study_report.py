"""The results of a study (:mod:`.study_runner` summaries) as tables and
plots: per arm and stage the mean +- std over seeds of every metric, the
paired bootstrap intervals of the declared comparisons (:mod:`.
study_stats`), the metric against the fine-tuning iterations and against
an arm's ``x`` (e.g. the number of training videos).

Writes ``results.json`` (everything), ``results.md`` (the tables) and
``<stage>_vs_iters.png`` / ``<stage>_vs_x.png`` into the results dir
(matplotlib, Agg).
"""
import glob
import json
import os.path as osp
from typing import Any, Dict, List, Optional

from .study_runner import write_atomic
from .study_spec import run_key, stage_source
from .study_stats import mean_std, paired_bootstrap_ci

__all__ = ['collect_summaries', 'aggregate', 'write_study_report']


def collect_summaries(results_dir: str) -> Dict[str, dict]:
    """``{run key: summary}`` of ``<results_dir>/runs/*.json``."""
    out = {}
    for path in sorted(glob.glob(osp.join(results_dir, 'runs', '*.json'))):
        with open(path) as f:
            out[osp.basename(path)[:-5]] = json.load(f)
    return out


def _arm_runs(spec: dict, summaries: Dict[str, dict], arm: str,
              stage: str) -> Dict[int, dict]:
    source = stage_source(spec, arm, stage)
    if source is None:
        return {}
    return {seed: summaries[run_key(source, stage, seed)]
            for seed in spec['seeds']
            if run_key(source, stage, seed) in summaries}


#: Fewest paired seeds for an interval: the expanded percentile interval
#: covered a known difference in 54 / 73 / 87 / 94 % of constructed studies
#: with 2 / 3 / 4 / 5 seeds (95 % stated; docs/studies.md), so fewer seeds
#: give the mean difference and the wins only.
MIN_SEEDS_FOR_CI = 5


def aggregate(spec: dict, summaries: Dict[str, dict],
              num_samples: int = 10000, level: float = 0.95,
              min_seeds: int = MIN_SEEDS_FOR_CI) -> dict:
    """Per stage: ``arms`` (metric -> mean / std / n / values by seed at
    the last iteration; ``curve``: metric per evaluated iteration;
    ``extra``: the extra evaluations) and ``comparisons`` (paired bootstrap
    of the stage's primary metric and of each extra evaluation's)."""
    out = {}
    for stage in spec['stages']:
        primary = spec['metrics'][stage]
        arms, comparisons = {}, []
        for arm in spec['arms']:
            runs = _arm_runs(spec, summaries, arm, stage)
            if not runs:
                continue
            last = {seed: run['metrics'][str(run['iters'])]
                    for seed, run in runs.items()}
            keys = sorted(set.intersection(*(set(m) for m in last.values())))
            source = stage_source(spec, arm, stage)
            entry = dict(
                label=spec['arms'][arm].get('label', arm),
                same_as=None if source == arm else source,
                x=spec['arms'][arm].get('x'),
                group=spec['arms'][arm].get('group'),
                seeds=sorted(runs),
                metrics={k: dict(mean_std([last[s][k] for s in sorted(runs)]),
                                 values={str(s): last[s][k]
                                         for s in sorted(runs)})
                         for k in keys})
            iters = sorted({int(i) for run in runs.values()
                            for i in run['metrics']})
            entry['curve'] = {
                str(i): mean_std([run['metrics'][str(i)][primary]
                                  for run in runs.values()
                                  if str(i) in run['metrics']])
                for i in iters}
            extra_names = sorted(set.intersection(
                *(set(run.get('extra') or {}) for run in runs.values())))
            entry['extra'] = {
                name: dict(mean_std([runs[s]['extra'][name][primary]
                                     for s in sorted(runs)]),
                           values={str(s): runs[s]['extra'][name][primary]
                                   for s in sorted(runs)})
                for name in extra_names
                if all(primary in runs[s]['extra'][name] for s in runs)}
            arms[arm] = entry
        for a, b in spec.get('comparisons') or []:
            if a not in arms or b not in arms:
                continue
            if stage_source(spec, a, stage) == stage_source(spec, b, stage):
                continue  # the same runs (same_as): nothing to compare
            for evaluation in [None] + sorted(set(arms[a]['extra'])
                                              & set(arms[b]['extra'])):
                if evaluation is None:
                    va = arms[a]['metrics'].get(primary, {}).get('values')
                    vb = arms[b]['metrics'].get(primary, {}).get('values')
                else:
                    va = arms[a]['extra'][evaluation]['values']
                    vb = arms[b]['extra'][evaluation]['values']
                if not va or not vb:
                    continue
                seeds = sorted(set(va) & set(vb), key=int)
                if len(seeds) < 2:
                    continue
                ci = paired_bootstrap_ci([va[s] for s in seeds],
                                         [vb[s] for s in seeds],
                                         num_samples=num_samples,
                                         level=level)
                if len(seeds) < min_seeds:  # too few for a trusted interval
                    ci.update(low=None, high=None,
                              method=f'no interval below {min_seeds} seeds')
                comparisons.append(dict(a=a, b=b, metric=primary,
                                        evaluation=evaluation or 'main',
                                        seeds=[int(s) for s in seeds],
                                        **ci))
        out[stage] = dict(metric=primary, arms=arms, comparisons=comparisons)
    return out


def _fmt(entry: Optional[dict], scale: float = 1.0) -> str:
    if not entry:
        return '-'
    if entry.get('n') == 1:  # one seed has no spread: no "± 0.000"
        return f"{entry['mean'] * scale:.3f}"
    return f"{entry['mean'] * scale:.3f} ± {entry['std'] * scale:.3f}"


def _per_seed_table(res: dict, primary: str, extra: List[str],
                    seeds: List[int]) -> List[str]:
    """The values behind the means: one row per arm, ``primary`` and each
    extra evaluation at the last iteration, seed by seed (``-``: not run)."""
    lines = [f'Per seed ({", ".join(str(s) for s in seeds)}):', '',
             '| arm | ' + ' | '.join([primary] + extra) + ' |',
             '|---|' + '---|' * (1 + len(extra))]
    for arm, entry in res['arms'].items():
        columns = [entry['metrics'].get(primary)] + [
            entry['extra'].get(e) for e in extra]
        cells = [', '.join(
            f"{c['values'][str(s)]:.3f}" if c and str(s) in c['values']
            else '-' for s in seeds) for c in columns]
        lines.append(f'| `{arm}` | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _markdown(spec: dict, result: dict, summaries: Dict[str, dict]) -> str:
    lines = [f"# Study `{spec['name']}`", '']
    if spec.get('description'):
        lines += [spec['description'].strip(), '']
    lines += [f"Seeds: {spec['seeds']}; runs finished: {len(summaries)}.",
              '']
    for stage, res in result.items():
        primary = res['metric']
        lines += [f'## {stage}: `{primary}` (mean ± std over seeds)', '']
        extra = sorted({e for a in res['arms'].values() for e in a['extra']})
        lines.append('| arm | n | ' + ' | '.join([primary] + extra) + ' |')
        lines.append('|---|---|' + '---|' * (1 + len(extra)))
        for arm, entry in res['arms'].items():
            cells = [_fmt(entry['metrics'].get(primary))] + [
                _fmt(entry['extra'].get(e)) for e in extra]
            shared = (f" = `{entry['same_as']}`'s runs" if entry['same_as']
                      else '')
            lines.append(f"| {entry['label']} (`{arm}`{shared}) | "
                         f"{len(entry['seeds'])} | " + ' | '.join(cells) +
                         ' |')
        lines.append('')
        lines += _per_seed_table(res, primary, extra, spec['seeds'])
        if res['comparisons']:
            lines += ['| difference | evaluation | seeds | mean | '
                      'CI | a > b |', '|---|---|---|---|---|---|']
            for c in res['comparisons']:
                interval = (f"[{c['low']:+.4f}, {c['high']:+.4f}] "
                            f"({100 * c['level']:.0f} %)"
                            if c['low'] is not None else
                            f"n/a ({c['n']} seeds)")
                lines.append(
                    f"| `{c['a']}` − `{c['b']}` | {c['evaluation']} | "
                    f"{c['n']} | {c['mean']:+.4f} | {interval} | "
                    f"{c['wins']}/{c['n']} |")
            lines += ['', 'Intervals: paired bootstrap, expanded percentile '
                      f'(resampling the seeds), from {MIN_SEEDS_FOR_CI} '
                      'seeds on; see docs/studies.md.', '']
    return '\n'.join(lines) + '\n'


def _errorbar_plot(series: List[tuple], xlabel: str, ylabel: str,
                   path: str) -> str:
    """One PNG of ``(label, xs, means, stds)`` series with error bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, xs, means, stds in series:
        ax.errorbar(xs, means, yerr=stds, marker='o', capsize=3,
                    label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plots(spec: dict, result: dict, results_dir: str) -> List[str]:
    """The metric against the iterations of each stage (when an arm was
    evaluated more than once) and against the arms' ``x``."""
    written = []
    for stage, res in result.items():
        arms = res['arms']
        if any(len(a['curve']) > 1 for a in arms.values()):
            series = []
            for entry in arms.values():
                xs = sorted(int(i) for i in entry['curve'])
                points = [entry['curve'][str(i)] for i in xs]
                series.append((entry['label'], xs,
                               [p['mean'] for p in points],
                               [p['std'] for p in points]))
            written.append(_errorbar_plot(
                series, f'{stage} iterations', res['metric'],
                osp.join(results_dir, f'{stage}_vs_iters.png')))
        groups: Dict[Any, list] = {}
        for arm, entry in arms.items():
            # x of shared runs (same_as) says nothing about this stage
            if entry['x'] is not None and not entry['same_as']:
                groups.setdefault(entry['group'] or arm, []).append(entry)
        if any(len(entries) > 1 for entries in groups.values()):
            series = []
            for group, entries in groups.items():
                entries.sort(key=lambda e: e['x'])
                points = [e['metrics'][res['metric']] for e in entries]
                series.append((str(group), [e['x'] for e in entries],
                               [p['mean'] for p in points],
                               [p['std'] for p in points]))
            written.append(_errorbar_plot(
                series, spec.get('x_label', 'x'), res['metric'],
                osp.join(results_dir, f'{stage}_vs_x.png')))
    return written


def write_study_report(spec: dict, results_dir: str,
                       num_samples: int = 10000,
                       min_seeds: int = MIN_SEEDS_FOR_CI) -> Dict[str, Any]:
    """Aggregate the summaries in ``results_dir`` and write
    ``results.json``, ``results.md`` and the plots there.

    Returns:
        dict: ``results`` (:func:`aggregate`), ``files`` written.
    """
    summaries = collect_summaries(results_dir)
    if not summaries:
        raise FileNotFoundError(f'{osp.join(results_dir, "runs")}: no '
                                'finished runs to report')
    result = aggregate(spec, summaries, num_samples=num_samples,
                       min_seeds=min_seeds)
    compute = sum(s.get('seconds', 0) for s in summaries.values())
    # runs adopted from another study (reuse_runs_from) cost nothing here
    adopted = sum(s.get('seconds', 0) for s in summaries.values()
                  if s.get('reused_from'))
    payload = dict(study=spec['name'], spec_file=spec.get('spec_file'),
                   seeds=spec['seeds'], runs=len(summaries),
                   compute_seconds=round(compute, 1),
                   adopted_compute_seconds=round(adopted, 1),
                   threads=sorted({s.get('threads') for s in
                                   summaries.values()} - {None}),
                   results=result)
    json_path = osp.join(results_dir, 'results.json')
    write_atomic(json_path,
                 json.dumps(payload, indent=1, sort_keys=True) + '\n')
    md_path = osp.join(results_dir, 'results.md')
    write_atomic(md_path, _markdown(spec, result, summaries) +
                 f'\nCompute: {compute / 3600:.2f} h of run time in all'
                 + (f', {adopted / 3600:.2f} h of it in runs adopted from '
                    'other studies' if adopted else '') +
                 f" (threads per run: {payload['threads']}).\n")
    files = [json_path, md_path] + _plots(spec, result, results_dir)
    return dict(results=result, files=files)
