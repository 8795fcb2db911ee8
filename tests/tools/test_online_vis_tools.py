"""The online VIS fine-tuning through the tools: tools/train.py from a
pseudo-video pre-trained checkpoint, validation with VISMetric, resume,
tools/test.py metrics and the submission archive."""
import glob
import json
import os.path as osp
import zipfile

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, as_cli
from tool_loader import load_tool

CONFIG = osp.join(
    REPO, 'configs/online_vis/online-mask2former-mstm_tiny_1xb2-300it_'
    'synthetic-vis.py')
PRETRAIN_CONFIG = osp.join(
    REPO, 'configs/video_pretrain/mask2former-mstm_tiny_1xb2-300it_'
    'synthetic-pseudo-video.py')

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')


def _options(root, max_iters, **extra):
    coco = osp.join(root, 'coco') + '/'
    ytvis = osp.join(root, 'ytvis') + '/'
    opts = {
        'train_dataloader.dataset.datasets.0.data_root': coco,
        'train_dataloader.dataset.datasets.1.data_root': ytvis,
        'val_dataloader.dataset.data_root': ytvis,
        'test_dataloader.dataset.data_root': ytvis,
        'val_evaluator.ann_file': ytvis + 'valid.json',
        'test_evaluator.ann_file': ytvis + 'valid.json',
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        'param_scheduler.milestones': [max_iters],
        'param_scheduler.end': max_iters,
        'randomness.seed': 0,
    }
    opts.update(extra)
    return as_cli(opts)


@pytest.fixture(scope='module')
def pretrained_ckpt(tmp_path_factory):
    """A checkpoint of the tiny pseudo-video pre-training model."""
    from mmvis_pretrain.registry import MODELS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(5)
    model = MODELS.build(Config.fromfile(PRETRAIN_CONFIG).model)
    path = tmp_path_factory.mktemp('pre') / 'video_pretrain.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path), model.state_dict()


@pytest.mark.slow
def test_finetune_validate_resume_test_submit(synthetic_root, tmp_path,
                                              pretrained_ckpt):
    ckpt, pre_state = pretrained_ckpt
    work_dir = tmp_path / 'wd'
    runner = train_tool.main([
        CONFIG, '--work-dir', str(work_dir), '--cfg-options',
        *_options(synthetic_root, 2), f'load_from={ckpt}'])
    assert runner.iter == 2
    # it started from the pre-trained weights: 2 AdamW steps of lr 1e-3
    # move a weight by ~2e-3 at most, a fresh initialisation by far more
    now = runner.model.state_dict()
    moved = [(now[k].cpu() - v).abs().max().item()
             for k, v in pre_state.items()
             if k.startswith(('neck.', 'backbone.conv1')) and v.is_floating_point()
             and 'running' not in k]
    assert moved and max(moved) < 0.01, max(moved)
    scalars = glob.glob(str(work_dir / '*/vis_data/scalars.json'))
    text = open(scalars[0]).read()
    assert 'loss_track' in text and '"vis/AP"' in text

    # resume continues at iteration 3
    runner = train_tool.main([
        CONFIG, '--work-dir', str(work_dir), '--resume', '--cfg-options',
        *_options(synthetic_root, 4)])
    assert runner.iter == 4
    state = torch.load(work_dir / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4 and 'optimizer' in state

    metrics = test_tool.main([
        CONFIG, str(work_dir / 'iter_4.pth'), '--work-dir', str(work_dir),
        '--cfg-options', *_options(synthetic_root, 4)])
    for key in ('AP', 'AP50', 'AP75', 'AR1', 'AR10', 'AR100'):
        assert -1.0 <= metrics[f'vis/{key}'] <= 1.0, key

    # the submission archive for the official server
    out = tmp_path / 'submission'
    test_tool.main([
        CONFIG, str(work_dir / 'iter_4.pth'), '--work-dir', str(work_dir),
        '--submission', str(out), '--topk', '3', '--cfg-options',
        *_options(synthetic_root, 4)])
    with zipfile.ZipFile(out / 'submission.zip') as archive:
        assert archive.namelist() == ['results.json']
        results = json.loads(archive.read('results.json'))
    gt = json.load(open(osp.join(synthetic_root, 'ytvis', 'valid.json')))
    videos = {v['id']: v for v in gt['videos']}
    per_video = {}
    for r in results:
        video = videos[r['video_id']]
        assert len(r['segmentations']) == video['length']
        for seg in r['segmentations']:
            if seg is not None:
                assert isinstance(seg['counts'], str)
                assert seg['size'] == [video['height'], video['width']]
        per_video[r['video_id']] = per_video.get(r['video_id'], 0) + 1
    assert all(n <= 3 for n in per_video.values())
    # tools/test.py checked what it wrote; a broken archive fails the check
    cfg = Config(dict(test_evaluator=dict(type='VISMetric', ann_file=None),
                      test_dataloader=dict(dataset=dict(
                          data_root=osp.join(synthetic_root, 'ytvis'),
                          ann_file='valid.json'))))
    test_tool.check_written_submission(cfg, str(out))
    with zipfile.ZipFile(out / 'submission.zip', 'w') as archive:
        archive.writestr('results.json', json.dumps(results[:1] + [
            dict(results[0], segmentations=results[0]['segmentations'][1:])
        ]))
    with pytest.raises(SystemExit, match='would fail on the server: 1 '):
        test_tool.check_written_submission(cfg, str(out))


def test_submission_needs_a_vis_metric(tmp_path):
    cfg = Config(dict(test_evaluator=dict(type='CocoMetric')))
    with pytest.raises(SystemExit, match='VISMetric'):
        test_tool.set_submission(cfg, str(tmp_path))
    cfg = Config(dict(test_evaluator=dict(type='VISMetric', ann_file='x')))
    test_tool.set_submission(cfg, str(tmp_path / 's'), topk=5)
    assert cfg.test_evaluator.format_only is True
    assert cfg.test_evaluator.topk_per_video == 5
    with pytest.raises(SystemExit):
        test_tool.parse_args(['c.py', 'k.pth', '--topk', '3'])
