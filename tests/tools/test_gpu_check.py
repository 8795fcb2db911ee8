"""tools/misc/gpu_check.py: the CPU rehearsal of the GPU verification
(issue 17) runs its steps end to end (install / build found present, a
training family, a benchmark) and records them in summary.json; the family
configs point at the given data; the CUDA test files are found."""
import json
import os.path as osp

import pytest

from tool_loader import load_tool

TOOL = 'tools/misc/gpu_check.py'


@pytest.mark.slow
def test_cpu_rehearsal_records_every_step(tmp_path, synthetic_root):
    out = tmp_path / 'gpu'
    rc = load_tool(TOOL).main([
        '--out', str(out), '--device', 'cpu', '--quick', '--steps',
        'install', 'build', 'amp', 'bench', '--families', 'online_vis',
        '--benchmarks', 'online_fps', '--amp-iters', '1', '--data-root',
        synthetic_root])
    summary = json.loads((out / 'summary.json').read_text())
    assert rc == 0, summary
    assert summary['install']['wheels']['ok']
    assert summary['build']['mmcv']['ok']
    amp = summary['amp']['online_vis_fp32']
    assert amp['ok'] and amp['rc'] == 0 and len(amp['losses']) == 1
    assert 'AMP needs CUDA' in amp['note']
    bench = summary['bench']['online_fps']
    assert bench['ok'] and osp.isfile(out / bench['outputs'][
        'online_fps.json'])
    assert summary['machine']['device'] == 'cpu'
    # a second call adds to the summary
    load_tool(TOOL).main(['--out', str(out), '--device', 'cpu', '--steps',
                          'build'])
    again = json.loads((out / 'summary.json').read_text())
    assert 'online_fps' in again['bench'] and 'mmcv' in again['build']


def test_family_configs_and_cuda_test_files(tmp_path):
    tool = load_tool(TOOL)
    args = tool.parse_args(['--out', str(tmp_path), '--amp-iters', '2'])
    args.out = str(tmp_path)
    path = tool.family_config(args, 'stmask', '/data/x/', 'bfloat16',
                              '/ckpt.pth')
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.dataset.data_root.startswith('/data/x/')
    assert cfg.train_cfg.max_iters == 2 and cfg.load_from == '/ckpt.pth'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    files = tool.cuda_test_files()
    assert 'tests/models/layers/ops/test_correlation.py' in files
    assert all(f.startswith('tests/') for f in files)
    # the GPU benchmark commands of the issue (R50, AMP, 360 x 640)
    cmds = tool.bench_commands(tool.parse_args(['--out', str(tmp_path)]))
    mstm_with, mstm_without = cmds['mstm']
    assert '--amp' in mstm_with and 'model.neck=None' in mstm_without
    assert ['--size', '640', '640'] == mstm_with[
        mstm_with.index('--size'):mstm_with.index('--size') + 3]
    assert '1000' in cmds['online_memory'][0]
    assert any('yolact' in c for c in cmds['stmask_fps'][0])
    with pytest.raises(SystemExit):
        tool.parse_args(['--out', 'x', '--amp-iters', '0'])


def test_install_rehearsal_with_the_device_wheels(tmp_path):
    """The pure-Python device wheels install into a target from which
    mmengine and mmdet then import (the GPU machine's step 1)."""
    import glob
    import shutil
    shared = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__))))), 'shared', 'device-wheels')
    pure = glob.glob(osp.join(shared, '*-none-any.whl'))
    if not pure:
        pytest.skip('no ../shared/device-wheels on this machine')
    wheels = tmp_path / 'whl'
    wheels.mkdir()
    for path in pure:
        shutil.copy(path, wheels)
    out = tmp_path / 'gpu'
    assert load_tool(TOOL).main(['--out', str(out), '--device', 'cpu',
                                 '--steps', 'install', '--wheels',
                                 str(wheels)]) == 0
    entry = json.loads((out / 'summary.json').read_text())['install'][
        'wheels']
    assert entry['ok'] and 'import from there' in entry['note']
    assert (out / 'site_rehearsal' / 'mmdet').is_dir()


def test_prepare_wheels_copies_and_asks_pip_for_pytest(tmp_path,
                                                       monkeypatch):
    tool = load_tool(TOOL)
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('a-1.0-py3-none-any.whl', 'mmcv-2.1.0.tar.gz', 'README.md'):
        (src / name).write_text('x')
    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(tool.subprocess, 'run',
                        lambda cmd, **kw: calls.append(cmd) or Done())
    dest = tmp_path / 'whl'
    assert tool.main(['--prepare-wheels', str(src), '--wheels',
                      str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == [
        'a-1.0-py3-none-any.whl', 'mmcv-2.1.0.tar.gz']
    (cmd, ) = calls
    assert cmd[-3:] == ['pytest', 'pluggy', 'iniconfig']
    assert '--python-version' in cmd and '3.12' in cmd
    with pytest.raises(SystemExit):
        tool.parse_args([])  # --out is needed to run the checks
