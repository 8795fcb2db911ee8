"""OnlineMask2FormerVIS: clip training with the tracking loss, online
frame-by-frame tracking, and the checkpoint of the video pre-training."""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from conftest import REPO

CONFIG = osp.join(
    REPO, 'configs/online_vis/online-mask2former-mstm_tiny_1xb2-300it_'
    'synthetic-vis.py')
PRETRAIN_CONFIG = osp.join(
    REPO, 'configs/video_pretrain/mask2former-mstm_tiny_1xb2-300it_'
    'synthetic-pseudo-video.py')


@pytest.fixture(scope='module')
def cfg():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(CONFIG)


def _build(cfg, **overrides):
    from mmvis_pretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def _train_batch(cfg, root, model, seed=0):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.datasets[0].data_root = osp.join(root, 'coco') + '/'
    ds_cfg.datasets[1].data_root = osp.join(root, 'ytvis') + '/'
    dataset = DATASETS.build(ds_cfg)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # one pseudo-video and one real video clip
    data = pseudo_collate([dataset[0], dataset[len(dataset) - 1]])
    return model.data_preprocessor(data, training=True)


def _val_dataset(cfg, root):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    ds_cfg.data_root = osp.join(root, 'ytvis') + '/'
    return DATASETS.build(ds_cfg)


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_training_loss_decreases_and_reaches_all_parts(cfg, synthetic_root):
    model = _build(cfg)
    model.train()
    batch = _train_batch(cfg, synthetic_root, model)
    assert batch['inputs'].shape[:2] == (2, 5)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for step in range(8):
        losses = model.loss(batch['inputs'], batch['data_samples'])
        assert {'loss_track', 'loss_track_aux', 'loss_cls'} <= set(losses)
        loss = _total(losses)
        optim.zero_grad()
        loss.backward()
        if step == 0:
            for name, part in (('neck', model.neck),
                               ('embed', model.panoptic_head.embed_head)):
                assert any(p.grad is not None and p.grad.abs().sum() > 0
                           for p in part.parameters()), name
        optim.step()
        history.append(loss.item())
    assert all(math.isfinite(v) for v in history)
    assert min(history[-3:]) < history[0], history


def test_neck_windows_in_training(cfg):
    """A 5-frame clip is mixed by MSTM in windows [0, 3) and [3, 5)."""
    model = _build(cfg).eval()
    frames = torch.randn(2 * 5, 3, 64, 64)
    with torch.no_grad():
        out = model.extract_clip_feat(frames, clip_len=5)
        feats = model.backbone(frames)
        clips = [f.view(2, 5, *f.shape[1:]) for f in feats]
        for start, stop in ((0, 3), (3, 5)):
            window = tuple(c[:, start:stop].flatten(0, 1) for c in clips)
            ref = model.neck(window, num_frames=stop - start)
            for level, r in zip(out, ref):
                got = level.view(2, 5, *level.shape[1:])[:, start:stop]
                assert torch.allclose(got.flatten(0, 1), r, atol=1e-5)


def _track_video(model, dataset, video_idx=0):
    outs = []
    info = dataset.get_data_info(video_idx)
    for f in range(info['video_length']):
        data = pseudo_collate([dataset.prepare_data((video_idx, f))])
        outs.append(model.test_step(data)[0][0])
    return outs


def test_online_tracking_protocol(cfg, synthetic_root):
    model = _build(cfg, tracker=dict(type='MemoryBankTracker',
                                     det_score_thr=0.0, new_track_thr=0.0))
    model.eval()
    dataset = _val_dataset(cfg, synthetic_root)
    outs = _track_video(model, dataset)
    ids_seen = set()
    for t, frame in enumerate(outs):
        assert frame.frame_id == t
        pred = frame.pred_track_instances
        h, w = frame.ori_shape
        n = len(pred)
        assert pred.masks.shape == (n, h, w) and pred.masks.dtype == torch.bool
        assert pred.bboxes.shape == (n, 4)
        assert pred.labels.shape == pred.scores.shape == (n, )
        assert len(set(pred.instances_id.tolist())) == n  # unique per frame
        ids_seen.update(pred.instances_id.tolist())
    assert ids_seen, 'thresholds 0: the untrained model must output tracks'

    # the next video starts from a clean state (ids restart, window reset)
    second = _track_video(model, dataset, video_idx=1)
    again = _track_video(model, dataset, video_idx=1)
    for a, b in zip(second, again):
        assert torch.equal(a.pred_track_instances.instances_id,
                           b.pred_track_instances.instances_id)
        assert torch.equal(a.pred_track_instances.masks,
                           b.pred_track_instances.masks)


