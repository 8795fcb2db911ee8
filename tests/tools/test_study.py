"""tools/analysis_tools/study.py: a declared study runs end to end, writes
its table with paired bootstrap intervals, and resumes without redoing
finished runs; the bootstrap interval's coverage; the spec checks."""
import json
import os

import numpy as np
import pytest

from tool_loader import load_tool

from mmvis_pretrain.utils.study_runner import StudyRunner
from mmvis_pretrain.utils.study_spec import (StudySpecError, load_study,
                                             planned_runs)
from mmvis_pretrain.utils.study_stats import mean_std, paired_bootstrap_ci

ONLINE = 'configs/online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py'
DATA_OPTIONS = """{
    'train_dataloader.dataset.datasets.0.data_root': '{coco}',
    'train_dataloader.dataset.datasets.1.data_root': '{ytvis}',
    'val_dataloader.dataset.data_root': '{ytvis}',
    'test_dataloader.dataset.data_root': '{ytvis}',
    'val_evaluator.ann_file': '{ytvis}valid.json',
    'test_evaluator.ann_file': '{ytvis}valid.json',
    'param_scheduler.end': '{iters}',
    'param_scheduler.milestones': [1],
}"""


def _spec(tmp_path, body: str) -> str:
    path = tmp_path / 'spec.py'
    path.write_text(body)
    return str(path)


TINY = f"""
name = 'tiny'
data = dict(seed=0, num_images=6, num_val_images=2, num_videos=3,
            num_val_videos=2)
seeds = [0, 1]
stages = ['finetune']
metrics = dict(finetune='vis/AP')
_opts = {DATA_OPTIONS}
arms = dict(
    base=dict(label='10 queries', finetune=dict(
        config='{ONLINE}', iters=2, eval_iters=[1, 2], options=_opts)),
    q8=dict(label='8 queries', finetune=dict(
        config='{ONLINE}', iters=2,
        options=dict(_opts, **{{'model.panoptic_head.num_queries': 8}}))))
comparisons = [('q8', 'base')]
"""


@pytest.mark.slow
def test_two_arms_two_seeds_end_to_end_and_resume(tmp_path):
    tool = load_tool('tools/analysis_tools/study.py')
    spec = _spec(tmp_path, TINY)
    argv = [spec, '--work-dir', str(tmp_path / 'work'), '--results-dir',
            str(tmp_path / 'results'), '--jobs', '2', '--bootstrap-samples',
            '500', '--min-seeds', '2']
    report = tool.main(argv)
    runs = sorted(os.listdir(tmp_path / 'results' / 'runs'))
    assert runs == [f'{arm}__finetune__seed{s}.json'
                    for arm in ('base', 'q8') for s in (0, 1)]
    summary = json.loads(
        (tmp_path / 'results' / 'runs' / runs[1]).read_text())
    # the seed reached the runner (read back from the run's dumped config)
    assert summary['seed'] == summary['cfg_seed'] == 1
    assert summary['threads'] == 1 and set(summary['metrics']) == {'1', '2'}
    q8 = json.loads((tmp_path / 'results' / 'runs' / runs[2]).read_text())
    assert set(q8['metrics']) == {'2'}
    assert 0 <= summary['metrics']['2']['vis/AP'] <= 1
    res = report['results']['finetune']
    assert set(res['arms']) == {'base', 'q8'}
    assert res['arms']['base']['metrics']['vis/AP']['n'] == 2
    (comp, ) = res['comparisons']
    assert (comp['a'], comp['b'], comp['n']) == ('q8', 'base', 2)
    assert comp['low'] <= comp['mean'] <= comp['high']
    table = (tmp_path / 'results' / 'results.md').read_text()
    assert '`q8` − `base`' in table and '± ' in table
    # the values behind the means, seed by seed, from the summaries
    base_runs = [json.loads((tmp_path / 'results' / 'runs' / r).read_text())
                 for r in runs[:2]]
    per_seed = ', '.join(f"{run['metrics']['2']['vis/AP']:.3f}"
                         for run in base_runs)
    assert f'| `base` | {per_seed} |' in table
    assert (tmp_path / 'results' / 'finetune_vs_iters.png').is_file()

    # resume: nothing is trained again, the summaries stay as they were
    stamps = {r: os.stat(tmp_path / 'results' / 'runs' / r).st_mtime_ns
              for r in runs}
    spec_dict = load_study(spec)
    runner = StudyRunner(spec_dict, str(tmp_path / 'work'),
                         str(tmp_path / 'results'), jobs=2)
    assert runner.pending() == []
    runner.run()
    assert runner.launched == []
    assert stamps == {
        r: os.stat(tmp_path / 'results' / 'runs' / r).st_mtime_ns
        for r in runs}
    # a pilot of one seed (nothing left to run) reports the whole study,
    # not only its seed: the committed results are not cut to a subset
    pilot = tool.main(argv + ['--seeds', '0'])
    assert pilot['results']['finetune']['comparisons'][0]['n'] == 2
    assert 'Seeds: [0, 1]' in (tmp_path / 'results' / 'results.md').read_text()
    # a lost summary is the only run to redo
    os.remove(tmp_path / 'results' / 'runs' / runs[0])
    assert runner.pending() == [('base', 'finetune', 0)]


