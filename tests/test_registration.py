"""The three ways to use the package: our tools, mim, custom_imports."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO, TINY_VIS_CONFIG, as_cli, tiny_vis_options


def test_own_scope_falls_back_to_mmdet():
    from mmvis_pretrain.registry import DATASETS, MODELS, SCOPE
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    assert DATASETS.scope == SCOPE
    assert DATASETS.parent.scope == 'mmdet'
    # ours
    assert DATASETS.get('SyntheticVISDataset').__module__.startswith(
        'mmvis_pretrain')
    # mmdet's, found through the parent
    assert MODELS.get('Mask2FormerVideo').__module__.startswith('mmdet')


def test_custom_imports_from_an_mmdet_config(tmp_path, synthetic_root):
    """Another project's config (scope mmdet) reaches our components with
    the scope prefix after ``custom_imports``."""
    cfg_file = tmp_path / 'other_project.py'
    cfg_file.write_text(
        "default_scope = 'mmdet'\n"
        "custom_imports = dict(imports=['mmvis_pretrain'], "
        "allow_failed_imports=False)\n"
        "dataset = dict(type='mmvis_pretrain.SyntheticVISDataset', "
        f"data_root={osp.join(synthetic_root, 'ytvis')!r}, "
        "ann_file='valid.json', data_prefix=dict(img_path='valid/JPEGImages'),"
        " test_mode=True, pipeline=[])\n")
    cfg = Config.fromfile(str(cfg_file))  # runs custom_imports
    from mmdet.registry import DATASETS as MMDET_DATASETS
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = MMDET_DATASETS.build(cfg.dataset)
    assert type(dataset).__name__ == 'SyntheticVISDataset'
    assert len(dataset) == 2


@pytest.mark.slow
def test_mim_train_and_test(tmp_path, synthetic_root):
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    if mim is None:
        pytest.skip('openmim (optional extra) is not installed')
    work_dir = tmp_path / 'mim'
    opts = as_cli(tiny_vis_options(synthetic_root, max_iters=1))
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    # the config is found by name inside the installed package
    subprocess.run([
        mim, 'train', 'mmvis_pretrain', osp.basename(TINY_VIS_CONFIG),
        '--work-dir', str(work_dir), '--cfg-options', *opts
    ], check=True, cwd=str(tmp_path), env=env, capture_output=True)
    ckpt = work_dir / 'iter_1.pth'
    assert ckpt.exists()
    proc = subprocess.run([
        mim, 'test', 'mmvis_pretrain', TINY_VIS_CONFIG, '--checkpoint',
        str(ckpt), '--work-dir', str(work_dir), '--cfg-options', *opts
    ], check=True, cwd=str(tmp_path), env=env, capture_output=True,
                          text=True)
    assert 'youtube_vis/segm_mAP' in proc.stdout + proc.stderr


def test_mim_finds_tools_and_configs():
    pytest.importorskip('mim')
    from mim.utils import get_installed_path
    root = get_installed_path('mmvis_pretrain')
    assert osp.isfile(osp.join(root, '.mim', 'tools', 'train.py'))
    assert osp.samefile(
        osp.join(root, '.mim', 'configs'), osp.join(REPO, 'configs'))
