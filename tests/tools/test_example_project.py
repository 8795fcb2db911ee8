"""A config outside the package inherits ``mmvis_pretrain::...`` (mmengine's
package scope), builds and trains 2 iterations; the example project."""
import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from conftest import REPO, as_cli, joint_vis_options
from tool_loader import load_tool

EXAMPLE = osp.join(REPO, 'projects', 'example_project', 'configs',
                   'online-vis-8q_tiny_1xb2-300it_synthetic-vis.py')


def test_scope_resolves_from_any_directory(tmp_path):
    import mmvis_pretrain  # noqa: F401  (registers the scope)
    cfg_file = tmp_path / 'elsewhere' / 'exp.py'
    cfg_file.parent.mkdir()
    shutil.copy(EXAMPLE, cfg_file)
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.type == 'OnlineMask2FormerVIS'
    assert cfg.model.panoptic_head.num_queries == 8
    assert cfg.model.panoptic_head.num_things_classes == 6  # inherited
    assert cfg.param_scheduler.milestones == [200]
    assert len(open(EXAMPLE).read().splitlines()) < 30


@pytest.mark.slow
def test_example_config_trains_two_iterations(synthetic_root, tmp_path):
    cfg_file = tmp_path / 'exp.py'
    shutil.copy(EXAMPLE, cfg_file)
    opts = joint_vis_options(synthetic_root, 2)
    runner = load_tool('tools/train.py').main(
        [str(cfg_file), '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
         *as_cli(opts)])
    assert runner.iter == 2
    assert runner.model.panoptic_head.num_queries == 8
