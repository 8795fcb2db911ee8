"""tools/dist_train.sh and tools/dist_test.sh: 2 processes (gloo on CPU)
for a couple of iterations of the tiny config, then a 2-process test."""
import os
import socket
import subprocess
import sys

import pytest
import torch

from conftest import REPO, TINY_VIS_CONFIG, as_cli, tiny_vis_options


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dist_train_two_processes(synthetic_root, tmp_path):
    work_dir = tmp_path / 'ddp'
    env = dict(
        os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
        OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        ['bash', os.path.join(REPO, 'tools/dist_train.sh'), TINY_VIS_CONFIG,
         '2', '--work-dir', str(work_dir), '--cfg-options',
         *as_cli(tiny_vis_options(synthetic_root, max_iters=2))],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert (work_dir / 'iter_2.pth').exists()
    state = torch.load(work_dir / 'iter_2.pth', weights_only=True)
    assert state['meta']['iter'] == 2

    # the two validation videos are split over the two ranks and gathered
    env['PORT'] = str(_free_port())
    proc = subprocess.run(
        ['bash', os.path.join(REPO, 'tools/dist_test.sh'), TINY_VIS_CONFIG,
         str(work_dir / 'iter_2.pth'), '2', '--work-dir', str(work_dir),
         '--cfg-options', *as_cli(tiny_vis_options(synthetic_root))],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Iter(test) [1/1]' in log  # one video per rank
    assert 'youtube_vis/segm_mAP' in log


@pytest.mark.slow
def test_dist_video_pretraining_two_processes(synthetic_root, tmp_path):
    """The tiny MSTM video pre-training config under 2-process CPU DDP."""
    config = os.path.join(
        REPO, 'configs/video_pretrain/'
        'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')
    coco = os.path.join(synthetic_root, 'coco') + '/'
    val_json = coco + 'annotations/instances_val.json'
    work_dir = tmp_path / 'ddp_pretrain'
    options = {
        'train_dataloader.dataset.data_root': coco,
        'val_dataloader.dataset.data_root': coco,
        'test_dataloader.dataset.data_root': coco,
        'val_evaluator.ann_file': val_json,
        'test_evaluator.ann_file': val_json,
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 2,
        'default_hooks.checkpoint.interval': 2,
    }
    env = dict(
        os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
        OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        ['bash', os.path.join(REPO, 'tools/dist_train.sh'), config, '2',
         '--work-dir', str(work_dir), '--cfg-options', *as_cli(options)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert 'coco/segm_mAP' in log  # validation ran on both ranks, gathered
    assert (work_dir / 'iter_2.pth').exists()
