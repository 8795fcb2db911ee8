"""demo/demo_report.py: the markdown table and the PNG of ``make demo``."""
import importlib.util
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(name='demo_report'):
    """A module of ``demo/`` by file name."""
    path = osp.join(REPO, 'demo', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'{name}_ut', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scalars(work_dir, losses):
    run = work_dir / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    with open(run / 'scalars.json', 'w') as f:
        for i, loss in enumerate(losses, 1):
            f.write(json.dumps(dict(iter=10 * i, loss=loss, lr=0.1)) + '\n')
        f.write(json.dumps({'vis/AP': 0.5, 'step': 30}) + '\n')  # val row


def test_report_table_and_figure(tmp_path):
    report = _load()
    _scalars(tmp_path / 'a', [5.0, 4.0, 3.0])
    iters, losses = report.read_loss_curve(str(tmp_path / 'a'))
    assert iters == [10, 20, 30] and losses == [5.0, 4.0, 3.0]
    assert report.read_loss_curve(str(tmp_path / 'missing')) == ([], [])
    results = dict(
        pretrain=dict(image=dict(mAP=0.2), video=dict(mAP=0.25)),
        finetune=dict(
            image_mstm=dict(AP=0.11, AP50=0.3, AP75=0.05, AR1=0.2, AR10=0.3),
            image=dict(AP=0.1234, AP50=0.3, AP75=0.05, AR1=0.2, AR10=0.3),
            video=dict(AP=0.2, AP50=0.4, AP75=-1.0, AR1=0.25, AR10=0.35),
            untrained=dict(AP=0.0, AP50=0.0, AP75=0.0, AR1=0.0, AR10=0.0)),
        timing=dict(data=3.0),
        protocol=dict(seed=3, threads=1, held_out_videos=4))
    md, png = report.write_report(str(tmp_path), results,
                                  {'image pre-training': str(tmp_path / 'a')})
    text = open(md).read()
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    assert len(rows) == 5  # header + 4 arms
    # the controlled pair first (MSTM in both arms), then the no-MSTM arm
    arms = [row.split(' | ')[0] for row in rows[1:]]
    assert arms == ['| image (Mask2Former on images), MSTM at fine-tuning',
                    '| video (Mask2Former + MSTM on pseudo-videos)',
                    '| image, no MSTM at fine-tuning',
                    '| none (untrained online model)']
    assert '| image, no MSTM at fine-tuning | 0.200 | 0.123 | 0.300 |' in text
    assert 'Held-out videos: 4; training seed 3; 1 thread(s)' in text
    assert 'anecdote' in text and 'docs/studies.md' in text
    # -1 (no ground truth in a range) is shown as '-', never as a number
    assert '| 0.400 | - |' in text
    assert 'STMask' not in text  # not run
    assert osp.getsize(png) > 1000
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
def test_seed_and_threads_reach_the_tools(synthetic_root, tmp_path):
    """``--seed`` is the training seed of every run (read back from the
    config the run dumped), ``--threads`` the tools' thread count."""
    from mmvis_pretrain.utils.study_runner import read_run_seed
    demo = _load('run_demo')
    demo.configure(demo.parse_args(['--seed', '7', '--threads', '1']))
    assert demo.TRAIN_SEED == 7 and demo.TOOL_ENV['OMP_NUM_THREADS'] == '1'
    ytvis = osp.join(synthetic_root, 'ytvis') + '/'
    out = demo.train_and_test(
        'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
        str(tmp_path / 'stmask'), 1,
        demo.data_options(synthetic_root) + [
            f'{split}_evaluator.ann_file={ytvis}valid.json'
            for split in ('val', 'test')], demo.VIS_PREFIX)
    assert read_run_seed(str(tmp_path / 'stmask')) == 7
    assert 'vis/AP' in out['metrics']


def test_bad_threads_refused():
    import pytest
    demo = _load('run_demo')
    with pytest.raises(SystemExit, match='--threads must be >= 1, got 0'):
        demo.configure(demo.parse_args(['--threads', '0']))
