"""``VISMetric``: frame-by-frame and whole-video predictions, submission
archive, top-k, class mapping and the errors it raises."""
import json
import os
import socket
import zipfile

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

import mmvis_pretrain  # noqa: F401  (registers VISMetric)
from mmvis_pretrain.evaluation.metrics import VISMetric
from mmvis_pretrain.registry import METRICS

H, W = 12, 16
#: GT category ids are NOT in the order of the dataset classes below.
CATEGORIES = [dict(id=1, name='person'), dict(id=2, name='car')]
CLASSES = ('car', 'person')  # label 0 = car = id 2, label 1 = person = id 1


def rect(y0, x0, y1, x1) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def rle(mask) -> dict:
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=r['size'], counts=r['counts'].decode())


#: video id -> tracks (category id, per-frame masks)
TRACKS = {
    1: [(1, [rect(0, 0, 4, 4), rect(0, 1, 4, 5), None]),
        (2, [None, rect(6, 6, 10, 12), rect(6, 7, 10, 13)])],
    2: [(2, [rect(2, 2, 8, 8), rect(3, 3, 9, 9)])],
}


def write_gt(path) -> str:
    videos, anns = [], []
    for vid, tracks in TRACKS.items():
        length = len(tracks[0][1])
        videos.append(dict(id=vid, height=H, width=W, length=length,
                           file_names=[f'{vid}/{t}.jpg'
                                       for t in range(length)]))
        for cat, masks in tracks:
            anns.append(dict(
                id=len(anns) + 1, video_id=vid, category_id=cat, iscrowd=0,
                segmentations=[None if m is None else rle(m) for m in masks],
                areas=[None if m is None else int(m.sum()) for m in masks],
                bboxes=[None] * length))
    with open(path, 'w') as f:
        json.dump(dict(videos=videos, categories=CATEGORIES,
                       annotations=anns), f)
    return str(path)


def frame(vid, frame_id, length, ids, labels, scores, masks,
          frame_level=True) -> DetDataSample:
    """A predicted frame as an online model returns it. ``frame_level``:
    mmdet's frame-level test metainfo (``video_length`` 1, the real length
    in ``ori_video_length``); else the whole-video one."""
    meta = dict(video_id=vid, frame_id=frame_id, ori_shape=(H, W),
                img_shape=(H, W), img_id=vid * 100 + frame_id,
                video_length=1 if frame_level else length)
    if frame_level:
        meta['ori_video_length'] = length
    sample = DetDataSample(metainfo=meta)
    masks = np.stack(masks) if masks else np.zeros((0, H, W), bool)
    sample.pred_track_instances = InstanceData(
        instances_id=torch.tensor(ids, dtype=torch.long),
        labels=torch.tensor(labels, dtype=torch.long),
        scores=torch.tensor(scores, dtype=torch.float),
        masks=torch.from_numpy(masks))
    return sample


def gt_frames(vid, frame_level=True):
    """The GT of a video as predicted frames (track id = index + 1)."""
    tracks = TRACKS[vid]
    length = len(tracks[0][1])
    label = {c['id']: CLASSES.index(c['name']) for c in CATEGORIES}
    out = []
    for t in range(length):
        present = [(i + 1, label[cat], m[t])
                   for i, (cat, m) in enumerate(tracks) if m[t] is not None]
        out.append(frame(vid, t, length, [p[0] for p in present],
                         [p[1] for p in present], [0.9] * len(present),
                         [p[2] for p in present], frame_level))
    return out


def track_sample(frames) -> TrackDataSample:
    sample = TrackDataSample()
    sample.video_data_samples = list(frames)
    return sample


def make_evaluator(**kwargs) -> Evaluator:
    # scoped: another test may have left mmdet as the default scope
    metric = METRICS.build(dict(type='mmvis_pretrain.VISMetric', **kwargs))
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=CLASSES)
    return evaluator


def test_gt_as_predictions_online_and_whole_video(tmp_path):
    """Video 1 frame by frame (one TrackDataSample per frame, as with
    TrackImgSampler), video 2 whole in one sample (Mask2FormerVideo)."""
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'))
    for f in gt_frames(1):
        evaluator.process([track_sample([f])])
    evaluator.process([track_sample(gt_frames(2, frame_level=False))])
    metrics = evaluator.evaluate(3)
    for key in ('AP', 'AP50', 'AP75', 'AR1', 'AR10', 'AR100', 'AP_s'):
        assert metrics[f'vis/{key}'] == pytest.approx(1.0, abs=1e-12), key
    assert metrics['vis/AP_m'] == -1.0
    assert not any(isinstance(v, dict) for v in metrics.values())
    # a second evaluation starts from scratch
    for f in gt_frames(1) + gt_frames(2):
        evaluator.process([track_sample([f])])
    assert evaluator.evaluate(3)['vis/AP'] == pytest.approx(1.0, abs=1e-12)


