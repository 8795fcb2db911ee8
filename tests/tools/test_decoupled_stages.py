"""The decoupled VIS stage chain with the tools: stage 1 checkpoint ->
stage 2 (tools/train.py, load_from) -> stage 3 -> tools/test.py offline and
online, the submission zip, MVC-2 tube masking of the tracker's clips, and
a 2-process CPU DDP run of stage 2."""
import os
import os.path as osp
import socket
import subprocess
import sys
import zipfile

import pytest
import torch

from conftest import REPO, as_cli
from tool_loader import load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')
SEGMENTER = osp.join(
    REPO, 'configs/dvis/dvis-segmenter_tiny_1xb2-300it_synthetic-vis.py')
TRACKER = osp.join(REPO,
                   'configs/dvis/dvis-tracker_tiny_1xb2-300it_synthetic-vis.py')
TRACKER_MVC2 = osp.join(
    REPO, 'configs/dvis/dvis-tracker-mvc2_tiny_1xb2-300it_synthetic-vis.py')
REFINER = osp.join(REPO,
                   'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')


def _options(root, max_iters=None, **extra):
    ytvis = osp.join(root, 'ytvis') + '/'
    opts = {
        'train_dataloader.dataset.datasets.0.data_root':
        osp.join(root, 'coco') + '/',
        'train_dataloader.dataset.datasets.1.data_root': ytvis,
        'val_dataloader.dataset.data_root': ytvis,
        'test_dataloader.dataset.data_root': ytvis,
        'val_evaluator.ann_file': ytvis + 'valid.json',
        'test_evaluator.ann_file': ytvis + 'valid.json',
        'randomness.seed': 0,
    }
    if max_iters:
        opts.update({
            'train_cfg.max_iters': max_iters,
            'train_cfg.val_interval': max_iters + 1,
            'default_hooks.checkpoint.interval': max_iters,
            'param_scheduler.milestones': [max_iters],
            'param_scheduler.end': max_iters,
        })
    opts.update(extra)
    return as_cli(opts)


@pytest.fixture(scope='module')
def stage1(tmp_path_factory):
    """A (randomly initialised) stage-1 segmenter checkpoint."""
    from mmengine.config import Config
    from mmvis_pretrain.registry import MODELS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(SEGMENTER)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('stage1') / 'segmenter.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


@pytest.mark.slow
def test_stage_chain_train_and_test_both_modes(synthetic_root, stage1,
                                               tmp_path):
    s2, s3 = tmp_path / 's2', tmp_path / 's3'
    runner = train_tool.main([
        TRACKER, '--work-dir', str(s2), '--cfg-options',
        *_options(synthetic_root, 2, load_from=stage1)])
    assert runner.iter == 2
    segmenter = torch.load(stage1, weights_only=True)['state_dict']
    trained = torch.load(s2 / 'iter_2.pth', weights_only=True)['state_dict']
    for key, value in segmenter.items():  # frozen through stage 2
        assert torch.equal(trained[key], value), key
    runner = train_tool.main([
        REFINER, '--work-dir', str(s3), '--cfg-options',
        *_options(synthetic_root, 2, load_from=str(s2 / 'iter_2.pth'))])
    assert runner.iter == 2
    refined = torch.load(s3 / 'iter_2.pth', weights_only=True)['state_dict']
    for key, value in trained.items():  # segmenter + tracker frozen
        assert torch.equal(refined[key], value), key
    assert any(k.startswith('refiner.') for k in refined)
    for mode in ('offline', 'online'):
        metrics = test_tool.main([
            REFINER, str(s3 / 'iter_2.pth'), '--work-dir',
            str(tmp_path / mode), '--cfg-options',
            *_options(synthetic_root, **{'model.inference_mode': mode})])
        assert 0.0 <= metrics['vis/AP'] <= 1.0, mode
    # the submission of the offline mode
    sub = tmp_path / 'submission'
    test_tool.main([
        REFINER, str(s3 / 'iter_2.pth'), '--work-dir', str(tmp_path / 'fmt'),
        '--cfg-options', *_options(synthetic_root, **{
            'test_evaluator.format_only': True,
            'test_evaluator.outfile_prefix': str(sub)})])
    with zipfile.ZipFile(sub / 'submission.zip') as zf:
        assert zf.namelist() == ['results.json']


@pytest.mark.slow
def test_mvc2_tube_masking_of_tracker_clips(synthetic_root, stage1,
                                            tmp_path):
    runner = train_tool.main([
        TRACKER_MVC2, '--work-dir', str(tmp_path), '--cfg-options',
        *_options(synthetic_root, 2, load_from=stage1,
                  **{'custom_hooks.0.p_mask': 1.0,
                     'custom_hooks.0.dump_dir': str(tmp_path / 'dump')})])
    assert runner.iter == 2
    hook = [h for h in runner.hooks
            if type(h).__name__ == 'MVCMaskingHook'][0]
    assert hook.mode == 'tube'
    assert os.listdir(tmp_path / 'dump')  # masked clips were drawn


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dist_stage2_two_processes(synthetic_root, stage1, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), TRACKER, '2',
         '--work-dir', str(tmp_path), '--cfg-options',
         *_options(synthetic_root, 2, load_from=stage1)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    # DDP ran without find_unused_parameters: the frozen stages have no
    # gradients at all, every tracker parameter gets one
    assert 'find_unused_parameters=False' in log
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert state['meta']['iter'] == 2