def test_plan_same_as_and_load_from(tmp_path):
    spec = load_study(_spec(tmp_path, """
name = 'plan'
seeds = [3, 4]
stages = ['pretrain', 'finetune']
metrics = dict(pretrain='coco/segm_mAP', finetune='vis/AP')
arms = dict(
    image=dict(pretrain=dict(config='a.py', iters=10),
               finetune=dict(config='b.py', iters=5)),
    image_plain=dict(pretrain=dict(same_as='image'),
                     finetune=dict(config='c.py', iters=5)),
    scratch=dict(finetune=dict(config='c.py', iters=5)))
comparisons = [('image', 'image_plain')]
"""))
    runs = planned_runs(spec)
    assert runs[:2] == [('image', 'pretrain', 3), ('image', 'pretrain', 4)]
    assert len(runs) == 2 + 3 * 2  # the shared pre-training runs once
    runner = StudyRunner(spec, str(tmp_path / 'w'), str(tmp_path / 'r'))
    expected = str(tmp_path / 'w' / 'runs' / 'image' / 'pretrain' / 'seed4'
                   / 'iter_10.pth')
    assert runner._load_from('image_plain', 'finetune', 4) == expected
    assert runner._load_from('image', 'finetune', 4) == expected
    assert runner._load_from('scratch', 'finetune', 4) is None


@pytest.mark.parametrize('body, message', [
    ("name='x'\nseeds=[0, 0]\nstages=['s']\nmetrics=dict(s='m')\n"
     "arms=dict(a=dict(s=dict(config='c', iters=1)))", 'seeds must be'),
    ("name='x'\nseeds=[0]\nstages=['s']\nmetrics=dict(s='m')\n"
     "arms=dict(a=dict(s=dict(config='c', iters=2, eval_iters=[1])))",
     r'eval_iters \[1\] must be in 1..2 and include iters'),
    ("name='x'\nseeds=[0]\nstages=['s']\nmetrics=dict(s='m')\n"
     "arms=dict(a=dict(s=dict(same_as='b')))", "same_as='b' is not an arm"),
    ("name='x'\nseeds=[0]\nstages=['s']\nmetrics=dict(s='m')\n"
     "arms=dict(a=dict(s=dict(config='c', iter=2)))",
     r"unknown keys \['iter'\]"),
    ("name='x'\nseeds=[0]\nstages=['s']\nmetrics=dict(t='m')\n"
     "arms=dict(a=dict(s=dict(config='c', iters=2)))", "no key for the stage"),
    ("name='x'\nseeds=[0]\nstages=['s']\nmetrics=dict(s='m')\n"
     "arms=dict(a=dict(s=dict(config='c', iters=2)))\n"
     "comparisons=[('a', 'z')]", r"comparison .'a', 'z'. must name"),
])
def test_bad_specs(tmp_path, body, message):
    with pytest.raises(StudySpecError, match=message) as err:
        load_study(_spec(tmp_path, body))
    assert 'spec.py' in str(err.value)


def test_bootstrap_interval_covers_a_known_difference_at_the_stated_rate():
    """400 constructed studies of 5 paired seeds with a true difference of
    0.03: the 95 % expanded-percentile interval covers it in about 95 % of
    them (binomial sd 1.1 %), the plain percentile interval clearly less
    (too narrow for 5 pairs)."""
    rng = np.random.default_rng(1)
    covered = dict(expanded=0, plain=0)
    for r in range(400):
        b = rng.normal(0.2, 0.05, 5)
        a = b + 0.03 + rng.normal(0, 0.02, 5)
        for name in covered:
            ci = paired_bootstrap_ci(a, b, num_samples=2000, seed=r,
                                     expanded=name == 'expanded')
            covered[name] += ci['low'] <= 0.03 <= ci['high']
    assert 0.92 <= covered['expanded'] / 400 <= 0.98, covered
    assert covered['plain'] / 400 < 0.9, covered


