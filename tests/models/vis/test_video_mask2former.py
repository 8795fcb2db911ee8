"""VideoMask2Former: Mask2Former + MSTM trained on pseudo-video clips, image
inference by replication (paper sec. 3.2, appendix A.2)."""
import copy
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from conftest import REPO, as_cli

CONFIG = osp.join(
    REPO, 'configs/video_pretrain/'
    'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')


@pytest.fixture(scope='module')
def cfg():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(CONFIG)


def _build(cfg, num_frames=3):
    from mmvis_pretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.num_frames = num_frames
    model_cfg.neck.num_frames = num_frames
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def _dataset(cfg, root, loader):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg[loader].dataset)
    ds_cfg.data_root = osp.join(root, 'coco') + '/'
    return DATASETS.build(ds_cfg)


def _train_batch(cfg, root, model, n=2):
    import numpy as np
    np.random.seed(0)
    torch.manual_seed(0)
    dataset = _dataset(cfg, root, 'train_dataloader')
    data = pseudo_collate([dataset[i] for i in range(n)])
    return model.data_preprocessor(data, training=True)


def _val_batch(cfg, root, model, n=2):
    dataset = _dataset(cfg, root, 'val_dataloader')
    data = pseudo_collate([dataset[i] for i in range(n)])
    return model.data_preprocessor(data, training=False)


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_loss_on_clips(cfg, synthetic_root):
    model = _build(cfg)
    batch = _train_batch(cfg, synthetic_root, model)
    assert batch['inputs'].shape[:2] == (2, 3)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    for key in ('loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls',
                'd0.loss_mask', 'd0.loss_dice', 'd1.loss_dice'):
        assert key in losses, key
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    _total(losses).backward()
    # gradients reach the temporal neck
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.neck.parameters())


def test_loss_decreases_on_a_fixed_batch(cfg, synthetic_root):
    model = _build(cfg)
    model.train()
    batch = _train_batch(cfg, synthetic_root, model)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for _ in range(10):
        loss = _total(model.loss(batch['inputs'], batch['data_samples']))
        optim.zero_grad()
        loss.backward()
        optim.step()
        history.append(loss.item())
    assert all(math.isfinite(v) for v in history)
    assert min(history[-3:]) < history[0], history


def test_image_inference_by_replication(cfg, synthetic_root):
    from mmdet.structures import DetDataSample, TrackDataSample
    model = _build(cfg).eval()
    batch = _val_batch(cfg, synthetic_root, model)
    inputs, samples = batch['inputs'], batch['data_samples']
    assert inputs.shape[:2] == (2, 1)
    with torch.no_grad():
        preds = model.predict(inputs, copy.deepcopy(samples))
    assert len(preds) == 2
    for pred, clip in zip(preds, samples):
        assert isinstance(pred, DetDataSample)
        h, w = clip[0].ori_shape
        masks = pred.pred_instances.masks
        assert masks.shape[1:] == (h, w)
        n = len(pred.pred_instances)
        assert pred.pred_instances.labels.shape == (n, )
        assert pred.pred_instances.scores.shape == (n, )
        assert pred.pred_instances.bboxes.shape == (n, 4)
        assert pred.img_id == clip[0].img_id

    # the explicitly replicated 3-frame clip: same prediction (last frame)
    clips = inputs.expand(-1, 3, -1, -1, -1).contiguous()
    replicated = []
    for clip in samples:
        frames = [copy.deepcopy(clip[0]) for _ in range(3)]
        replicated.append(TrackDataSample(video_data_samples=frames))
    with torch.no_grad():
        preds3 = model.predict(clips, replicated)
    for a, b in zip(preds, preds3):
        assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
        assert torch.allclose(a.pred_instances.scores, b.pred_instances.scores)
        assert torch.equal(a.pred_instances.labels, b.pred_instances.labels)

    # plain images (N, C, H, W) with DetDataSamples: the same again
    with torch.no_grad():
        preds_img = model.predict(inputs[:, 0],
                                  [copy.deepcopy(s[0]) for s in samples])
    for a, b in zip(preds, preds_img):
        assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)


