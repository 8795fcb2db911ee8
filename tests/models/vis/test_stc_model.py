"""STC end to end on the synthetic videos: trains on frame pairs with a
decreasing loss, predicts tracks online frame by frame (the package's
protocol, evaluated by VISMetric), associates identical frames to the same
tracks, and the mask consistency option averages with the previous filter's
mask."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from conftest import REPO, tiny_vis_options
from vis_model_helpers import one_thread  # noqa: F401  (autouse fixture)
from vis_model_helpers import (build_model, load_cfg, train_pairs,
                               video_frames)

CONFIG = osp.join(REPO, 'configs/stc/stc_tiny_1xb2-300it_synthetic-vis.py')
TRAIN_ITERS = 40
NUM_CLASSES = 6


@pytest.fixture(scope='module')
def cfg():
    return load_cfg(CONFIG)


def _keep_everything(model):
    """Thresholds at 0 so that a barely trained model still outputs
    tracks (the checks are about the output format, not accuracy)."""
    model.bbox_head.test_cfg.score_thr = 0.
    model.tracker.det_score_thr = 0.
    model.tracker.new_track_thr = 0.


def _check_frame(frame, t):
    assert frame.frame_id == t
    pred = frame.pred_track_instances
    m = len(pred)
    assert pred.masks.dtype == torch.bool
    assert pred.masks.shape == (m, *frame.ori_shape)
    assert pred.bboxes.shape == (m, 4)
    assert pred.labels.shape == (m, ) and pred.scores.shape == (m, )
    assert pred.labels.dtype == torch.long
    assert pred.instances_id.dtype == torch.long
    assert ((pred.labels >= 0) & (pred.labels < NUM_CLASSES)).all()
    assert ((pred.scores > 0) & (pred.scores <= 1)).all()
    # boxes at the original size
    h, w = frame.ori_shape
    assert (pred.bboxes[:, 2] <= w + 1e-3).all()
    assert (pred.bboxes[:, 3] <= h + 1e-3).all()
    ids = pred.instances_id.tolist()
    assert len(set(ids)) == m  # one mask per track and frame
    return ids


@pytest.mark.slow
def test_trains_with_decreasing_loss_and_predicts_tracks(
        cfg, synthetic_root, tmp_path):
    from mmengine.runner import Runner
    run_cfg = copy.deepcopy(cfg)
    valid_json = osp.join(synthetic_root, 'ytvis', 'valid.json')
    run_cfg.merge_from_dict(
        tiny_vis_options(
            synthetic_root,
            max_iters=TRAIN_ITERS,
            **{
                'val_evaluator.ann_file': valid_json,
                'test_evaluator.ann_file': valid_json
            }))
    run_cfg.work_dir = str(tmp_path / 'work_dir')
    runner = Runner.from_cfg(run_cfg)
    runner.train()

    hub = runner.message_hub
    total = np.array(hub.get_scalar('train/loss').data[0], dtype=float)
    assert len(total) == TRAIN_ITERS and np.isfinite(total).all()
    third = TRAIN_ITERS // 3
    assert total[-third:].mean() < 0.9 * total[:third].mean(), total
    for key in ('loss_cls', 'loss_mask', 'loss_track'):
        values = np.array(hub.get_scalar(f'train/{key}').data[0], dtype=float)
        assert values[-third:].mean() < values[:third].mean(), (key, values)
    for key in ('loss_bbox', 'loss_centerness', 'loss_track_aux'):
        assert np.isfinite(hub.get_scalar(f'train/{key}').data[0]).all()
    # the online validation (TrackImgSampler) ran through VISMetric
    assert {'val/vis/AP', 'val/vis/AR10'} <= set(hub.log_scalars)

    # online prediction of a validation video, frame by frame
    model = runner.model.eval()
    _keep_everything(model)
    seen_ids, appearances = {}, 0
    with torch.no_grad():
        for t, batch in enumerate(video_frames(cfg, synthetic_root)):
            assert batch['inputs'][0].shape[0] == 1  # one frame
            frame = model.test_step(batch)[0][0]
            ids = _check_frame(frame, t)
            appearances += len(ids)
            for i in ids:
                seen_ids.setdefault(i, t)
    assert seen_ids, 'no track predicted on the validation video'
    # the trained embeddings associate: tracks continue across frames
    assert len(seen_ids) < appearances / 2, (len(seen_ids), appearances)
    # ids are handed out from 0 in order of appearance
    assert sorted(seen_ids) == list(range(len(seen_ids)))
    first_frames = [seen_ids[i] for i in sorted(seen_ids)]
    assert first_frames == sorted(first_frames)


def test_losses_gradients_and_raw_outputs(cfg, synthetic_root):
    model = build_model(cfg)
    batch = train_pairs(cfg, synthetic_root, model)
    inputs, samples = batch['inputs'], batch['data_samples']
    assert inputs.shape[:2] == (2, 2)
    losses = model.loss(inputs, samples)
    assert set(losses) == {
        'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask',
        'loss_track', 'loss_track_aux'
    }
    # both clips share an instance between their frames: anchors exist
    assert losses['loss_track'] > 0
    sum(losses.values()).backward()
    head = model.track_head
    assert head.conv_embed.weight.grad.abs().sum() > 0
    assert head.tower[0].conv.weight.grad.abs().sum() > 0
    assert model.bbox_head.controller.weight.grad.abs().sum() > 0
    # the contrastive loss also trains the shared FPN
    track_only = build_model(cfg)
    track_only.track_head.loss(
        track_only.extract_feat(inputs.flatten(0, 1)),
        _positive_infos(track_only, inputs, samples),
        [s[t].gt_instances for s in samples for t in range(2)],
        [s[t].metainfo for s in samples for t in range(2)],
        2)['loss_track'].backward()
    assert track_only.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0

    # tensor mode: box head outputs, mask features, embeddings of 4 frames
    with torch.no_grad():
        outs = model._forward(inputs)
    cls_scores, mask_feats, embeds = outs[0], outs[4], outs[5]
    assert len(cls_scores) == 5 and cls_scores[0].shape[:2] == (4, 6)
    assert mask_feats.shape[:2] == (4, 8)
    assert [e.shape[:2] for e in embeds] == [(4, 32)] * 5
    assert [e.shape[-2:] for e in embeds] == [c.shape[-2:] for c in cls_scores]

    # one-frame clips train the frame losses only
    single = model.loss(inputs[:, :1], [_first(s) for s in samples])
    assert single['loss_track'].item() == 0
    with pytest.raises(ValueError, match=r'\(N, T, C, H, W\)'):
        model.loss(inputs[0], samples)


def _first(sample):
    """A ``TrackDataSample`` holding only the first frame of ``sample``."""
    from mmdet.structures import TrackDataSample
    out = TrackDataSample()
    out.video_data_samples = [sample[0]]
    return out


def _positive_infos(model, inputs, samples):
    x = model.extract_feat(inputs.flatten(0, 1))
    frames = [s[t] for s in samples for t in range(inputs.shape[1])]
    model.bbox_head.loss(x, frames)
    return model.bbox_head.get_positive_infos()


def test_identical_frames_keep_their_track_ids(cfg, synthetic_root):
    """A frame shown twice gives identical detections: with the cosine
    metric every detection matches its own track, so the second frame
    repeats the first frame's ids; frame 0 again restarts the ids."""
    model = build_model(cfg, tracker=dict(match_metric='cosine'))
    model.eval()
    _keep_everything(model)
    batch = next(video_frames(cfg, synthetic_root))
    data = model.data_preprocessor(batch, training=False)
    img = data['inputs'][:, 0]
    meta = dict(data['data_samples'][0][0].metainfo)
    with torch.no_grad():
        first = model.track_frame(img, dict(meta, frame_id=0))
        second = model.track_frame(img, dict(meta, frame_id=1))
        again = model.track_frame(img, dict(meta, frame_id=0))
    assert len(first) > 0
    assert first.instances_id.tolist() == list(range(len(first)))
    for res in (second, again):
        assert torch.equal(res.instances_id, first.instances_id)
        assert torch.equal(res.masks, first.masks)
        assert torch.allclose(res.scores, first.scores)
        assert torch.equal(res.labels, first.labels)
    # one stored dynamic filter per live track
    assert sorted(model._track_params) == sorted(model.tracker.track_ids)
    # the masks are at ori_shape, the boxes rescaled to it
    assert first.masks.shape[1:] == tuple(meta['ori_shape'])
    scale_x = meta['scale_factor'][0]
    assert first.bboxes[:, 2].max() <= meta['img_shape'][1] / scale_x + 1e-3