def test_stats_basics_and_errors():
    assert mean_std([1.0, 3.0]) == dict(n=2, mean=2.0, std=pytest.approx(
        np.sqrt(2)))
    assert mean_std([4.0])['std'] == 0.0
    ci = paired_bootstrap_ci([1, 2, 3], [0, 1, 2])
    assert ci['mean'] == 1 and ci['low'] == ci['high'] == 1
    assert ci['wins'] == 3 and ci['ties'] == 0
    with pytest.raises(ValueError, match='equal lengths'):
        paired_bootstrap_ci([1, 2], [1])
    with pytest.raises(ValueError, match='at least 2 pairs'):
        paired_bootstrap_ci([1], [1])
    with pytest.raises(ValueError, match='level'):
        paired_bootstrap_ci([1, 2], [1, 2], level=1.5)


def test_data_set_placeholders(tmp_path):
    """One data set: {data}, {coco}, {ytvis}; named sets: {name},
    {name_coco}, {name_ytvis}; options get them and {iters}."""
    from mmvis_pretrain.utils.study_spec import format_options
    base = ("seeds=[0]\nstages=['s']\nmetrics=dict(s='m')\n"
            "arms=dict(a=dict(s=dict(config='c', iters=2)))\n")
    one = load_study(_spec(tmp_path, "name='one'\ndata=dict(seed=3)\n" +
                           base))
    runner = StudyRunner(one, str(tmp_path / 'w'), str(tmp_path / 'r'))
    assert runner.data_sets() == dict(data=dict(seed=3))
    assert runner.roots['coco'] == str(tmp_path / 'w' / 'data' / 'coco') + '/'
    two = load_study(_spec(tmp_path, "name='two'\ndata=dict(pre=dict(seed=1"
                           "), ft=dict(seed=2))\n" + base))
    roots = StudyRunner(two, str(tmp_path / 'w'), str(tmp_path / 'r')).roots
    assert roots['pre_ytvis'] == str(tmp_path / 'w' / 'pre' / 'ytvis') + '/'
    assert 'coco' not in roots and roots['ft'] == str(tmp_path / 'w' /
                                                        'ft') + '/'
    assert format_options({'a': '{ft_coco}x.json', 'b': '{iters}', 'c': [1]},
                          roots, 7) == {'a': roots['ft_coco'] + 'x.json',
                                        'b': '7', 'c': [1]}


@pytest.mark.parametrize('name', ['table7', 'table3', 'table7_videos',
                                  'stmask_table4',
                                  'mvc', 'oma'])
def test_bundled_specs_load_and_name_existing_configs(name):
    from conftest import REPO
    spec = load_study(os.path.join(REPO, 'tools', 'analysis_tools',
                                   'studies', f'{name}.py'))
    assert spec['name'] == name and len(spec['seeds']) >= 5
    for arm in spec['arms'].values():
        for stage in spec['stages']:
            config = (arm.get(stage) or {}).get('config')
            if config:
                assert os.path.isfile(os.path.join(REPO, config)), config
    assert planned_runs(spec)


def test_report_only_without_runs_says_so(tmp_path):
    tool = load_tool('tools/analysis_tools/study.py')
    spec = _spec(tmp_path, TINY)
    with pytest.raises(SystemExit, match='no finished runs to report'):
        tool.main([spec, '--report-only', '--results-dir',
                   str(tmp_path / 'empty')])
    with pytest.raises(SystemExit, match=r'--seeds \[9\] are not seeds'):
        tool.main([spec, '--seeds', '9', '--dry-run'])
    for bad in (['--min-seeds', '1'], ['--bootstrap-samples', '10'],
                ['--jobs', '0']):
        with pytest.raises(SystemExit):
            tool.main([spec, '--dry-run', *bad])


