"""Tests of ``mmvis_pretrain.apis.inference``: the in-memory test pipeline
(checked against the VIS test dataset), ``init_vis_model`` on a shrunk,
randomly initialised mmdet MaskTrackRCNN saved as a checkpoint, and the
streaming ``inference_vis_video``."""
import copy
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from vis_demo_helpers import (CLASSES, H, W, ScriptedTracksVIS, make_frames,
                              save_random_checkpoint, scripted_config,
                              tiny_masktrack_config)

from mmvis_pretrain.apis import (build_vis_test_pipeline, get_track_instances,
                                 inference_vis_video, init_vis_model,
                                 pack_vis_frame, vis_test_pipeline_cfg)
from mmvis_pretrain.registry import DATASETS


@pytest.fixture(scope='module')
def masktrack(tmp_path_factory):
    """(config with a 48x32 test scale, checkpoint path) of the tiny
    MaskTrackRCNN."""
    cfg = tiny_masktrack_config(scale=(48, 32))
    path = tmp_path_factory.mktemp('masktrack') / 'masktrack_random.pth'
    save_random_checkpoint(cfg, str(path))
    return cfg, str(path)


# --------------------------------------------------------------------------
# pipeline
# --------------------------------------------------------------------------
def test_test_pipeline_loads_ndarrays_without_annotations():
    cfg = tiny_masktrack_config()
    before = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    pipeline = vis_test_pipeline_cfg(cfg)
    assert [t['type'] for t in pipeline] == [
        'TransformBroadcaster', 'PackTrackInputs'
    ]
    assert [t['type'] for t in pipeline[0]['transforms']] == [
        'mmdet.LoadImageFromNDArray', 'Resize'
    ]
    assert pipeline[0]['transforms'][1]['scale'] == (96, 64)
    assert cfg.test_dataloader.dataset.pipeline == before  # not modified

    # scoped names, a single wrapped dict, a top-level loader
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(pipeline=[
                    dict(type='mmdet.LoadImageFromFile', to_float32=True),
                    dict(
                        type='TransformBroadcaster',
                        transforms=dict(type='mmdet.LoadTrackAnnotations')),
                    dict(type='LoadAnnotations'),
                    dict(type='PackTrackInputs')
                ]))))
    pipeline = vis_test_pipeline_cfg(cfg)
    assert pipeline == [
        dict(type='mmdet.LoadImageFromNDArray', to_float32=True),
        dict(type='TransformBroadcaster', transforms=[]),
        dict(type='PackTrackInputs')
    ]

    cfg.test_dataloader.dataset.pipeline = [dict(type='PackTrackInputs')]
    with pytest.raises(ValueError, match='no LoadImageFromFile'):
        vis_test_pipeline_cfg(cfg)
    with pytest.raises(KeyError, match='test_dataloader'):
        vis_test_pipeline_cfg(Config(dict(model=dict())))


def test_packed_frame_equals_the_test_dataset_sample(tiny_vis_cfg):
    """A frame read into memory and packed by ``pack_vis_frame`` is exactly
    what the package's VIS test dataset (TrackImgSampler-style (video,
    frame) index) gives for that frame."""
    dataset_cfg = tiny_vis_cfg.test_dataloader.dataset
    with DefaultScope.overwrite_default_scope('mmvis_pretrain'):
        dataset = DATASETS.build(dataset_cfg)
    video = dataset.get_data_info(0)
    frame_idx = 2
    expected = dataset.prepare_data((0, frame_idx))
    info = video['images'][frame_idx]

    pipeline = build_vis_test_pipeline(tiny_vis_cfg)
    frame = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
    packed = pack_vis_frame(
        pipeline, frame, frame_idx, video['video_length'],
        video_id=video['video_id'], img_id=info['img_id'],
        img_path=info['img_path'])

    assert torch.equal(packed['inputs'], expected['inputs'])
    assert packed['inputs'].shape[0] == 1  # T = 1
    ours = packed['data_samples'][0].metainfo
    theirs = expected['data_samples'][0].metainfo
    theirs.pop('instances')  # annotations: the dataset only
    assert ours == theirs
    assert ours['frame_id'] == frame_idx and ours['video_length'] == 1
    assert ours['ori_video_length'] == video['video_length']


