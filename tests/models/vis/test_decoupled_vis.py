"""DecoupledVIS: segmenter exports, frozen stages, the checkpoint chain,
online and offline inference (any length, chunked), training of the tiny
stages, scoring by VISMetric."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from conftest import REPO
from vis_model_helpers import one_thread  # noqa: F401

TRACKER = osp.join(REPO,
                   'configs/dvis/dvis-tracker_tiny_1xb2-300it_synthetic-vis.py')
REFINER = osp.join(REPO,
                   'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')
SEGMENTER = osp.join(
    REPO, 'configs/dvis/dvis-segmenter_tiny_1xb2-300it_synthetic-vis.py')


def _cfg(path):
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(path)


@pytest.fixture(scope='module')
def tracker_cfg():
    return _cfg(TRACKER)


@pytest.fixture(scope='module')
def refiner_cfg():
    return _cfg(REFINER)


def _build(cfg, seed=0, **overrides):
    from mmvis_pretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(overrides)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def _train_batch(cfg, root, model, seed=0):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.datasets[0].data_root = osp.join(root, 'coco') + '/'
    ds_cfg.datasets[1].data_root = osp.join(root, 'ytvis') + '/'
    dataset = DATASETS.build(ds_cfg)
    np.random.seed(seed)
    torch.manual_seed(seed)
    import random
    random.seed(seed)
    data = pseudo_collate([dataset[0], dataset[len(dataset) - 1]])
    return model.data_preprocessor(data, training=True)


def _val_dataset(cfg, root):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    ds_cfg.data_root = osp.join(root, 'ytvis') + '/'
    return DATASETS.build(ds_cfg)


def _total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def _step(model, data, params, lr=1e-3):
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()
    losses = model(**copy.deepcopy(data), mode='loss')
    loss = _total(losses)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return losses, float(loss.detach())


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ------------------------------------------------------------- segmenter
def test_segmenter_export_does_not_change_its_results(tracker_cfg):
    model = _build(tracker_cfg).eval()
    head = model.panoptic_head
    from mmdet.structures import DetDataSample
    size = (64, 96)
    frames = [DetDataSample(metainfo=dict(img_shape=size, pad_shape=size,
                                          batch_input_shape=size))
              for _ in range(2)]
    torch.manual_seed(1)
    feats = model.backbone(torch.randn(2, 3, *size))
    with torch.no_grad():
        cls_list, mask_list, embeds = head.forward_with_embeds(feats, frames)
        out = head.forward_export(feats, frames)
    assert torch.equal(out['cls_logits'], cls_list[-1])
    assert torch.equal(out['mask_logits'], mask_list[-1])
    assert torch.equal(out['embeds'], embeds)
    # normed queries = decoder post-norm of the raw ones
    assert torch.allclose(out['queries_normed'],
                          head.transformer_decoder.post_norm(out['queries']))
    assert out['mask_features'].shape[:2] == (2, 32)
    assert out['queries'].shape == (2, 10, 32)
    assert head._last_raw_queries is None  # nothing stashed afterwards


# -------------------------------------------------------------- checks
def test_configuration_errors(tracker_cfg, refiner_cfg):
    with pytest.raises(ValueError, match='embed_dims=48'):
        _build(tracker_cfg, tracker=dict(tracker_cfg.model.tracker,
                                         embed_dims=48))
    with pytest.raises(ValueError, match='refiner=None'):
        _build(tracker_cfg, refiner=refiner_cfg.model.refiner)
    with pytest.raises(ValueError, match='set refiner'):
        _build(tracker_cfg, inference_mode='offline')
    with pytest.raises(ValueError, match='train_stage'):
        _build(tracker_cfg, train_stage=1)
    with pytest.raises(ValueError, match='refiner.mask_dims'):
        _build(refiner_cfg, refiner=dict(refiner_cfg.model.refiner,
                                         mask_dims=16))


# ------------------------------------------------------------- freezing
@pytest.mark.parametrize('stage', [2, 3])
def test_frozen_stages_unchanged_by_a_training_step(
        stage, tracker_cfg, refiner_cfg, synthetic_root):
    cfg = tracker_cfg if stage == 2 else refiner_cfg
    model = _build(cfg)
    frozen = ['backbone', 'panoptic_head'] + (['tracker']
                                              if stage == 3 else [])
    trained = 'tracker' if stage == 2 else 'refiner'
    assert model.frozen_modules == tuple(
        m for m in ('backbone', 'neck', 'panoptic_head', 'tracker')
        if m in frozen)
    model.train()
    for name in frozen:
        module = getattr(model, name)
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert getattr(model, trained).training
    before = {name: _state(getattr(model, name)) for name in frozen}
    before_trained = _state(getattr(model, trained))
    data = _train_batch(cfg, synthetic_root, model)
    params = [p for p in model.parameters() if p.requires_grad]
    losses, _ = _step(model, data, params)
    for name in frozen:  # parameters AND BN running statistics
        for key, value in _state(getattr(model, name)).items():
            assert torch.equal(value, before[name][key]), f'{name}.{key}'
    changed = [k for k, v in _state(getattr(model, trained)).items()
               if not torch.equal(v, before_trained[k])]
    assert changed
    expected = {'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls'}
    assert expected <= set(losses)
    assert ('loss_reid' in losses) == (stage == 2)


# ---------------------------------------------------- checkpoint chain
def test_each_stage_checkpoint_loads_into_the_next(tracker_cfg, refiner_cfg,
                                                   tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint
    from mmvis_pretrain.registry import MODELS
    seg_cfg = _cfg(SEGMENTER)
    torch.manual_seed(0)
    stage1 = MODELS.build(seg_cfg.model)
    stage2 = _build(tracker_cfg, seed=1)
    stage3 = _build(refiner_cfg, seed=2)
    path1, path2 = tmp_path / 's1.pth', tmp_path / 's2.pth'
    torch.save(dict(state_dict=stage1.state_dict()), path1)
    torch.save(dict(state_dict=stage2.state_dict()), path2)
    # what load_from does: non-strict load; the missing keys are exactly
    # the new stage's module, nothing is unexpected
    res = stage2.load_state_dict(torch.load(path1)['state_dict'],
                                 strict=False)
    assert res.missing_keys and all(
        k.startswith('tracker.') for k in res.missing_keys)
    assert set(res.missing_keys) == {
        k for k in stage2.state_dict() if k.startswith('tracker.')}
    assert res.unexpected_keys == []
    res = stage3.load_state_dict(torch.load(path2)['state_dict'],
                                 strict=False)
    assert set(res.missing_keys) == {
        k for k in stage3.state_dict() if k.startswith('refiner.')}
    assert res.unexpected_keys == []
    for key, value in torch.load(path2)['state_dict'].items():
        assert torch.equal(stage3.state_dict()[key], value), key
    # mmengine's loader (load_from) logs only those keys
    load_checkpoint(stage3, str(path2), strict=False)


# ------------------------------------------------------------ inference
def _video_sample(dataset, video=0):
    """The whole validation video as one collated sample."""
    return pseudo_collate([dataset[video]])


def _frames(sample):
    return sample[0].video_data_samples


def test_online_whole_video_equals_frame_by_frame(tracker_cfg,
                                                  synthetic_root):
    model = _build(tracker_cfg).eval()
    dataset = _val_dataset(tracker_cfg, synthetic_root)
    num = dataset.get_len_per_video(0)
    assert num > 5  # longer than the 5-frame training clips
    with torch.no_grad():
        whole = _frames(model.test_step(_video_sample(dataset)))
        for f in range(num):
            one = model.test_step(pseudo_collate([dataset[(0, f)]]))
            pred = _frames(one)[0].pred_track_instances
            ref = whole[f].pred_track_instances
            assert torch.equal(pred.masks, ref.masks)
            assert torch.allclose(pred.class_scores, ref.class_scores)
            assert pred.instances_id.tolist() == list(range(10))
    # the class scores are the running mean of the slots' logits
    last = whole[-1].pred_track_instances
    assert torch.allclose(last.class_scores.sum(-1),
                          1 - _no_object(model, num), atol=1e-5)


def _no_object(model, num):
    mean = model._logit_sum / num
    return mean.softmax(-1)[:, -1]


def test_offline_chunks_and_pieces(refiner_cfg, synthetic_root):
    model = _build(refiner_cfg, chunk_size=4).eval()
    dataset = _val_dataset(refiner_cfg, synthetic_root)
    sample = _video_sample(dataset)
    num = len(sample['data_samples'][0].video_data_samples)
    assert num > 8  # longer than the refiner's training clips
    with torch.no_grad():
        whole = _frames(model.test_step(copy.deepcopy(sample)))
    assert len(whole) == num
    rles = [f.pred_track_instances.masks for f in whole]
    assert all(len(r) == 10 and 'counts' in r[0] for r in rles)
    final = whole[0].pred_track_instances.class_scores
    # the same video fed in pieces of chunk_size frames (state carried):
    # identical masks; the last piece's class scores are the video's
    from mmdet.structures import TrackDataSample
    data = model.data_preprocessor(copy.deepcopy(sample), training=False)
    inputs, frames = data['inputs'], data['data_samples'][0]
    pieces = []
    with torch.no_grad():
        for start in range(0, num, 4):
            piece = TrackDataSample()
            piece.video_data_samples = [
                copy.deepcopy(f)
                for f in frames.video_data_samples[start:start + 4]]
            out = model.predict(inputs[:, start:start + 4], [piece])
            pieces += out[0].video_data_samples
    for a, b in zip(pieces, whole):
        assert a.pred_track_instances.masks == b.pred_track_instances.masks
    assert torch.allclose(pieces[-1].pred_track_instances.class_scores,
                          final, atol=1e-6)
    # a piece shorter than chunk_size in the middle of a video is refused
    piece = TrackDataSample()
    piece.video_data_samples = [copy.deepcopy(frames.video_data_samples[0])]
    with pytest.raises(ValueError, match='fewer than chunk_size'):
        model.predict(inputs[:, :1], [piece])


def test_offline_refiner_pooling_merges_exactly(refiner_cfg):
    refiner = _build(refiner_cfg).refiner.eval()
    torch.manual_seed(0)
    x = torch.randn(1, 9, 10, 64)
    whole = refiner.class_statistics(x)
    merged = refiner.merge_class_statistics(
        refiner.class_statistics(x[:, :4]), refiner.class_statistics(x[:, 4:]))
    assert torch.allclose(whole[0], merged[0], atol=1e-5)
    assert torch.allclose(whole[1], merged[1], atol=1e-5)


@pytest.mark.parametrize('mode', ['online', 'offline'])
def test_vis_metric_scores_both_modes(mode, refiner_cfg, synthetic_root):
    from mmvis_pretrain.registry import METRICS
    model = _build(refiner_cfg, inference_mode=mode, chunk_size=6).eval()
    dataset = _val_dataset(refiner_cfg, synthetic_root)
    ann = osp.join(synthetic_root, 'ytvis', 'valid.json')
    metric = METRICS.build(dict(type='mmvis_pretrain.VISMetric',
                                ann_file=ann, pairs_per_video=10))
    metric.dataset_meta = dataset.metainfo
    with torch.no_grad():
        for video in range(len(dataset)):
            out = model.test_step(_video_sample(dataset, video))
            metric.process(None, out)
    results = metric.evaluate(len(dataset))
    assert 0.0 <= results['vis/AP'] <= 1.0
    assert 0.0 <= results['vis/AR10'] <= 1.0


# ------------------------------------------------------------- training
@pytest.mark.parametrize('stage', [1, 2, 3])
def test_tiny_stage_trains_with_decreasing_loss(stage, tracker_cfg,
                                                refiner_cfg, synthetic_root):
    cfg = {1: _cfg(SEGMENTER), 2: tracker_cfg, 3: refiner_cfg}[stage]
    model = _build(cfg)
    data = _train_batch(cfg, synthetic_root, model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    model.train()
    values = []
    for _ in range(8):
        torch.manual_seed(0)  # same points / noise every step
        losses = model(**copy.deepcopy(data), mode='loss')
        loss = _total(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(float(loss))
    assert all(np.isfinite(values))
    assert values[-1] < 0.8 * values[0], values


def test_dvis_variant_reads_the_normed_queries(tracker_cfg, synthetic_root):
    """The original DVIS variant: 32-d normed queries (no re-id half), no
    reference projection, no denoising, no re-id loss."""
    tracker = dict(tracker_cfg.model.tracker, embed_dims=32, variant='dvis',
                   noise_ratio=0., loss_reid=None)
    model = _build(tracker_cfg, tracker=tracker)
    data = _train_batch(tracker_cfg, synthetic_root, model)
    params = [p for p in model.parameters() if p.requires_grad]
    losses, value = _step(model, data, params)
    assert 'loss_reid' not in losses and np.isfinite(value)
    model.eval()
    dataset = _val_dataset(tracker_cfg, synthetic_root)
    with torch.no_grad():
        out = model.test_step(pseudo_collate([dataset[(0, 0)]]))
    pred = out[0].video_data_samples[0].pred_track_instances
    assert pred.class_scores.shape == (10, 6)


@pytest.mark.parametrize('stage', [2, 3])
def test_training_step_under_bf16_autocast(stage, tracker_cfg, refiner_cfg,
                                           synthetic_root):
    """The R50 configs train with AMP: matching and losses must survive
    half precision (scipy needs float32 costs)."""
    cfg = tracker_cfg if stage == 2 else refiner_cfg
    model = _build(cfg)
    data = _train_batch(cfg, synthetic_root, model)
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**copy.deepcopy(data), mode='loss')
    total = _total(losses)
    assert torch.isfinite(total.float())
    total.backward()


def test_more_configuration_errors(tracker_cfg, refiner_cfg):
    with pytest.raises(ValueError, match='inference_mode must be one of'):
        _build(tracker_cfg, inference_mode='batch')
    with pytest.raises(ValueError, match='offline_score must be one of'):
        _build(refiner_cfg, offline_score='mean')
    with pytest.raises(ValueError, match='chunk_size must be >= 1'):
        _build(refiner_cfg, chunk_size=0)
    with pytest.raises(ValueError, match='train_stage=3 trains the refiner'):
        _build(tracker_cfg, train_stage=3)
    from mmvis_pretrain.registry import MODELS
    model_cfg = copy.deepcopy(tracker_cfg.model)
    model_cfg['tracker'] = dict(type='MemoryBankTracker')  # replaced
    with pytest.raises(TypeError, match='tracker must be a ReferringTracker'):
        MODELS.build(model_cfg)
    with pytest.raises(ValueError, match='tracker.num_classes=5'):
        _build(tracker_cfg, tracker=dict(tracker_cfg.model.tracker,
                                         num_classes=5))


def test_offline_refuses_non_consecutive_frames(refiner_cfg, synthetic_root):
    from mmdet.structures import TrackDataSample
    model = _build(refiner_cfg, chunk_size=2).eval()
    dataset = _val_dataset(refiner_cfg, synthetic_root)
    data = model.data_preprocessor(_video_sample(dataset), training=False)
    frames = data['data_samples'][0].video_data_samples
    piece = TrackDataSample()
    piece.video_data_samples = [frames[0], frames[2]]
    with pytest.raises(ValueError, match='frames must be consecutive'):
        model.predict(data['inputs'][:, [0, 2]], [piece])


def test_training_clips_need_instance_ids(tracker_cfg, synthetic_root):
    model = _build(tracker_cfg)
    data = _train_batch(tracker_cfg, synthetic_root, model)
    frame = data['data_samples'][0].video_data_samples[0]
    del frame.gt_instances.instances_ids
    with pytest.raises(KeyError, match='lack `instances_ids`'):
        model(**data, mode='loss')
