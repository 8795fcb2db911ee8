"""Training with a class subset set in one place; mmdet's
NumClassCheckHook stops heads and data that disagree
(docs/class_set.md)."""
import pytest
from mmengine.config import Config

from conftest import as_cli, joint_vis_options, package_leaf
from tool_loader import load_tool

ONLINE = 'online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py'
SUBSET = ('person', 'dog', 'horse')  # of the synthetic set's 6 classes


def _leaf(tmp_path, body: str) -> str:
    return package_leaf(tmp_path, ONLINE, body)


@pytest.mark.slow
def test_subset_trains_and_validates(synthetic_root, tmp_path):
    runner = load_tool('tools/train.py').main(
        [_leaf(tmp_path, f'classes = {SUBSET!r}\n'), '--work-dir',
         str(tmp_path / 'wd'), '--cfg-options',
         *as_cli(joint_vis_options(synthetic_root))])
    assert runner.iter == 2
    assert runner.model.panoptic_head.num_classes == 3
    assert tuple(runner.train_dataloader.dataset.metainfo['classes']) \
        == SUBSET
    # the metric scores the subset only (VISMetric: the data set's classes)
    assert tuple(runner.val_evaluator.metrics[0].dataset_meta['classes']) \
        == SUBSET


@pytest.mark.slow
def test_num_class_check_hook_stops_a_mismatch(synthetic_root, tmp_path):
    """Without the class-set pass (a plain ``Config.fromfile`` handed to
    mmengine's Runner), mmdet's NumClassCheckHook of the runtime base stops
    heads and data that disagree before the first iteration."""
    import mmvis_pretrain  # noqa: F401
    from mmengine.runner import Runner
    cfg = Config.fromfile(_leaf(tmp_path, f'classes = {SUBSET!r}\n'))
    cfg.merge_from_dict(joint_vis_options(synthetic_root))
    for source in cfg.train_dataloader.dataset.datasets:
        source.metainfo = dict(classes=SUBSET)
    cfg.work_dir = str(tmp_path / 'wd')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(AssertionError, match=r'num_classes` \(6\)'):
        runner.train()
