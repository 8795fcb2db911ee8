"""Tests of the COCO -> video category maps."""
import pytest
from mmdet.datasets import CocoDataset

from mmvis_pretrain.datasets.category_maps import (CATEGORY_MAPS,
                                                   available_category_maps,
                                                   get_category_map,
                                                   get_target_classes)
from mmvis_pretrain.datasets.ovis import OVIS_CLASSES
from mmvis_pretrain.datasets.synthetic.categories import SYNTHETIC_CLASSES
from mmvis_pretrain.datasets.youtube_vis import (YTVIS_2019_CLASSES,
                                                 YTVIS_2021_CLASSES)

COCO_CLASSES = CocoDataset.METAINFO['classes']
# The 80 official COCO category ids, in the order of mmdet's class list.
COCO_IDS = (list(range(1, 12)) + list(range(13, 26)) + [27, 28] +
            list(range(31, 45)) + list(range(46, 66)) + [67, 70] +
            list(range(72, 83)) + list(range(84, 91)))
# The id-level maps as published in KainingYing/CTVIS,
# ctvis/data/vis/builtin.py (COCO id -> 1-based video category id).
REFERENCE_ID_MAPS = {
    'coco_to_ytvis2019': {
        1: 1, 2: 21, 3: 6, 4: 21, 5: 28, 7: 17, 8: 29, 9: 34, 17: 14,
        18: 8, 19: 18, 21: 15, 22: 32, 23: 20, 24: 30, 25: 22, 35: 33,
        36: 33, 41: 5, 42: 27, 43: 40
    },
    'coco_to_ytvis2021': {
        1: 26, 2: 23, 3: 5, 4: 23, 5: 1, 7: 36, 8: 37, 9: 4, 16: 3, 17: 6,
        18: 9, 19: 19, 21: 7, 22: 12, 23: 2, 24: 40, 25: 18, 34: 14,
        35: 31, 36: 31, 41: 29, 42: 33, 43: 34
    },
    'coco_to_ovis': {
        1: 1, 2: 21, 3: 25, 4: 22, 5: 23, 6: 25, 8: 25, 9: 24, 17: 3,
        18: 4, 19: 5, 20: 6, 21: 7, 22: 8, 23: 9, 24: 10, 25: 11
    },
}
TARGETS = {
    'coco_to_ytvis2019': YTVIS_2019_CLASSES,
    'coco_to_ytvis2021': YTVIS_2021_CLASSES,
    'coco_to_ovis': OVIS_CLASSES,
}


def test_available_names():
    assert set(available_category_maps()) == {
        'coco_to_ytvis2019', 'coco_to_ytvis2021', 'coco_to_ovis',
        'synthetic_to_synthetic'
    }
    assert set(CATEGORY_MAPS) == set(available_category_maps())


@pytest.mark.parametrize('name', sorted(TARGETS))
def test_names_exist(name):
    """Every source name is a COCO class, every target a target class."""
    mapping = get_category_map(name)
    assert set(mapping) <= set(COCO_CLASSES)
    assert set(mapping.values()) <= set(TARGETS[name])
    assert get_target_classes(name) == tuple(TARGETS[name])


@pytest.mark.parametrize('name', sorted(REFERENCE_ID_MAPS))
def test_matches_reference_ids(name):
    """The name maps are exactly the published id maps, translated."""
    assert len(COCO_IDS) == len(COCO_CLASSES) == 80
    coco_name = dict(zip(COCO_IDS, COCO_CLASSES))
    expected = {
        coco_name[coco_id]: TARGETS[name][target_id - 1]
        for coco_id, target_id in REFERENCE_ID_MAPS[name].items()
    }
    assert get_category_map(name) == expected


def test_spot_checks():
    assert get_category_map('coco_to_ytvis2019')['car'] == 'sedan'
    assert get_category_map('coco_to_ytvis2019')['tennis racket'] == \
        'tennis_racket'
    assert get_category_map('coco_to_ytvis2021')['frisbee'] == 'flying_disc'
    assert get_category_map('coco_to_ovis')['bus'] == 'Vehical'
    assert 'bird' not in get_category_map('coco_to_ytvis2019')


def test_synthetic_identity():
    mapping = get_category_map('synthetic_to_synthetic')
    assert mapping == {name: name for name in SYNTHETIC_CLASSES}
    assert set(mapping) <= set(COCO_CLASSES)
    assert get_target_classes('synthetic_to_synthetic') == \
        tuple(SYNTHETIC_CLASSES)


def test_returns_copy():
    mapping = get_category_map('coco_to_ovis')
    mapping['person'] = 'Bird'
    assert get_category_map('coco_to_ovis')['person'] == 'Person'


def test_unknown_name():
    with pytest.raises(KeyError, match='coco_to_ytvis2019'):
        get_category_map('coco_to_kitti')
    with pytest.raises(KeyError, match='unknown category map'):
        get_target_classes('nope')
