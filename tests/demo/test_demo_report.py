"""demo/demo_report.py: the markdown table and the PNG of ``make demo``."""
import importlib.util
import json
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load():
    path = osp.join(REPO, 'demo', 'demo_report.py')
    spec = importlib.util.spec_from_file_location('demo_report_ut', path)
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
            image=dict(AP=0.1234, AP50=0.3, AP75=0.05, AR1=0.2, AR10=0.3),
            video=dict(AP=0.2, AP50=0.4, AP75=-1.0, AR1=0.25, AR10=0.35),
            untrained=dict(AP=0.0, AP50=0.0, AP75=0.0, AR1=0.0, AR10=0.0)),
        timing=dict(data=3.0))
    md, png = report.write_report(str(tmp_path), results,
                                  {'image pre-training': str(tmp_path / 'a')})
    text = open(md).read()
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    assert len(rows) == 4  # header + 3 arms
    assert '| image (Mask2Former on images) | 0.200 | 0.123 | 0.300 |' in text
    # -1 (no ground truth in a range) is shown as '-', never as a number
    assert '| 0.400 | - |' in text
    assert 'STMask' not in text  # not run
    assert osp.getsize(png) > 1000
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