def test_single_frame_model(cfg, synthetic_root):
    from mmdet.structures import TrackDataSample
    model = _build(cfg, num_frames=1)
    assert model.num_frames == 1 and model.neck.num_frames == 1
    batch = _train_batch(cfg, synthetic_root, model)
    inputs = batch['inputs'][:, :1].contiguous()
    samples = [TrackDataSample(video_data_samples=[s[0]])
               for s in batch['data_samples']]
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v).all() for v in losses.values())
    model.eval()
    val = _val_batch(cfg, synthetic_root, model)
    with torch.no_grad():
        preds = model.predict(val['inputs'], val['data_samples'])
    assert len(preds) == 2 and 'pred_instances' in preds[0]


def test_rejects_bad_num_frames(cfg):
    with pytest.raises(ValueError):
        _build(cfg, num_frames=0)


def _tool_loader():
    """``tests/tools/tool_loader.py`` (not on the path of this folder)."""
    import importlib.util
    path = osp.join(REPO, 'tests', 'tools', 'tool_loader.py')
    spec = importlib.util.spec_from_file_location('_vm2f_tool_loader', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_train_and_test_tools(synthetic_root, tmp_path):
    load_tool = _tool_loader().load_tool
    train_tool = load_tool('tools/train.py')
    test_tool = load_tool('tools/test.py')
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
        'randomness.seed': 0,
    })
    work_dir = tmp_path / 'wd'
    runner = train_tool.main([CONFIG, '--work-dir', str(work_dir),
                              '--cfg-options', *opts])
    assert runner.iter == 1
    assert (work_dir / 'iter_1.pth').exists()
    metrics = test_tool.main([CONFIG, str(work_dir / 'iter_1.pth'),
                              '--work-dir', str(work_dir),
                              '--cfg-options', *opts])
    assert 0.0 <= metrics['coco/segm_mAP'] <= 1.0


def test_video_inference_sliding_window(cfg, synthetic_root):
    """predict_video: frame t is predicted from the window of its last T
    frames, exactly what predict() gives for the last frame of the video
    cut at t (the first frame repeated in front for t < T - 1)."""
    from mmdet.structures import TrackDataSample
    model = _build(cfg).eval()
    batch = _train_batch(cfg, synthetic_root, model, n=1)
    clip, sample = batch['inputs'][0], batch['data_samples'][0]
    # a 5-frame video from the 3-frame clip
    order = [0, 1, 2, 1, 0]
    video = clip[order].clone()
    video[3] += 5.0  # frame 3 differs from frame 1
    frames = [copy.deepcopy(sample[i]) for i in order]
    with torch.no_grad():
        out = model.predict_video(
            video, TrackDataSample(video_data_samples=copy.deepcopy(frames)))
    assert len(out) == 5
    for t in range(5):
        with torch.no_grad():
            ref = model.predict(
                video[None, :t + 1],
                [TrackDataSample(
                    video_data_samples=copy.deepcopy(frames[:t + 1]))])[0]
        got = out[t].pred_instances
        assert got.masks.shape == ref.pred_instances.masks.shape
        assert torch.equal(got.labels, ref.pred_instances.labels)
        assert torch.allclose(got.scores, ref.pred_instances.scores,
                              atol=1e-5)
        differing = (got.masks != ref.pred_instances.masks).float().mean()
        assert differing < 1e-3
    # frame 3 is frame 1 brightened, seen after other frames: it differs
    assert not torch.allclose(out[1].pred_instances.scores,
                              out[3].pred_instances.scores)
    with pytest.raises(ValueError, match='frame samples'):
        model.predict_video(video[:2], TrackDataSample(
            video_data_samples=copy.deepcopy(frames)))