def test_pack_rejects_bad_frames():
    pipeline = build_vis_test_pipeline(tiny_masktrack_config())
    with pytest.raises(ValueError, match=r'frame 3 of video 2 must be a '
                       r'\(H, W, 3\) BGR array, got \(64, 96\)'):
        pack_vis_frame(pipeline, np.zeros((H, W), np.uint8), 3, 5, 2)


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------
def test_init_vis_model_loads_the_checkpoint(masktrack):
    cfg, checkpoint = masktrack
    assert cfg.default_scope == 'mmdet'
    def current_scope():
        scope = DefaultScope.get_current_instance()
        return scope and (scope.instance_name, scope.scope_name)

    before = current_scope()
    model = init_vis_model(cfg, checkpoint, device='cpu')
    # built in the config's scope without changing the current one
    assert current_scope() == before
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    assert type(model).__name__ == 'MaskTrackRCNN'
    assert not model.training and isinstance(model.cfg, Config)
    assert next(model.parameters()).device.type == 'cpu'
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert model.dataset_meta == dict(classes=list(CLASSES))
    assert model.cfg is not cfg  # the caller's config is copied


def test_init_vis_model_class_names_from_the_config(masktrack, tmp_path):
    cfg, _ = masktrack
    path = save_random_checkpoint(cfg, str(tmp_path / 'no_meta.pth'),
                                  classes=None)
    # YouTubeVISDataset (2019) of the config: its 40 classes
    model = init_vis_model(cfg, path, device='cpu')
    classes = model.dataset_meta['classes']
    assert len(classes) == 40 and classes[0] == 'person'
    model = init_vis_model(
        cfg, path, device='cpu',
        cfg_options={'test_dataloader.dataset.metainfo': dict(
            classes=('a', 'b'))})
    assert model.dataset_meta == dict(classes=('a', 'b'))
    with pytest.warns(UserWarning, match='no checkpoint'):
        init_vis_model(cfg, None, device='cpu')


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU host')
def test_init_vis_model_cuda_without_cuda(masktrack):
    with pytest.raises(RuntimeError, match="'cuda:0' asked for"):
        init_vis_model(masktrack[0], masktrack[1], device='cuda:0')


def test_init_vis_model_rejects_misspelt_arguments():
    from conftest import REPO
    from mmvis_pretrain.utils import ConfigKeyError
    config = (f'{REPO}/configs/online_vis/'
              'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')
    with pytest.raises(ConfigKeyError, match=r"model\.panoptic_head: "
                       r"Mask2FormerEmbedHead does not take the argument "
                       r"'num_querys'; did you mean 'num_queries'\?"):
        init_vis_model(config, None, device='cpu',
                       cfg_options={'model.panoptic_head.num_querys': 5})


# --------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------
def _run(model, frames, **kwargs):
    pairs = list(inference_vis_video(model, frames, len(frames), **kwargs))
    for (given, _), frame in zip(pairs, frames):
        assert given is frame  # (frame, result) pairs, in order
    results = [r for _, r in pairs]
    return results, [get_track_instances(r) for r in results]


