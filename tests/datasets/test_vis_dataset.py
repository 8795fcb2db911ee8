"""VISDataset over raw YouTube-VIS / OVIS / CocoVID with mmdet pipelines."""
import json

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest
from mmdet.datasets import BaseVideoDataset
from mmdet.structures import TrackDataSample

from mmvis_pretrain.datasets import vis_dataset as vis_dataset_module
from mmvis_pretrain.datasets import (OVISDataset, VISAnnotationError,
                                     VISDataset, YouTubeVIS2019Dataset,
                                     YouTubeVIS2021Dataset)
from mmvis_pretrain.datasets.ovis import OVIS_CLASSES
from mmvis_pretrain.utils import register_all_modules

H, W = 48, 64
BOX = [4.0, 6.0, 20.0, 10.0]

TRAIN_PIPELINE = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2,
         filter_key_img=True),
    dict(type='TransformBroadcaster', share_random_params=True,
         transforms=[
             dict(type='LoadImageFromFile'),
             dict(type='LoadTrackAnnotations', with_mask=True),
             dict(type='Resize', scale=(32, 24), keep_ratio=True),
             dict(type='RandomFlip', prob=0.5),
         ]),
    dict(type='PackTrackInputs')
]

TEST_PIPELINE = [
    dict(type='TransformBroadcaster', transforms=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 24), keep_ratio=True),
        dict(type='LoadTrackAnnotations', with_mask=True),
    ]),
    dict(type='PackTrackInputs')
]


@pytest.fixture(scope='module', autouse=True)
def _scope():
    register_all_modules()