def test_wrong_labels_lower_the_ap(tmp_path):
    """Swapping the two classes: every prediction in a wrong category."""
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'))
    for vid in TRACKS:
        for f in gt_frames(vid):
            f.pred_track_instances.labels = 1 - f.pred_track_instances.labels
            evaluator.process([track_sample([f])])
    assert evaluator.evaluate(3)['vis/AP'] == 0.0


def test_submission_archive_and_last_appearance(tmp_path):
    """format_only: results.json at the root of submission.zip, RLE counts
    str at the original size, None where the track is absent; a track's
    label and score are those of its last frame."""
    out = tmp_path / 'sub'
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'),
                               format_only=True, outfile_prefix=str(out))
    m = rect(1, 1, 5, 5)
    # track 7: car (label 0) .3 on frame 0, person (label 1) .8 on frame 1
    evaluator.process([track_sample([frame(1, 0, 3, [7], [0], [.3], [m])])])
    evaluator.process([track_sample([frame(1, 1, 3, [7], [1], [.8], [m])])])
    evaluator.process([track_sample([frame(1, 2, 3, [], [], [], [])])])
    evaluator.process([track_sample(gt_frames(2))])
    assert evaluator.evaluate(3) == {}

    with zipfile.ZipFile(out / 'submission.zip') as zf:
        assert zf.namelist() == ['results.json']
        results = json.loads(zf.read('results.json'))
    assert results == json.loads((out / 'results.json').read_text())
    first = [r for r in results if r['video_id'] == 1]
    assert len(first) == 1
    assert first[0]['category_id'] == 1  # person, by name
    assert first[0]['score'] == pytest.approx(.8)
    segs = first[0]['segmentations']
    assert len(segs) == 3 and segs[2] is None
    assert all(isinstance(s['counts'], str) and s['size'] == [H, W]
               for s in segs[:2])
    assert mask_utils.decode(dict(segs[0], counts=segs[0]['counts'].encode())
                             ).astype(bool).tolist() == m.tolist()
    second = [r for r in results if r['video_id'] == 2]
    assert [r['category_id'] for r in second] == [2]


def test_format_only_without_gt_uses_label_plus_one(tmp_path):
    evaluator = make_evaluator(format_only=True,
                               outfile_prefix=str(tmp_path / 'sub'))
    evaluator.process([track_sample(gt_frames(2))])
    assert evaluator.evaluate(1) == {}
    results = json.loads((tmp_path / 'sub' / 'results.json').read_text())
    assert [r['category_id'] for r in results] == [1]  # label 0 + 1


def test_topk_per_video(tmp_path):
    out = tmp_path / 'sub'
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'),
                               outfile_prefix=str(out), topk_per_video=2)
    masks = [rect(0, 0, 2, 2), rect(3, 3, 5, 5), rect(6, 6, 8, 8)]
    evaluator.process([track_sample([frame(
        2, 0, 2, [1, 2, 3], [0, 1, 0], [.2, .9, .5], masks)])])
    evaluator.process([track_sample([frame(2, 1, 2, [], [], [], [])])])
    for f in gt_frames(1):
        evaluator.process([track_sample([f])])
    metrics = evaluator.evaluate(3)  # evaluates and writes
    assert 'vis/AP' in metrics
    results = json.loads((out / 'results.json').read_text())
    scores = sorted(r['score'] for r in results if r['video_id'] == 2)
    assert scores == pytest.approx([.5, .9])


def test_incomplete_video_is_an_error(tmp_path):
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'))
    frames = gt_frames(1)
    evaluator.process([track_sample([frames[0]])])
    evaluator.process([track_sample([frames[2]])])
    with pytest.raises(ValueError,
                       match=r'video 1: 2 of 3 frames .*frame 1\)'):
        evaluator.evaluate(3)