CHAIN = """
name = 'chain'
seeds = [0, 1]
stages = ['a', 'b', 'c']
metrics = dict(a='m', b='m', c='m')
arms = dict(
    x=dict(a=dict(config='p.py', iters=2), b=dict(config='q.py', iters=2),
           c=dict(config='r.py', iters=2, options={'k': 1})),
    y=dict(a=dict(same_as='x'), b=dict(same_as='x'),
           c=dict(config='r.py', iters=2, options={'k': 2})))
comparisons = [('y', 'x')]
"""


def _summary(runner, arm, stage, seed, value, fingerprint=True):
    from mmvis_pretrain.utils.study_runner import _write_json
    _write_json(runner.summary_path(arm, stage, seed), dict(
        arm=arm, stage=stage, seed=seed, iters=2, threads=1, seconds=1.0,
        metrics={'2': {'m': value}}, extra={},
        fingerprint=runner.fingerprint(arm, stage, seed)
        if fingerprint else None))


def test_resume_retrains_the_whole_missing_chain(tmp_path, monkeypatch):
    """On a fresh checkout (summaries, no checkpoints) a pending run of the
    third stage re-trains the second AND the first stage it rests on."""
    spec = load_study(_spec(tmp_path, CHAIN))
    runner = StudyRunner(spec, str(tmp_path / 'w'), str(tmp_path / 'r'))
    for seed in (0, 1):
        _summary(runner, 'x', 'a', seed, 0.1)
        _summary(runner, 'x', 'b', seed, 0.2)
    _summary(runner, 'x', 'c', 0, 0.3)
    _summary(runner, 'y', 'c', 0, 0.4)
    _summary(runner, 'x', 'c', 1, 0.3)
    ran = []
    monkeypatch.setattr(runner, 'prepare_data', lambda: None)
    monkeypatch.setattr(runner, 'execute',
                        lambda *run: ran.append(run) or {})
    try:
        runner.run()
    except FileNotFoundError:
        pass  # the stub wrote no summary for y/c/1
    assert ran == [('x', 'a', 1), ('x', 'b', 1), ('y', 'c', 1)]


def test_stale_summaries_and_shared_comparisons(tmp_path):
    from mmvis_pretrain.utils.study_report import aggregate
    spec = load_study(_spec(tmp_path, CHAIN))
    runner = StudyRunner(spec, str(tmp_path / 'w'), str(tmp_path / 'r'))
    for seed in (0, 1):
        for stage in ('a', 'b'):
            _summary(runner, 'x', stage, seed, 0.1)
        _summary(runner, 'x', 'c', seed, 0.3 + seed)
        _summary(runner, 'y', 'c', seed, 0.5 + seed)
    assert runner.pending() == []
    from mmvis_pretrain.utils.study_report import collect_summaries
    result = aggregate(spec, collect_summaries(str(tmp_path / 'r')), 500)
    # stages a and b: y runs x's runs (same_as), nothing to compare
    assert result['a']['comparisons'] == result['b']['comparisons'] == []
    (c, ) = result['c']['comparisons']
    assert c['mean'] == pytest.approx(0.2) and c['wins'] == 2
    # 2 seeds: no interval (it would under-cover), unless asked for
    assert c['low'] is None and c['high'] is None
    (c, ) = aggregate(spec, collect_summaries(str(tmp_path / 'r')), 500,
                      min_seeds=2)['c']['comparisons']
    assert c['low'] == pytest.approx(0.2) == c['high']
    # the spec changes: the summaries of the changed arm are stale
    changed = load_study(_spec(tmp_path, CHAIN.replace("{'k': 2}",
                                                       "{'k': 3}")))
    stale = StudyRunner(changed, str(tmp_path / 'w'), str(tmp_path / 'r'))
    with pytest.raises(RuntimeError, match='y__c__seed0.json: made with '
                       'other settings'):
        stale.pending()
    # a different thread count than the finished runs' is refused
    other = StudyRunner(spec, str(tmp_path / 'w'), str(tmp_path / 'r'),
                        threads=2)
    with pytest.raises(RuntimeError, match=r'used \[1\] thread'):
        other.run()