def test_mask_consistency_averages_with_the_previous_filter(cfg):
    model = build_model(cfg, mask_consistency=0.25)
    mask_feat = torch.randn(8, 6, 5)
    probs = torch.rand(3, 12, 10)
    kept = InstanceData(
        points=torch.tensor([[4., 4.], [12., 20.], [28., 36.]]),
        strides=torch.tensor([8., 8., 8.]))
    num_params = model.bbox_head.num_params
    # track 7 continues with an all-zero filter (logits 0 -> p 0.5);
    # tracks 3 and 9 are new / without a stored filter
    model._track_params = {7: torch.zeros(num_params), 5: torch.ones(1)}
    fused = model._consistent_masks(probs, kept, [3, 7, 9], mask_feat)
    assert torch.equal(fused[[0, 2]], probs[[0, 2]])
    assert torch.allclose(fused[1], 0.75 * probs[1] + 0.25 * 0.5)
    # nothing to average: unchanged
    model._track_params = {}
    assert torch.equal(
        model._consistent_masks(probs, kept, [3, 7, 9], mask_feat), probs)
    with pytest.raises(ValueError, match='mask_consistency'):
        build_model(cfg, mask_consistency=1.5)


def test_online_prediction_with_mask_consistency(cfg, synthetic_root):
    model = build_model(cfg, mask_consistency=0.5)
    model.eval()
    _keep_everything(model)
    with torch.no_grad():
        for t, batch in enumerate(video_frames(cfg, synthetic_root)):
            frame = model.test_step(batch)[0][0]
            _check_frame(frame, t)
            if t == 3:
                break
    with pytest.raises(ValueError, match='one video at a time'):
        model.predict(torch.zeros(2, 1, 3, 32, 32), [None, None])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_loss_and_online_prediction(cfg, synthetic_root):
    model = build_model(cfg).cuda()
    batch = train_pairs(cfg, synthetic_root, model)
    assert batch['inputs'].is_cuda
    losses = model.loss(batch['inputs'], batch['data_samples'])
    sum(losses.values()).backward()
    model.eval()
    _keep_everything(model)
    with torch.no_grad():
        for t, batch in enumerate(video_frames(cfg, synthetic_root)):
            frame = model.test_step(batch)[0][0]
            _check_frame(frame, t)
            assert frame.pred_track_instances.masks.is_cuda
