"""The stack fixes of mmvis_pretrain.utils.stack_compat."""
import io
import pickle
import warnings

import numpy as np
import pytest
import torch

import mmvis_pretrain  # noqa: F401  (applies the fixes)
from mmvis_pretrain.utils import stack_compat


def _roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


class _Evil:

    def __reduce__(self):
        return (print, ('pwned', ))


def test_mmengine_loader_keeps_weights_only(tmp_path):
    """mmengine's own checkpoint loader (what load_from / resume use) still
    refuses arbitrary code: we allow-list types, we never switch the safe
    loader off."""
    from mmengine.runner.checkpoint import _load_checkpoint
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'e': _Evil()}, evil)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(evil), map_location='cpu')
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, good)
    assert _load_checkpoint(str(good))['state_dict']['w'].sum() == 2


def test_message_hub_state_loads_with_weights_only():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    for i in range(3):
        hub.update_scalar('train/loss', float(i))
    hub.update_scalar('val/acc', np.float64(0.5))
    hub.update_info('arr', np.arange(3, dtype=np.int64))
    hub.update_info('scalar', np.float32(2.5))
    state = hub.state_dict()
    loaded = _roundtrip({'message_hub': state})['message_hub']
    buf = loaded['log_scalars']['train/loss']
    assert buf.mean() == pytest.approx(1.0)
    assert buf.max() == 2.0
    assert loaded['runtime_info']['arr'].tolist() == [0, 1, 2]
    assert float(loaded['runtime_info']['scalar']) == 2.5


