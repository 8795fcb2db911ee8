"""tools/train.py and tools/test.py on the tiny VIS config: training,
validation, checkpoints, load_from / resume with ``weights_only=True``."""
import glob
import json
import os.path as osp
import pickle

import pytest
import torch
from mmengine.runner import Runner

from conftest import TINY_VIS_CONFIG, as_cli, tiny_vis_options
from tool_loader import load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')


def _train(root, work_dir, max_iters, *extra):
    argv = [TINY_VIS_CONFIG, '--work-dir', str(work_dir), *extra,
            '--cfg-options', *as_cli(tiny_vis_options(root, max_iters))]
    return train_tool.main(argv)


def _logged_iters(work_dir):
    """Training iterations logged by each run, oldest run first."""
    runs = []
    for path in sorted(glob.glob(osp.join(work_dir, '*/vis_data/scalars.json'))):
        with open(path) as f:
            rows = [json.loads(line) for line in f]
        runs.append([r['iter'] for r in rows if 'loss' in r])
    return runs


@pytest.mark.slow
def test_train_validate_test_resume(synthetic_root, tmp_path):
    work_dir = tmp_path / 'wd'
    runner = _train(synthetic_root, work_dir, 2)
    assert runner.iter == 2
    ckpt = work_dir / 'iter_2.pth'
    assert ckpt.exists()
    # validation ran at the end with the YouTube-VIS metric (mmdet ytviseval
    # under numpy 2, through stack_compat)
    scalars = open(glob.glob(str(work_dir / '*/vis_data/scalars.json'))[0]).read()
    assert 'youtube_vis/segm_mAP' in scalars

    # resume: continues at iteration 3 with optimizer + message hub restored
    runner = _train(synthetic_root, work_dir, 4, '--resume')
    assert runner.iter == 4
    first, second = _logged_iters(str(work_dir))
    assert first == [1, 2] and second == [3, 4]
    state = torch.load(work_dir / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4
    assert 'optimizer' in state and 'message_hub' in state

    # test.py: metrics, prediction dump, painted frames
    out = tmp_path / 'preds.pkl'
    metrics = test_tool.main([
        TINY_VIS_CONFIG, str(work_dir / 'iter_4.pth'), '--work-dir',
        str(work_dir), '--out', str(out), '--show-dir', 'painted',
        '--cfg-options', *as_cli(tiny_vis_options(synthetic_root))])
    assert 0.0 <= metrics['youtube_vis/segm_mAP'] <= 1.0
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 2  # two validation videos
    # issue 14: one MP4 per test video (named after its folder), every frame
    renders = sorted(glob.glob(str(work_dir / '*/painted/*.mp4')))
    assert len(renders) == 2, renders  # two validation videos
    import cv2
    for render in renders:
        video = osp.splitext(osp.basename(render))[0]
        frames = glob.glob(osp.join(synthetic_root, 'ytvis', 'valid',
                                    'JPEGImages', video, '*'))
        capture = cv2.VideoCapture(render)
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames) > 1
        capture.release()
    assert not glob.glob(str(work_dir / '*/painted/.*'))  # no partial file


@pytest.mark.slow
def test_load_from_restores_weights(synthetic_root, tmp_path):
    work_dir = tmp_path / 'src'
    _train(synthetic_root, work_dir, 1)
    ckpt = str(work_dir / 'iter_1.pth')
    saved = torch.load(ckpt, weights_only=True)['state_dict']

    args = train_tool.parse_args([
        TINY_VIS_CONFIG, '--work-dir', str(tmp_path / 'dst'), '--cfg-options',
        *as_cli(tiny_vis_options(synthetic_root, 1)), f'load_from={ckpt}'])
    cfg = train_tool.build_cfg(args)
    runner = Runner.from_cfg(cfg)
    fresh = {k: v.clone() for k, v in runner.model.state_dict().items()}
    assert any(not torch.equal(v, saved[k]) for k, v in fresh.items())
    runner.load_or_resume()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_cli_overrides_and_device_adaptation(tmp_path):
    args = train_tool.parse_args([
        TINY_VIS_CONFIG, '--work-dir', str(tmp_path), '--resume', 'x.pth',
        '--cfg-options', 'train_cfg.max_iters=7'])
    with pytest.warns(UserWarning) if not torch.cuda.is_available() else \
            _nullcontext():
        args.amp = True
        cfg = train_tool.build_cfg(args)
    assert cfg.work_dir == str(tmp_path)
    assert cfg.train_cfg.max_iters == 7
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    if torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    else:
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_test_tool_rejects_bad_out(tmp_path):
    with pytest.raises(SystemExit):
        test_tool.parse_args([TINY_VIS_CONFIG, 'c.pth', '--out', 'x.json'])


class _nullcontext:

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


TINY_COCO_CONFIG = TINY_VIS_CONFIG.replace(
    'mask2former_vis/mask2former_tiny_1xb2-300it_synthetic-vis.py',
    'mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py')


@pytest.mark.slow
def test_image_model_train_and_test(synthetic_root, tmp_path):
    """The image branch: CocoMetric and mmdet's DumpDetResults for --out."""
    coco = osp.join(synthetic_root, 'coco') + '/'
    val_json = coco + 'annotations/instances_val.json'
    opts = as_cli({
        'train_dataloader.dataset.data_root': coco,
        'val_dataloader.dataset.data_root': coco,
        'test_dataloader.dataset.data_root': coco,
        'val_evaluator.ann_file': val_json,
        'test_evaluator.ann_file': val_json,
        'train_cfg.max_iters': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.checkpoint.interval': 1,
    })
    work_dir = tmp_path / 'img'
    train_tool.main([TINY_COCO_CONFIG, '--work-dir', str(work_dir),
                     '--cfg-options', *opts])
    out = tmp_path / 'img_preds.pkl'
    metrics = test_tool.main([TINY_COCO_CONFIG, str(work_dir / 'iter_1.pth'),
                              '--work-dir', str(work_dir), '--out', str(out),
                              '--cfg-options', *opts])
    assert 'coco/segm_mAP' in metrics
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 4  # validation images
    assert 'pred_instances' in preds[0]
    assert 'masks' not in preds[0].get('gt_instances', {})
