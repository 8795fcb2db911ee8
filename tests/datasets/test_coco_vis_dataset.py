"""Tests of ``CocoVISDataset``: COCO relabelled into a video label space."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmdet.structures import TrackDataSample

from mmvis_pretrain.datasets.coco_vis_dataset import (CocoVISDataset,
                                                       resolve_category_map)
from mmvis_pretrain.datasets.youtube_vis import YTVIS_2019_CLASSES
from mmvis_pretrain.registry import DATASETS
from mmvis_pretrain.utils import register_all_modules

IMG_W, IMG_H = 40, 30
# Real COCO ids: person -> person, car -> sedan, kite is not mapped.
CATEGORIES = [
    dict(id=1, name='person'),
    dict(id=3, name='car'),
    dict(id=38, name='kite')
]
PERSON, SEDAN = (YTVIS_2019_CLASSES.index('person'),
                 YTVIS_2019_CLASSES.index('sedan'))


def _ann(ann_id, image_id, category_id, x, y, w=10, h=8):
    """A rectangle annotation (polygon segmentation)."""
    return dict(
        id=ann_id, image_id=image_id, category_id=category_id,
        bbox=[x, y, w, h], area=w * h, iscrowd=0,
        segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]])


@pytest.fixture
def coco_root(tmp_path: Path) -> Path:
    """Three images: person + kite, kite only, car."""
    images = []
    for i in range(3):
        name = f'{i}.jpg'
        cv2.imwrite(str(tmp_path / name),
                    np.full((IMG_H, IMG_W, 3), 40 * i, np.uint8))
        images.append(dict(id=i + 1, file_name=name, width=IMG_W,
                           height=IMG_H))
    annotations = [
        _ann(1, 1, 1, 2, 2),
        _ann(2, 1, 38, 20, 10),
        _ann(3, 2, 38, 5, 5),
        _ann(4, 3, 3, 10, 10),
    ]
    (tmp_path / 'instances.json').write_text(json.dumps(dict(
        images=images, annotations=annotations, categories=CATEGORIES)))
    return tmp_path


def _dataset(root: Path, **kwargs) -> CocoVISDataset:
    """The dataset over ``coco_root`` with the YTVIS-2019 map."""
    cfg = dict(
        data_root=str(root), ann_file='instances.json',
        data_prefix=dict(img=''), category_map='coco_to_ytvis2019',
        filter_cfg=dict(filter_empty_gt=True), pipeline=[])
    cfg.update(kwargs)
    return CocoVISDataset(**cfg)


def test_relabel_and_filter(coco_root):
    dataset = _dataset(coco_root)
    assert dataset.metainfo['classes'] == YTVIS_2019_CLASSES
    assert isinstance(dataset.metainfo['classes'], tuple)
    assert dataset.cat2label == {1: PERSON, 3: SEDAN}
    assert len(dataset) == 2  # the kite-only image is filtered
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['img_id'] for info in infos] == [1, 3]
    assert [[inst['bbox_label'] for inst in info['instances']]
            for info in infos] == [[PERSON], [SEDAN]]
    assert infos[0]['instances'][0]['bbox'] == [2, 2, 12, 10]


def test_test_mode_keeps_empty_images(coco_root):
    dataset = _dataset(coco_root, test_mode=True)
    assert len(dataset) == 3
    assert dataset.get_data_info(1)['instances'] == []


def test_no_filter_keeps_empty_images(coco_root):
    dataset = _dataset(coco_root, filter_cfg=None)
    assert len(dataset) == 3


def test_dict_map_with_classes(coco_root):
    dataset = _dataset(
        coco_root, category_map={'kite': 'thing', 'car': 'thing'},
        metainfo=dict(classes=['other', 'thing']))
    assert dataset.metainfo['classes'] == ('other', 'thing')
    assert dataset.cat2label == {3: 1, 38: 1}
    assert len(dataset) == 3
    labels = [inst['bbox_label'] for i in range(3)
              for inst in dataset.get_data_info(i)['instances']]
    assert labels == [1, 1, 1]


def test_bad_maps():
    with pytest.raises(ValueError, match='needs the target classes'):
        resolve_category_map({'car': 'sedan'})
    with pytest.raises(ValueError, match='not in the classes'):
        resolve_category_map({'car': 'sedan'}, classes=['person'])
    # a named map takes a subset of its targets (a config's class subset),
    # but no class outside them (a typo would otherwise get no data)
    with pytest.raises(ValueError, match=r"\['persn'\] are not target"):
        resolve_category_map('coco_to_ytvis2019', classes=['persn'])


def test_named_map_class_subset():
    full, _ = resolve_category_map('coco_to_ytvis2019')
    mapping, classes = resolve_category_map(
        'coco_to_ytvis2019', classes=['sedan', 'person'])
    assert classes == ('sedan', 'person')
    assert mapping == {src: dst for src, dst in full.items()
                       if dst in ('sedan', 'person')}
    assert set(mapping.values()) == {'sedan', 'person'}
    with pytest.raises(KeyError, match='unknown category map'):
        resolve_category_map('coco_to_nothing')


def test_registered(coco_root):
    register_all_modules()
    dataset = DATASETS.build(dict(
        type='CocoVISDataset', data_root=str(coco_root),
        ann_file='instances.json', data_prefix=dict(img=''),
        category_map='coco_to_ovis', pipeline=[]))
    assert len(dataset.metainfo['classes']) == 25
    assert set(dataset.cat2label) == {1, 3}


def test_pseudo_video_pipeline(coco_root):
    """ImageToClip + PackTrackInputs: a 2-frame clip with target labels."""
    register_all_modules()
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True,
             poly2mask=True),
        dict(type='ImageToClip', num_frames=2),
        dict(type='PackTrackInputs'),
    ]
    dataset = _dataset(coco_root, pipeline=pipeline)
    for idx, label in enumerate([PERSON, SEDAN]):
        sample = dataset[idx]
        track = sample['data_samples']
        assert isinstance(track, TrackDataSample)
        assert len(track) == 2
        assert tuple(sample['inputs'].shape) == (2, 3, IMG_H, IMG_W)
        for frame in track:
            assert frame.gt_instances.labels.tolist() == [label]
            assert frame.gt_instances.instances_ids.tolist() == [1]
            assert tuple(frame.gt_instances.masks.masks.shape) == (
                1, IMG_H, IMG_W)
