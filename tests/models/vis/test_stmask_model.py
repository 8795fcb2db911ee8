"""STMask end to end on the synthetic videos: trains on frame pairs with a
decreasing loss, predicts tracks online frame by frame (the package's
protocol, evaluated by VISMetric), and every component of table 4 can be
switched off."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import REPO, tiny_vis_options
from vis_model_helpers import one_thread  # noqa: F401  (autouse fixture)
from vis_model_helpers import (build_model, load_cfg, train_pairs,
                               video_frames)

CONFIG = osp.join(REPO,
                  'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py')
TRAIN_ITERS = 30


@pytest.fixture(scope='module')
def cfg():
    return load_cfg(CONFIG)


def _loss_sum(losses):
    return sum(v if torch.is_tensor(v) else sum(v)
               for k, v in losses.items() if 'loss' in k)


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
    assert total[-third:].mean() < total[:third].mean(), total
    frame_losses = sum(
        np.array(hub.get_scalar(f'train/{k}').data[0], dtype=float)
        for k in ('loss_cls', 'loss_mask', 'loss_track'))
    assert frame_losses[-third:].mean() < 0.85 * frame_losses[:third].mean()
    for key in ('loss_bbox', 'loss_tf_bbox', 'loss_tf_mask'):
        assert np.isfinite(hub.get_scalar(f'train/{key}').data[0]).all()
    # the online validation (TrackImgSampler) ran through VISMetric
    assert {'val/vis/AP', 'val/vis/AR10'} <= set(hub.log_scalars)

    # online prediction of a validation video, frame by frame
    model = runner.model.eval()
    seen_ids = {}
    with torch.no_grad():
        for t, batch in enumerate(video_frames(cfg, synthetic_root)):
            assert batch['inputs'][0].shape[0] == 1  # one frame
            out = model.test_step(batch)[0]
            frame = out[0]
            assert frame.frame_id == t
            pred = frame.pred_track_instances
            m = len(pred)
            assert pred.masks.dtype == torch.bool
            assert pred.masks.shape == (m, *frame.ori_shape)
            assert pred.bboxes.shape == (m, 4)
            assert pred.labels.shape == (m, ) and pred.scores.shape == (m, )
            assert ((pred.labels >= 0) & (pred.labels < 6)).all()
            assert ((pred.scores > 0) & (pred.scores <= 1)).all()
            ids = pred.instances_id.tolist()
            assert len(set(ids)) == m  # one mask per track and frame
            for i in ids:
                seen_ids.setdefault(i, t)
    assert seen_ids, 'no track predicted on the validation video'
    # ids are handed out from 0 in order of appearance
    assert sorted(seen_ids) == list(range(len(seen_ids)))
    first_frames = [seen_ids[i] for i in sorted(seen_ids)]
    assert first_frames == sorted(first_frames)


@pytest.mark.parametrize(
    'overrides',
    [
        # YOLACT baseline of table 4: no FCA, no FCB, no TF
        dict(
            bbox_head=dict(
                anchor_generator=dict(
                    _delete_=True,
                    type='AnchorGenerator',
                    octave_base_scale=3,
                    scales_per_octave=1,
                    ratios=[0.5, 1.0, 2.0],
                    strides=[8, 16, 32, 64, 128]),
                kernel_sizes=[(3, 3)],
                fcb=dict(cls=None, coeff=None, track=None)),
            temporal_fusion=None),
        # FCA + FCB(ali) on coefficients and embeddings, no track branch
        dict(
            bbox_head=dict(
                fcb=dict(cls=None, coeff='aligned', track='aligned'),
                with_track=False)),
    ],
    ids=['baseline', 'fcb-ali-no-track'])
def test_components_switch_off(cfg, synthetic_root, overrides):
    model = build_model(cfg, **overrides)
    batch = train_pairs(cfg, synthetic_root, model)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    with_tf = model.temporal_fusion is not None
    assert ('loss_tf_bbox' in losses) == with_tf
    assert ('loss_track' in losses) == model.bbox_head.with_track
    _loss_sum(losses).backward()
    model.eval()
    with torch.no_grad():
        for batch in video_frames(cfg, synthetic_root):
            frame = model.test_step(batch)[0][0]
            assert frame.pred_track_instances.masks.shape[1:] == \
                frame.ori_shape


def test_full_model_losses_and_raw_outputs(cfg, synthetic_root):
    model = build_model(cfg)
    batch = train_pairs(cfg, synthetic_root, model)
    assert batch['inputs'].shape[:2] == (2, 2)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_track',
            'loss_tf_bbox', 'loss_tf_mask'} <= set(losses)
    _loss_sum(losses).backward()
    # the temporal fusion module and the FCB offsets are trained
    assert model.temporal_fusion.fc_bbox.weight.grad.abs().sum() > 0
    assert model.bbox_head.fcb_cls[0].conv_offset.weight.grad.abs().sum() > 0
    # tensor mode: head outputs and prototypes of all frames
    with torch.no_grad():
        outs = model._forward(batch['inputs'])
    cls_scores, protos = outs[0], outs[-1]
    assert len(cls_scores) == 5 and cls_scores[0].size(0) == 4
    assert protos.shape[:2] == (4, 16)
    with pytest.raises(ValueError, match='frame pairs'):
        model.loss(batch['inputs'].repeat(1, 2, 1, 1, 1),
                   batch['data_samples'])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_loss_and_online_prediction(cfg, synthetic_root):
    model = build_model(cfg).cuda()
    batch = train_pairs(cfg, synthetic_root, model)
    assert batch['inputs'].is_cuda
    losses = model.loss(batch['inputs'], batch['data_samples'])
    _loss_sum(losses).backward()
    model.eval()
    with torch.no_grad():
        for batch in video_frames(cfg, synthetic_root):
            frame = model.test_step(batch)[0][0]
            pred = frame.pred_track_instances
            assert pred.masks.shape[1:] == frame.ori_shape
            assert pred.masks.is_cuda
