"""STMask end to end on the synthetic videos: trains on frame pairs with a
decreasing loss, predicts tracks online frame by frame (the package's
protocol, evaluated by VISMetric), and every component of table 4 can be
switched off."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from conftest import REPO, tiny_vis_options

CONFIG = osp.join(REPO,
                  'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py')
TRAIN_ITERS = 30


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Small convolutions on a shared 2-core box: one thread avoids the
    OpenMP oversubscription that slows them down by an order of magnitude
    (conftest does the same under xdist)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def cfg():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(CONFIG)


def _dataset(cfg, root, loader):
    from mmvis_pretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg[loader].dataset)
    ds_cfg.data_root = osp.join(root, 'ytvis') + '/'
    return DATASETS.build(ds_cfg)


def _build(cfg, **model_overrides):
    from mmvis_pretrain.registry import MODELS
    model_cfg = Config(dict(model=copy.deepcopy(cfg.model)))
    model_cfg.merge_from_dict(dict(model=model_overrides))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg.model)
    model.init_weights()
    return model


def _pairs(cfg, root, model, n=2):
    np.random.seed(0)
    dataset = _dataset(cfg, root, 'train_dataloader')
    data = pseudo_collate([dataset[i] for i in range(n)])
    return model.data_preprocessor(data, training=True)


def _video_frames(cfg, root, video=0):
    """The frames of one validation video as online samples (collated, not
    preprocessed: ``test_step`` preprocesses), in order."""
    dataset = _dataset(cfg, root, 'test_dataloader')
    for frame in range(dataset.get_len_per_video(video)):
        yield pseudo_collate([dataset[(video, frame)]])


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
        for t, batch in enumerate(_video_frames(cfg, synthetic_root)):
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
    model = _build(cfg, **overrides)
    batch = _pairs(cfg, synthetic_root, model)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    with_tf = model.temporal_fusion is not None
    assert ('loss_tf_bbox' in losses) == with_tf
    assert ('loss_track' in losses) == model.bbox_head.with_track
    _loss_sum(losses).backward()
    model.eval()
    with torch.no_grad():
        for batch in _video_frames(cfg, synthetic_root):
            frame = model.test_step(batch)[0][0]
            assert frame.pred_track_instances.masks.shape[1:] == \
                frame.ori_shape


def test_full_model_losses_and_raw_outputs(cfg, synthetic_root):
    model = _build(cfg)
    batch = _pairs(cfg, synthetic_root, model)
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
    model = _build(cfg).cuda()
    batch = _pairs(cfg, synthetic_root, model)
    assert batch['inputs'].is_cuda
    losses = model.loss(batch['inputs'], batch['data_samples'])
    _loss_sum(losses).backward()
    model.eval()
    with torch.no_grad():
        for batch in _video_frames(cfg, synthetic_root):
            frame = model.test_step(batch)[0][0]
            pred = frame.pred_track_instances
            assert pred.masks.shape[1:] == frame.ori_shape
            assert pred.masks.is_cuda