def test_getattr_standin_refuses_anything_but_statistics():
    from mmengine.logging.history_buffer import HistoryBuffer
    fn = stack_compat._history_buffer_statistic
    assert fn(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        fn(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError):
        fn(torch, 'load')

    class Sneaky:

        def __reduce__(self):
            return (getattr, (torch.Tensor, 'numpy'))

    buf = io.BytesIO()
    torch.save(Sneaky(), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf, weights_only=True)


def test_ytviseval_runs_on_numpy2():
    from mmdet.evaluation.functional import ytviseval
    assert ytviseval.np.float is float
    # the alias lives only in that module, numpy itself is untouched
    assert 'float' not in np.__dict__
    assert ytviseval.np.cumsum is np.cumsum


def test_ytviseval_accumulate_end_to_end():
    """A perfect prediction scores AP 1 through mmdet's YTVISeval."""
    from mmdet.evaluation.functional import YTVIS, YTVISeval
    from pycocotools import mask as mask_util
    m = np.zeros((20, 30), dtype=np.uint8, order='F')
    m[2:12, 3:15] = 1
    rle = mask_util.encode(m)
    rle['counts'] = rle['counts'].decode()
    gt = dict(
        videos=[dict(id=1, width=30, height=20, length=2, file_names=[])],
        categories=[dict(id=1, name='a')],
        annotations=[
            dict(id=1, video_id=1, category_id=1, iscrowd=0,
                 segmentations=[rle, rle], bboxes=[[3, 2, 12, 10]] * 2,
                 areas=[120.0, 120.0])
        ])
    ytvis = YTVIS(None)
    ytvis.dataset = gt
    ytvis.createIndex()
    dets = ytvis.loadRes([
        dict(video_id=1, category_id=1, score=0.9, segmentations=[rle, rle])
    ])
    ev = YTVISeval(ytvis, dets, 'segm')
    ev.evaluate()
    ev.accumulate()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_pkg_resources_importable():
    stack_compat.check_pkg_resources()
    from mmengine.utils import package_utils
    assert package_utils.is_installed('mmdet')


def test_missing_pkg_resources_says_how_to_fix(monkeypatch):
    real_import = stack_compat.importlib.import_module

    def fake_import(name, *args):
        if name == 'pkg_resources':
            raise ImportError('No module named pkg_resources')
        return real_import(name, *args)

    monkeypatch.setattr(stack_compat.importlib, 'import_module', fake_import)
    with pytest.raises(ImportError, match='setuptools>=77,<81'):
        stack_compat.check_pkg_resources()


def test_patches_do_not_stack():
    """Re-applying a patch keeps the first wrapper (no double wrapping)."""
    from mmdet.evaluation.functional import ytviseval
    from mmengine.dist import utils as dist_utils
    init_dist, np_view = dist_utils._init_dist_pytorch, ytviseval.np
    stack_compat.patch_cpu_distributed_init()
    stack_compat.patch_ytviseval_numpy()
    assert dist_utils._init_dist_pytorch is init_dist
    assert ytviseval.np is np_view
    from mmdet.evaluation.metrics.youtube_vis_metric import YouTubeVISMetric
    evaluate = YouTubeVISMetric.evaluate
    stack_compat.patch_youtube_vis_metric_reset()
    assert YouTubeVISMetric.evaluate is evaluate


def test_correlation_cpu_reported_unavailable():
    assert not stack_compat.correlation_available('cpu')


def test_known_log_noise_is_filtered_and_nothing_else():
    """mmengine's FileClient deprecation line is dropped by exact message;
    other warnings of the same logger still appear (fix 7)."""
    import logging

    from mmengine.logging import MMLogger, print_log
    import mmvis_pretrain  # noqa: F401  (applies the fixes)
    logger = MMLogger.get_instance('noise_test', log_level='INFO')
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger.addHandler(Keep())
    print_log('"FileClient" will be deprecated in future. Please use io',
              logger='noise_test', level=logging.WARNING)
    print_log('a real warning', logger='noise_test', level=logging.WARNING)
    assert records == ['a real warning']
    import warnings

    import torch

    from mmvis_pretrain.utils.stack_compat import quiet_known_noise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        quiet_known_noise()  # (pytest resets the filters for each test)
        torch.meshgrid(torch.arange(2), torch.arange(3))
        warnings.warn('another UserWarning')
    messages = [str(w.message) for w in caught]
    assert not any('meshgrid' in m for m in messages)
    assert 'another UserWarning' in messages


def _ytvis_video(video_id: int, shift: int):
    """One 2-frame video (one object) with the prediction ``shift`` pixels
    off, as mmdet's video metrics receive it."""
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.structures import InstanceData
    from pycocotools import mask as mask_util
    frames = []
    for t in range(2):
        gt = np.zeros((20, 30), np.uint8, order='F')
        gt[2:12, 3:15] = 1
        rle = mask_util.encode(gt)
        pred = torch.zeros(1, 20, 30, dtype=torch.bool)
        pred[0, 2:12, 3 + shift:15 + shift] = True
        sample = DetDataSample(metainfo=dict(
            video_id=video_id, img_id=10 * video_id + t, frame_id=t,
            ori_shape=(20, 30), ori_video_length=2))
        sample.instances = [dict(bbox_label=0, bbox=[3, 2, 15, 12],
                                 instance_id=video_id, mask=rle,
                                 ignore_flag=0)]
        sample.pred_track_instances = InstanceData(
            bboxes=torch.tensor([[3.0 + shift, 2, 15 + shift, 12]]),
            scores=torch.tensor([0.9]), labels=torch.tensor([0]),
            instances_id=torch.tensor([0]), masks=pred)
        frames.append(sample)
    video = TrackDataSample()
    video.video_data_samples = frames
    return video


def test_youtube_vis_metric_evaluates_twice():
    """mmdet's YouTubeVISMetric (the mask2former_vis configs' evaluator)
    gives the same numbers on a second evaluation instead of a KeyError,
    and the second one does not carry the first one's videos."""
    from mmdet.evaluation.metrics import YouTubeVISMetric
    from mmengine.evaluator import Evaluator
    metric = YouTubeVISMetric(metric='youtube_vis_ap')
    evaluator = Evaluator([metric])
    evaluator.dataset_meta = dict(classes=('a', ))
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for videos in ([(1, 0), (2, 6)], [(1, 0), (2, 6)], [(1, 0)]):
            for video_id, shift in videos:
                evaluator.process([_ytvis_video(video_id, shift)], {})
            runs.append(evaluator.evaluate(len(videos)))
    assert runs[0] == runs[1]
    assert runs[0]['youtube_vis/segm_mAP'] < 1.0  # the shifted video
    assert runs[2]['youtube_vis/segm_mAP'] == pytest.approx(1.0)