def test_ctvis_video_scoring_outputs(cfg, synthetic_root):
    """With video_scoring='ctvis' every track carries class_scores (M, K):
    softmax of its mean logits times its mask score (the mean mask
    probability inside its masks so far), and its score is their max."""
    model = _build(cfg, tracker=dict(type='MemoryBankTracker',
                                     video_scoring='ctvis',
                                     det_score_thr=0.0, new_track_thr=0.0))
    model.eval()
    dataset = _val_dataset(cfg, synthetic_root)
    outs = _track_video(model, dataset)
    num_classes = model.panoptic_head.num_classes
    seen = 0
    for frame in outs:
        pred = frame.pred_track_instances
        cs = pred.class_scores
        assert cs.shape == (len(pred), num_classes)
        if len(pred):
            seen += 1
            assert torch.allclose(pred.scores, cs.max(dim=1)[0])
            assert torch.equal(pred.labels, cs.argmax(dim=1))
            # a mask score is a mean probability above mask_thr: in (.5, 1]
            # (or 0 for a track whose masks are all empty so far)
            total = cs.sum(dim=1)
            assert bool(((total <= 1 + 1e-5) & (total >= 0)).all())
    assert seen
    # the model's default tracker uses CTVIS's rule
    from mmvis_pretrain.models.vis import OnlineMask2FormerVIS
    import inspect
    default = inspect.signature(OnlineMask2FormerVIS).parameters['tracker']
    assert default.default['video_scoring'] == 'ctvis'


def test_whole_video_sample_equals_frame_by_frame(cfg, synthetic_root):
    from mmdet.structures import TrackDataSample
    model = _build(cfg, tracker=dict(type='MemoryBankTracker',
                                     det_score_thr=0.0, new_track_thr=0.0))
    model.eval()
    dataset = _val_dataset(cfg, synthetic_root)
    online = _track_video(model, dataset)
    info = dataset.get_data_info(0)
    samples = [dataset.prepare_data((0, f))
               for f in range(info['video_length'])]
    inputs = torch.cat([s['inputs'] for s in samples])  # (L, C, H, W)
    frames = [s['data_samples'][0] for s in samples]
    data = dict(inputs=[inputs],
                data_samples=[TrackDataSample(video_data_samples=frames)])
    whole = model.test_step(data)[0]
    assert len(whole) == len(online)
    for a, b in zip(whole, online):
        assert torch.equal(a.pred_track_instances.instances_id,
                           b.pred_track_instances.instances_id)
        assert torch.equal(a.pred_track_instances.masks,
                           b.pred_track_instances.masks)


def test_image_inference_still_works(cfg, synthetic_root):
    from mmdet.structures import DetDataSample
    model = _build(cfg).eval()
    dataset = _val_dataset(cfg, synthetic_root)
    data = pseudo_collate([dataset.prepare_data((0, 0))])
    data = model.data_preprocessor(data, training=False)
    images = data['inputs'][:, 0]
    samples = [copy.deepcopy(data['data_samples'][0][0])]
    with torch.no_grad():
        preds = model.predict(images, samples)
    assert isinstance(preds[0], DetDataSample)
    assert preds[0].pred_instances.masks.shape[1:] == tuple(
        samples[0].ori_shape)


def test_rejects_batched_videos(cfg, synthetic_root):
    model = _build(cfg).eval()
    dataset = _val_dataset(cfg, synthetic_root)
    data = pseudo_collate([dataset.prepare_data((0, 0)),
                           dataset.prepare_data((1, 0))])
    with pytest.raises(ValueError, match='one video at a time'):
        model.test_step(data)


def test_video_pretrained_checkpoint_loads(cfg, tmp_path):
    """The pseudo-video pre-trained model's weights load into the online VIS
    model unchanged: everything but the new tracking embedding."""
    from mmengine.runner import load_checkpoint

    from mmvis_pretrain.registry import MODELS
    pre_cfg = Config.fromfile(PRETRAIN_CONFIG)
    torch.manual_seed(3)
    pretrained = MODELS.build(pre_cfg.model)
    ckpt = tmp_path / 'pretrain.pth'
    torch.save(dict(state_dict=pretrained.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('a', ) * 6))), ckpt)
    model = _build(cfg)
    load_checkpoint(model, str(ckpt), map_location='cpu', strict=False)
    target = model.state_dict()
    source = pretrained.state_dict()
    not_loaded = set(target) - set(source)
    assert {k.split('.')[1] for k in not_loaded} == {'embed_head'}
    for key, value in source.items():
        assert torch.equal(target[key], value), key