def test_reuse_runs_from_adopts_runs_with_the_same_fingerprint(
        tmp_path, monkeypatch):
    """A study naming another in ``reuse_runs_from`` adopts the other's
    finished runs whose fingerprint equals one of its own (same settings
    under another arm name), and runs only the rest."""
    first = StudyRunner(load_study(_spec(tmp_path, CHAIN)),
                        str(tmp_path / 'w'), str(tmp_path / 'studies' /
                                                 'chain'))
    for seed in (0, 1):
        for stage in ('a', 'b', 'c'):
            _summary(first, 'x', stage, seed, 0.1 + seed)
    # the new study: `same` is chain's x (another name), `other` differs
    second_spec = load_study(_spec(tmp_path, CHAIN.replace(
        "name = 'chain'", "name = 'second'\nreuse_runs_from = ['chain']")
        .replace('x=dict', 'same=dict').replace("same_as='x'",
                                                "same_as='same'")
        .replace('    y=dict', '    other=dict').replace(
            "comparisons = [('y', 'x')]",
            "comparisons = [('other', 'same')]")))
    second = StudyRunner(second_spec, str(tmp_path / 'w2'),
                         str(tmp_path / 'studies' / 'second'))
    assert second.reusable('same', 'c', 1).endswith(
        os.path.join('chain', 'runs', 'x__c__seed1.json'))
    assert second.reusable('other', 'c', 1) is None  # options differ
    ran = []
    monkeypatch.setattr(second, 'prepare_data', lambda: None)
    monkeypatch.setattr(second, 'execute', lambda *run: ran.append(run) or
                        _summary(second, *run, 0.5))
    second.run()
    # only `other`'s own stage runs; the adopted runs it starts from are
    # trained again for their checkpoints (none on this machine), as on a
    # fresh checkout
    assert ran == [('same', 'a', 0), ('same', 'b', 0), ('other', 'c', 0),
                   ('same', 'a', 1), ('same', 'b', 1), ('other', 'c', 1)]
    adopted = json.loads(open(second.summary_path('same', 'c', 1)).read())
    assert adopted['reused_from'] == os.path.join('chain', 'runs',
                                                  'x__c__seed1.json')
    assert (adopted['arm'], adopted['study']) == ('same', 'second')
    assert adopted['metrics'] == {'2': {'m': 1.1}}
    assert adopted['fingerprint'] == second.fingerprint('same', 'c', 1)
    with pytest.raises(StudySpecError, match='reuse_runs_from must be'):
        load_study(_spec(tmp_path, CHAIN + "reuse_runs_from = 'chain'\n"))
    # the report counts the adopted runs' time apart (each summary: 1 s);
    # an arm with one seed has no "± 0.000"
    from mmvis_pretrain.utils.study_report import write_study_report
    os.remove(second.summary_path('other', 'c', 1))
    write_study_report(second_spec, second.results_dir, num_samples=200,
                       min_seeds=2)
    table = open(os.path.join(second.results_dir, 'results.md')).read()
    # 7 summaries of 1 s: same's a, b, c of both seeds, other's c of seed 0;
    # adopted: same's c of both seeds (a and b ran again above, for their
    # checkpoints)
    assert ('Compute: 0.00 h of run time in all, 0.00 h of it in runs '
            'adopted from other studies') in table
    other_row = next(line for line in table.splitlines()
                     if '(`other`)' in line)
    assert other_row.split(' | ')[1:] == ['1', '0.500 |'], other_row
    assert '0.600 ± 0.707' in table  # `same`: seeds 0 and 1 (0.1, 1.1)
    payload = json.loads(open(os.path.join(second.results_dir,
                                           'results.json')).read())
    assert (payload['compute_seconds'],
            payload['adopted_compute_seconds']) == (7.0, 2.0)


def test_interrupted_study_kills_its_tools(tmp_path):
    """The tools run in process groups of their own and kill_tools (the
    scheduler's answer to Ctrl-C / SIGTERM) ends them, children included."""
    import threading
    import time
    fake = tmp_path / 'fake_python.sh'
    fake.write_text('#!/bin/sh\nsleep 30 &\nwait\n')
    fake.chmod(0o755)
    spec = load_study(_spec(tmp_path, CHAIN))
    runner = StudyRunner(spec, str(tmp_path / 'w'), str(tmp_path / 'r'),
                         python=str(fake))
    errors = []

    def call():
        try:
            runner._tool(['tools/train.py'], str(tmp_path / 'log.txt'))
        except RuntimeError as err:
            errors.append(str(err))

    start = time.time()
    thread = threading.Thread(target=call)
    thread.start()
    while not runner._procs and time.time() - start < 10:
        time.sleep(0.05)
    runner.kill_tools()
    thread.join(10)
    assert not thread.is_alive() and time.time() - start < 10
    assert errors and 'tools/train.py failed (exit -9)' in errors[0]
    assert not runner._procs