def test_class_name_missing_in_gt(tmp_path):
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'))
    evaluator.dataset_meta = dict(classes=('car', 'truck'))
    evaluator.process([track_sample(gt_frames(2))])
    with pytest.raises(ValueError, match=r"\['truck'\] have no category"):
        evaluator.evaluate(1)


def test_bad_frames(tmp_path):
    metric = VISMetric(ann_file=write_gt(tmp_path / 'gt.json'))
    metric.dataset_meta = dict(classes=CLASSES)
    f = frame(1, 0, 3, [1], [0], [.5], [rect(0, 0, 2, 2)])
    f.pred_track_instances.masks = torch.zeros(1, H // 2, W, dtype=bool)
    with pytest.raises(ValueError, match=r'video 1, frame 0.*ori_shape'):
        metric.process({}, [track_sample([f])])
    metric.process({}, [track_sample(gt_frames(1)[:1])])
    with pytest.raises(ValueError, match='video 1, frame 0.*twice'):
        metric.process({}, [track_sample(gt_frames(1)[:1])])
    with pytest.raises(ValueError, match='set ann_file'):
        VISMetric()
    with pytest.raises(ValueError, match='outfile_prefix'):
        VISMetric(format_only=True)


def test_masks_already_rle(tmp_path):
    """Predictions may carry RLE dicts instead of mask tensors."""
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'))
    for vid in TRACKS:
        for f in gt_frames(vid):
            pred = f.pred_track_instances
            rles = [rle(m) for m in pred.masks.numpy()]
            f.pred_track_instances = InstanceData(
                instances_id=pred.instances_id, labels=pred.labels,
                scores=pred.scores)
            f.pred_track_instances.masks = rles
            evaluator.process([track_sample([f])])
    assert evaluator.evaluate(3)['vis/AP'] == pytest.approx(1.0, abs=1e-12)


def _ddp_worker(rank, port, ann_file, queue):
    """Rank r predicts every other frame of every video (videos split
    across ranks): the partial videos are merged at evaluation."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group('gloo', rank=rank, world_size=2)
    try:
        metric = VISMetric(ann_file=ann_file)
        metric.dataset_meta = dict(classes=CLASSES)
        for vid in TRACKS:
            for f in gt_frames(vid)[rank::2]:
                metric.process({}, [track_sample([f])])
        queue.put((rank, metric.evaluate(3)))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_merges_split_videos(tmp_path):
    ann_file = write_gt(tmp_path / 'gt.json')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = torch.multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    torch.multiprocessing.start_processes(
        _ddp_worker, args=(port, ann_file, queue), nprocs=2, join=True,
        start_method='spawn')
    got = dict(queue.get(timeout=60) for _ in range(2))
    for rank in (0, 1):
        assert got[rank]['vis/AP'] == pytest.approx(1.0, abs=1e-12)


def test_class_scores_become_the_best_track_class_pairs(tmp_path):
    """CTVIS's rule in the metric: a track with class_scores gives one
    result per class, the best pairs_per_video (default: as many as
    classes) of the video are kept."""
    out = tmp_path / 'sub'
    evaluator = make_evaluator(ann_file=write_gt(tmp_path / 'gt.json'),
                               outfile_prefix=str(out))
    masks = [rect(2, 2, 8, 8), rect(0, 0, 2, 2)]
    for t in range(2):
        f = frame(2, t, 2, [1, 2], [0, 1], [.8, .5], masks)
        # track 1: car .8 / person .3; track 2: car .1 / person .5
        f.pred_track_instances.class_scores = torch.tensor([[.8, .3],
                                                            [.1, .5]])
        evaluator.process([track_sample([f])])
    for f in gt_frames(1):
        evaluator.process([track_sample([f])])
    evaluator.evaluate(3)
    results = [r for r in json.loads((out / 'results.json').read_text())
               if r['video_id'] == 2]
    # two classes -> the best two of the four pairs
    assert [(r['category_id'], round(r['score'], 6)) for r in results] == \
        [(2, 0.8), (1, 0.5)]  # car = id 2, person = id 1
    # pairs_per_video=3: track 1 also gives its 'person' result
    metric = VISMetric(ann_file=write_gt(tmp_path / 'gt.json'),
                       pairs_per_video=3)
    metric.dataset_meta = dict(classes=CLASSES)
    for t in range(2):
        f = frame(2, t, 2, [1, 2], [0, 1], [.8, .5], masks)
        f.pred_track_instances.class_scores = torch.tensor([[.8, .3],
                                                            [.1, .5]])
        metric.process(None, [track_sample([f])])
    entries = metric.results[0]['entries']
    assert [(e['label'], round(e['score'], 6)) for e in entries] == \
        [(0, 0.8), (1, 0.5), (1, 0.3)]
    assert entries[0]['segmentations'] == entries[2]['segmentations']


def _subset_predictions(evaluator, keep_label):
    """The GT as predictions, the other class left out (a 1-class model)."""
    for vid in TRACKS:
        for f in gt_frames(vid):
            pred = f.pred_track_instances
            f.pred_track_instances = pred[pred.labels == keep_label]
            evaluator.process([track_sample([f])])


def test_class_subset_equals_filtered_ground_truth(tmp_path):
    """A model of a subset of the GT categories (dataset classes = that
    subset) is scored on those categories only, exactly as against a GT
    file filtered to them (mmdet's CocoMetric does the same); classes='all'
    keeps the former behaviour (every GT category)."""
    gt_path = write_gt(tmp_path / 'gt.json')
    gt = json.load(open(gt_path))
    car = [c['id'] for c in gt['categories'] if c['name'] == 'car']
    filtered = dict(gt, categories=[c for c in gt['categories']
                                    if c['id'] in car],
                    annotations=[a for a in gt['annotations']
                                 if a['category_id'] in car])
    filtered_path = tmp_path / 'car_only.json'
    filtered_path.write_text(json.dumps(filtered))

    def run(ann_file, classes_meta, **kwargs):
        metric = METRICS.build(dict(type='mmvis_pretrain.VISMetric',
                                    ann_file=str(ann_file), **kwargs))
        evaluator = Evaluator(metric)
        evaluator.dataset_meta = dict(classes=classes_meta)
        # predictions: label 0 = car only
        _subset_predictions(evaluator, keep_label=0)
        return evaluator.evaluate(3)

    subset = run(gt_path, ('car', ))
    reference = run(filtered_path, ('car', ))
    assert subset == reference
    assert subset['vis/AP'] == pytest.approx(1.0, abs=1e-12)
    # every GT category: the missed persons count
    everything = run(gt_path, ('car', ), classes='all')
    assert everything['vis/AP'] < subset['vis/AP']
    # an explicit list overrides the dataset's classes
    assert run(gt_path, ('car', 'person'), classes=['car']) == subset
    with pytest.raises(ValueError, match='no category of that name'):
        run(gt_path, ('car', ), classes=['truck'])
    with pytest.raises(ValueError, match='list of category names'):
        METRICS.build(dict(type='mmvis_pretrain.VISMetric',
                           ann_file=gt_path, classes='car'))


def test_identity_metrics_next_to_ap(tmp_path, monkeypatch):
    """identity_metrics=True: the GT fed back scores HOTA / IDF1 1 and no ID
    switch; the track of video 2 changing id at its second frame is one
    switch, while its AP stays high (the reason for these metrics)."""
    pytest.importorskip('trackeval')
    ann_file = write_gt(tmp_path / 'gt.json')
    evaluator = make_evaluator(ann_file=ann_file, identity_metrics=True)
    for vid in TRACKS:
        for f in gt_frames(vid):
            evaluator.process([track_sample([f])])
    metrics = evaluator.evaluate(3)
    assert (metrics['vis/HOTA'], metrics['vis/IDF1'],
            metrics['vis/IDSW']) == (1.0, 1.0, 0)
    assert metrics['vis/AP'] == pytest.approx(1.0, abs=1e-12)
    for vid in TRACKS:
        for f in gt_frames(vid):
            if vid == 2 and f.frame_id == 1:
                f.pred_track_instances.instances_id += 10
            evaluator.process([track_sample([f])])
    metrics = evaluator.evaluate(3)
    assert metrics['vis/IDSW'] == 1
    assert metrics['vis/IDF1'] < 1 and metrics['vis/HOTA'] < 1
    # below the score threshold nothing is a track
    low = make_evaluator(ann_file=ann_file, identity_metrics=True,
                         identity_score_thr=0.95)
    for vid in TRACKS:
        for f in gt_frames(vid):
            low.process([track_sample([f])])
    assert low.evaluate(3)['vis/IDF1'] == 0.0
    monkeypatch.setitem(__import__('sys').modules, 'trackeval', None)
    with pytest.raises(ImportError, match=r'mmvis_pretrain\[identity\]'):
        make_evaluator(ann_file=ann_file, identity_metrics=True)