def test_inference_masktrack_rcnn_online_protocol(masktrack):
    cfg, checkpoint = masktrack
    model = init_vis_model(cfg, checkpoint, device='cpu')
    frames = make_frames(6)
    results, preds = _run(model, frames, video_id=3)
    assert len(results) == 6
    for t, (result, pred) in enumerate(zip(results, preds)):
        assert isinstance(result, TrackDataSample) and len(result) == 1
        meta = result[0].metainfo
        assert (meta['frame_id'], meta['video_id'], meta['img_id']) == (
            t, 3, t + 1)
        assert (meta['video_length'], meta['ori_video_length']) == (1, 6)
        assert meta['ori_shape'] == (H, W) and meta['img_shape'] == (32, 48)
        assert pred.instances_id.dtype == torch.long
        assert pred.labels.dtype == torch.long
        assert pred.scores.dtype == torch.float32
        assert pred.masks.dtype == torch.bool
        assert pred.masks.shape == (len(pred), H, W)  # at ori_shape
        assert ((pred.labels >= 0) & (pred.labels < len(CLASSES))).all()
    assert sum(len(p) for p in preds) > 0  # the random model does detect

    # frame_id 0 resets the tracker: a second pass repeats the ids (mmdet's
    # tracker numbers tracks on, so without the reset they would be new)
    _, again = _run(model, frames, video_id=4)
    for first, second in zip(preds, again):
        assert torch.equal(first.instances_id, second.instances_id)
        assert torch.equal(first.masks, second.masks)


def test_inference_streams_frames_lazily():
    ScriptedTracksVIS.calls.clear()
    model = init_vis_model(scripted_config(scale=(48, 32)), device='cpu')
    pulled = []

    def frames():
        for t, frame in enumerate(make_frames(3)):
            pulled.append(t)
            yield frame

    results = inference_vis_video(
        model, frames(), 3, video_id=1,
        img_paths=['a/1.jpg', 'a/2.jpg', 'a/10.jpg'])
    assert pulled == []  # nothing read before iteration
    _, first = next(results)
    assert pulled == [0] and len(ScriptedTracksVIS.calls) == 1
    rest = list(results)
    assert pulled == [0, 1, 2] and len(rest) == 2
    metas = [meta for meta, _ in ScriptedTracksVIS.calls]
    assert [m['frame_id'] for m in metas] == [0, 1, 2]
    assert [m['img_path'] for m in metas] == ['a/1.jpg', 'a/2.jpg',
                                              'a/10.jpg']
    assert all(m['ori_video_length'] == 3 for m in metas)
    # (N, T, C, H, W) after the TrackDataPreprocessor
    assert {shape for _, shape in ScriptedTracksVIS.calls} == {
        (1, 1, 3, 32, 48)
    }
    pred = get_track_instances(first)
    assert pred.instances_id.tolist() == [0, 5]
    assert torch.is_grad_enabled()  # no_grad only around test_step


def test_inference_errors():
    model = init_vis_model(scripted_config(), device='cpu')
    frames = make_frames(3)
    with pytest.raises(ValueError, match='video_length must be positive'):
        inference_vis_video(model, frames, 0)
    with pytest.raises(ValueError, match='2 img_paths for a video of 3'):
        inference_vis_video(model, frames, 3, img_paths=['a', 'b'])
    with pytest.raises(ValueError, match='more frames than video_length=2'):
        list(inference_vis_video(model, frames, 2))
    with pytest.raises(ValueError, match=r'frame 1 of video 0 must be'):
        list(inference_vis_video(model, [frames[0], frames[1][..., 0]], 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert len(list(inference_vis_video(model, frames, 4))) == 3
    assert any('only 3 of video_length=4' in str(w.message) for w in caught)
    with pytest.raises(AttributeError, match='has no `cfg`'):
        inference_vis_video(torch.nn.Linear(1, 1), frames, 3)


def test_get_track_instances():
    sample = DetDataSample()
    pred = InstanceData(scores=torch.ones(2))
    sample.pred_track_instances = pred
    assert get_track_instances(sample) is pred
    track = TrackDataSample()
    track.video_data_samples = [sample]
    assert get_track_instances(track) is pred
    track.video_data_samples = [sample, sample]
    with pytest.raises(ValueError, match='one frame per result, got 2'):
        get_track_instances(track)
    with pytest.raises(ValueError, match='does not follow the online VIS'):
        get_track_instances(DetDataSample())