def box_mask() -> np.ndarray:
    """Binary mask of :data:`BOX`."""
    mask = np.zeros((H, W), np.uint8)
    mask[6:16, 4:24] = 1
    return mask


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE (column-major runs starting with zeros)."""
    flat = mask.flatten(order='F')
    counts, value, run = [], 0, 0
    for pixel in flat:
        if pixel != value:
            counts.append(run)
            value, run = pixel, 0
        run += 1
    counts.append(run)
    return dict(size=[H, W], counts=[int(c) for c in counts])


def compressed_rle(mask: np.ndarray) -> dict:
    """COCO compressed RLE with ``counts`` as str (JSON-able)."""
    rle = mask_util.encode(np.asfortranarray(mask))
    return dict(size=rle['size'], counts=rle['counts'].decode())


SEGMENTATIONS = {
    'poly': [[4.0, 6.0, 24.0, 6.0, 24.0, 16.0, 4.0, 16.0]],
    'rle': uncompressed_rle(box_mask()),
    'crle': compressed_rle(box_mask()),
}


def track(aid, vid, cat, length, seg='poly', absent=(), **extra):
    """A raw track present in every frame but ``absent``."""
    on = [f not in absent for f in range(length)]
    out = dict(id=aid, video_id=vid, category_id=cat, iscrowd=0,
               height=H, width=W, length=length,
               bboxes=[list(BOX) if p else None for p in on],
               segmentations=[SEGMENTATIONS[seg] if p else None for p in on],
               areas=[200.0 if p else None for p in on])
    out.update(extra)
    return out


def video(vid, name, length):
    """A raw video entry."""
    return dict(id=vid, width=W, height=H, length=length,
                file_names=[f'{name}/{i:05d}.jpg' for i in range(length)])


def ytvis_json() -> dict:
    """Three videos; video 3 has no annotation, 'cat' is not a class."""
    return dict(
        info={}, licenses=[],
        categories=[dict(id=1, name='person'), dict(id=2, name='dog'),
                    dict(id=3, name='cat')],
        videos=[video(1, 'v1', 4), video(2, 'v2', 3), video(3, 'v3', 2)],
        annotations=[
            track(11, 1, 1, 4, 'poly', absent=(3, )),
            track(12, 1, 2, 4, 'rle'),
            track(13, 2, 2, 3, 'crle'),
            track(14, 2, 3, 3, 'poly'),  # 'cat' -> dropped
        ])


def write(tmp_path, data, name='ann.json'):
    """JSON + black frames; returns the dataset kwargs."""
    root = tmp_path / 'frames'
    names = [i['file_name'] for i in data['images']] if 'images' in data \
        else [n for v in data['videos'] for n in v['file_names']]
    for fname in names:
        path = root / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((H, W, 3), np.uint8))
    ann = tmp_path / name
    ann.write_text(json.dumps(data))
    return dict(ann_file=str(ann), data_prefix=dict(img_path=str(root)))


CLASSES = ('dog', 'person')  # other order than the JSON ids


def build(tmp_path, data=None, **kwargs):
    """A VISDataset with :data:`CLASSES` over ``data``."""
    cfg = write(tmp_path, data or ytvis_json())
    cfg.setdefault('metainfo', dict(classes=CLASSES))
    cfg.update(kwargs)
    return VISDataset(**cfg)


def test_data_list_structure(tmp_path):
    ds = build(tmp_path, pipeline=[], test_mode=True)
    assert len(ds) == 3
    info = ds.get_data_info(0)
    assert set(info) - {'sample_idx'} == {'video_id', 'images',
                                         'video_length'}
    assert info['video_id'] == 1 and info['video_length'] == 4
    frame = info['images'][0]
    assert set(frame) == {'img_id', 'img_path', 'height', 'width',
                          'frame_id', 'video_id', 'file_name', 'instances'}
    assert frame['img_path'] == str(tmp_path / 'frames' / 'v1' / '00000.jpg')
    assert (frame['height'], frame['width']) == (H, W)
    inst = frame['instances'][0]
    assert set(inst) == {'bbox', 'bbox_label', 'mask', 'instance_id',
                         'ignore_flag'}
    assert inst['bbox'] == [4.0, 6.0, 24.0, 16.0]
    assert inst['mask'] == SEGMENTATIONS['poly']
    img_ids = [f['img_id'] for i in range(len(ds))
               for f in ds.get_data_info(i)['images']]
    assert img_ids == list(range(1, 10))


def test_instance_ids_and_labels(tmp_path):
    ds = build(tmp_path, pipeline=[], test_mode=True)
    frames = ds.get_data_info(0)['images']
    ids = [[i['instance_id'] for i in f['instances']] for f in frames]
    # track 11 is absent in frame 3; ids stay the raw ids across frames
    assert ids == [[11, 12], [11, 12], [11, 12], [12]]
    labels = {i['instance_id']: i['bbox_label']
              for f in frames for i in f['instances']}
    assert labels == {11: 1, 12: 0}  # person -> 1, dog -> 0 (by name)
    assert ds.get_data_info(1)['images'][0]['instances'][0]['mask'] == \
        SEGMENTATIONS['crle']
    # category 'cat' (track 14) is not in the classes
    assert [i['instance_id'] for f in ds.get_data_info(1)['images']
            for i in f['instances']] == [13, 13, 13]


def test_zero_area_and_crowd(tmp_path):
    data = ytvis_json()
    data['annotations'][0]['bboxes'][1] = [4.0, 6.0, 0.0, 10.0]
    data['annotations'][1]['iscrowd'] = 1
    ds = build(tmp_path, data, pipeline=[], test_mode=True)
    frame = ds.get_data_info(0)['images'][1]
    assert [i['instance_id'] for i in frame['instances']] == [12]
    assert frame['instances'][0]['ignore_flag'] == 1


def test_train_filter_drops_empty(tmp_path):
    ds = build(tmp_path, pipeline=[])
    # video 3 has no annotation, v1 frame 3 only has the dog
    assert [ds.get_data_info(i)['video_id'] for i in range(len(ds))] == [1, 2]
    assert ds.get_data_info(0)['video_length'] == 4
    ds = build(tmp_path, pipeline=[], filter_cfg=dict(filter_empty_gt=False))
    assert len(ds) == 3


def test_train_pipeline_end_to_end(tmp_path):
    ds = build(tmp_path, pipeline=TRAIN_PIPELINE)
    for idx in range(len(ds)):
        out = ds[idx]
        sample = out['data_samples']
        assert isinstance(sample, TrackDataSample)
        assert len(sample) == 2
        assert tuple(out['inputs'].shape) == (2, 3, 24, 32)
        for frame in sample.video_data_samples:
            gt = frame.gt_instances
            assert len(gt.instances_ids) == len(gt.labels) >= 1
            assert tuple(gt.masks.masks.shape) == (len(gt), 24, 32)
            assert set(gt.instances_ids.tolist()) <= {11, 12, 13}


def test_test_mode_keeps_unannotated(tmp_path):
    ds = build(tmp_path, pipeline=TEST_PIPELINE, test_mode=True)
    out = ds[2]
    frames = out['data_samples'].video_data_samples
    assert len(frames) == 2
    assert all(len(f.gt_instances) == 0 for f in frames)
    assert frames[0].metainfo['ori_video_length'] == 2


def ovis_json() -> dict:
    """OVIS-style valid set: ``"annotations": null``."""
    return dict(
        info={}, licenses=[],
        categories=[dict(id=i + 1, name=n) for i, n in
                    enumerate(OVIS_CLASSES)],
        videos=[video(5, 'o1', 3), video(6, 'o2', 2)],
        annotations=None)


def test_ovis_null_annotations_test_mode(tmp_path):
    ds = OVISDataset(**write(tmp_path, ovis_json()), test_mode=True,
                     pipeline=TEST_PIPELINE)
    assert ds.metainfo['classes'][-1] == 'Vehical'
    assert len(ds) == 2
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 3, 24, 32)
    assert len(out['data_samples']) == 3
    frame_out = ds[(1, 1)]  # frame-level test mode
    assert len(frame_out['data_samples']) == 1


def test_ovis_occlusion_kept(tmp_path):
    data = ovis_json()
    data['annotations'] = [track(1, 5, 25, 3, occlusion=[0, 1, 2])]
    ds = OVISDataset(**write(tmp_path, data), pipeline=TRAIN_PIPELINE)
    frames = ds.get_data_info(0)['images']
    assert [f['instances'][0]['occlusion'] for f in frames] == [0, 1, 2]
    assert frames[0]['instances'][0]['bbox_label'] == 24
    assert len(ds[0]['data_samples']) == 2


def to_cocovid(data: dict) -> dict:
    """Per-frame CocoVID conversion (raw track id as instance id)."""
    images, anns = [], []
    for v in data['videos']:
        for fid, name in enumerate(v['file_names']):
            img_id = len(images) + 1
            images.append(dict(id=img_id, file_name=name, height=H,
                               width=W, frame_id=fid, video_id=v['id']))
            for t in data['annotations']:
                if t['video_id'] != v['id'] or t['bboxes'][fid] is None:
                    continue
                anns.append(dict(
                    id=len(anns) + 1, video_id=v['id'], image_id=img_id,
                    category_id=t['category_id'], instance_id=t['id'],
                    bbox=t['bboxes'][fid],
                    segmentation=t['segmentations'][fid],
                    area=t['areas'][fid], iscrowd=t['iscrowd']))
    return dict(categories=data['categories'], images=images,
                videos=[dict(id=v['id'], name=v['file_names'][0][:2])
                        for v in data['videos']],
                annotations=anns)


def comparable(ds) -> list:
    """The parts of a data_list both loaders must agree on."""
    keys = ('img_id', 'img_path', 'frame_id', 'video_id', 'file_name',
            'height', 'width', 'instances')
    return [(v['video_id'], v['video_length'],
             [{k: f[k] for k in keys} for f in v['images']])
            for v in (ds.get_data_info(i) for i in range(len(ds)))]


@pytest.mark.parametrize('test_mode', [True, False])
def test_cocovid_matches_raw_and_mmdet(tmp_path, test_mode):
    raw = ytvis_json()
    classes = ('person', 'dog')  # JSON order: mmdet labels by JSON order
    raw_ds = build(tmp_path, raw, pipeline=[], test_mode=test_mode,
                   metainfo=dict(classes=classes))
    cfg = write(tmp_path, to_cocovid(raw), 'cocovid.json')
    ours = VISDataset(**cfg, pipeline=[], test_mode=test_mode,
                      metainfo=dict(classes=classes))
    mmdet_ds = BaseVideoDataset(**cfg, pipeline=[], test_mode=test_mode,
                                metainfo=dict(classes=classes))
    # mmdet keeps a fully filtered video with video_length 0 (and its
    # unfiltered frames) in train mode; VISDataset drops it
    expected = [v for v in comparable(mmdet_ds) if v[1] > 0]
    assert len(expected) == (3 if test_mode else 2)
    assert comparable(ours) == comparable(raw_ds) == expected


def test_cocovid_train_pipeline(tmp_path):
    cfg = write(tmp_path, to_cocovid(ytvis_json()), 'cocovid.json')
    ds = VISDataset(**cfg, pipeline=TRAIN_PIPELINE,
                    metainfo=dict(classes=CLASSES))
    assert len(ds[1]['data_samples']) == 2


def test_missing_frame_file(tmp_path):
    cfg = write(tmp_path, ytvis_json())
    missing = tmp_path / 'frames' / 'v2' / '00001.jpg'
    missing.unlink()
    with pytest.raises(VISAnnotationError) as info:
        VISDataset(**cfg, pipeline=[])
    assert str(missing) in str(info.value)
    assert 'video id=2' in str(info.value)
    assert len(VISDataset(**cfg, pipeline=[], check_files=False)) == 2


def test_counts_logged_once(tmp_path, monkeypatch):
    messages = []
    monkeypatch.setattr(vis_dataset_module, 'print_log',
                        lambda msg, *a, **k: messages.append(msg))
    build(tmp_path, pipeline=[])
    counts = [m for m in messages if 'annotated frame-instances' in m]
    assert len(counts) == 1
    # 3 videos, 9 frames, instances 11, 12, 13; 4 + 3 + 3 frame-instances
    assert '3 videos, 9 frames, 3 instances, 10 annotated frame-instances' \
        in counts[0]
    assert 'train mode' in counts[0] and 'ann.json' in counts[0]


def test_classes_default_to_json(tmp_path):
    cfg = write(tmp_path, ytvis_json())
    ds = VISDataset(**cfg, pipeline=[], test_mode=True)
    assert ds.metainfo['classes'] == ('person', 'dog', 'cat')


def test_registered_youtube_vis(tmp_path):
    from mmvis_pretrain.registry import DATASETS
    cfg = write(tmp_path, ytvis_json())
    ds = DATASETS.build(dict(type='YouTubeVIS2019Dataset', pipeline=[],
                             test_mode=True, **cfg))
    assert isinstance(ds, YouTubeVIS2019Dataset)
    assert len(ds.metainfo['classes']) == 40
    assert len(YouTubeVIS2021Dataset.METAINFO['classes']) == 40
    # person (label 0) and dog (label 7) by name; 'cat' is class 13 too
    labels = {i['instance_id']: i['bbox_label']
              for v in range(len(ds)) for f in ds.get_data_info(v)['images']
              for i in f['instances']}
    assert labels == {11: 0, 12: 7, 13: 7, 14: 13}


def test_bad_bbox_names_file_and_video(tmp_path):
    data = ytvis_json()
    data['annotations'][2]['bboxes'][1] = [4.0, 6.0, 20.0]
    with pytest.raises(VISAnnotationError) as info:
        build(tmp_path, data, pipeline=[])
    msg = str(info.value)
    assert 'ann.json' in msg and 'video id=2' in msg
    assert 'v2/00000.jpg' in msg and 'annotation id=13' in msg


@pytest.mark.parametrize('seg', ['poly', 'rle', 'crle'])
def test_null_bbox_with_mask_keeps_instance(tmp_path, seg):
    data = ytvis_json()
    data['annotations'][1]['segmentations'] = [SEGMENTATIONS[seg]] * 4
    data['annotations'][1]['bboxes'][2] = None
    data['annotations'][1]['areas'][2] = None
    ds = build(tmp_path, data, pipeline=[], test_mode=True)
    frame = ds.get_data_info(0)['images'][2]
    (inst, ) = [i for i in frame['instances'] if i['instance_id'] == 12]
    assert inst['bbox'] == [4.0, 6.0, 24.0, 16.0]
    assert inst['mask'] == SEGMENTATIONS[seg]


def test_cocovid_without_area_or_instance_id(tmp_path):
    """Missing ``area`` counts as ``w * h`` (mmdet fails on it) and a
    missing ``instance_id`` becomes the index in the frame, like mmdet."""
    data = to_cocovid(ytvis_json())
    for ann in data['annotations']:
        del ann['area']
        if ann['instance_id'] == 12:
            del ann['instance_id']
    ds = VISDataset(**write(tmp_path, data, 'cocovid.json'), pipeline=[],
                    test_mode=True, metainfo=dict(classes=CLASSES))
    frames = ds.get_data_info(0)['images']
    assert [[i['instance_id'] for i in f['instances']] for f in frames] == \
        [[11, 1], [11, 1], [11, 1], [0]]
    assert frames[3]['instances'][0]['bbox'] == [4.0, 6.0, 24.0, 16.0]
