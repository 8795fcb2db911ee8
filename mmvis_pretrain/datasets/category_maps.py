"""COCO -> video label-space category maps for joint image + video training.

Online VIS methods (IDOL, MinVIS, VITA, CTVIS, DVIS ...) add COCO images,
turned into pseudo-videos, to the YouTube-VIS / OVIS training set. COCO
categories with a counterpart in the video label space are relabelled to it;
all other COCO categories are dropped.

The correspondences are facts taken from the public reference code, where
they are written as COCO category id -> video category id dicts
(``COCO_TO_YTVIS_2019``, ``COCO_TO_YTVIS_2021``, ``COCO_TO_OVIS`` in
``ctvis/data/vis/builtin.py`` of KainingYing/CTVIS; the same dicts appear in
IDOL, VITA and DVIS). Here they are translated to **names**: COCO class names
as spelled in mmdet's ``CocoDataset.METAINFO['classes']`` and target names as
spelled in :data:`YTVIS_2019_CLASSES`, :data:`YTVIS_2021_CLASSES` and
:data:`OVIS_CLASSES`, so a map never depends on id layouts.

Notable many-to-one entries: bicycle and motorcycle -> ``motorbike``, skis
and snowboard -> ``snowboard`` (YouTube-VIS); car, bus and truck ->
``Vehical`` (OVIS). The reference OVIS map has no entry for COCO ``bird``
(OVIS ``Bird``); that is reproduced as published.

``synthetic_to_synthetic`` is the identity on :data:`SYNTHETIC_CLASSES` (the
bundled synthetic set uses COCO names).
"""
from types import MappingProxyType
from typing import Dict, Mapping, Tuple

from .ovis import OVIS_CLASSES
from .synthetic.categories import SYNTHETIC_CLASSES
from .youtube_vis import YTVIS_2019_CLASSES, YTVIS_2021_CLASSES

#: COCO name -> YouTube-VIS 2019 name (CTVIS ``COCO_TO_YTVIS_2019``).
COCO_TO_YTVIS_2019: Mapping[str, str] = MappingProxyType({
    'person': 'person',
    'bicycle': 'motorbike',
    'car': 'sedan',
    'motorcycle': 'motorbike',
    'airplane': 'airplane',
    'train': 'train',
    'truck': 'truck',
    'boat': 'boat',
    'cat': 'cat',
    'dog': 'dog',
    'horse': 'horse',
    'cow': 'cow',
    'elephant': 'elephant',
    'bear': 'bear',
    'zebra': 'zebra',
    'giraffe': 'giraffe',
    'skis': 'snowboard',
    'snowboard': 'snowboard',
    'skateboard': 'skateboard',
    'surfboard': 'surfboard',
    'tennis racket': 'tennis_racket',
})

#: COCO name -> YouTube-VIS 2021 name (CTVIS ``COCO_TO_YTVIS_2021``).
COCO_TO_YTVIS_2021: Mapping[str, str] = MappingProxyType({
    'person': 'person',
    'bicycle': 'motorbike',
    'car': 'car',
    'motorcycle': 'motorbike',
    'airplane': 'airplane',
    'train': 'train',
    'truck': 'truck',
    'boat': 'boat',
    'bird': 'bird',
    'cat': 'cat',
    'dog': 'dog',
    'horse': 'horse',
    'cow': 'cow',
    'elephant': 'elephant',
    'bear': 'bear',
    'zebra': 'zebra',
    'giraffe': 'giraffe',
    'frisbee': 'flying_disc',
    'skis': 'snowboard',
    'snowboard': 'snowboard',
    'skateboard': 'skateboard',
    'surfboard': 'surfboard',
    'tennis racket': 'tennis_racket',
})

#: COCO name -> OVIS name (CTVIS ``COCO_TO_OVIS``).
COCO_TO_OVIS: Mapping[str, str] = MappingProxyType({
    'person': 'Person',
    'bicycle': 'Bicycle',
    'car': 'Vehical',
    'motorcycle': 'Motorcycle',
    'airplane': 'Airplane',
    'bus': 'Vehical',
    'truck': 'Vehical',
    'boat': 'Boat',
    'cat': 'Cat',
    'dog': 'Dog',
    'horse': 'Horse',
    'sheep': 'Sheep',
    'cow': 'Cow',
    'elephant': 'Elephant',
    'bear': 'Bear',
    'zebra': 'Zebra',
    'giraffe': 'Giraffe',
})

#: Identity on the synthetic set's classes.
SYNTHETIC_TO_SYNTHETIC: Mapping[str, str] = MappingProxyType(
    {name: name for name in SYNTHETIC_CLASSES})

#: name -> (source name -> target name, target class list).
CATEGORY_MAPS: Mapping[str, Tuple[Mapping[str, str], Tuple[str, ...]]] = \
    MappingProxyType({
        'coco_to_ytvis2019': (COCO_TO_YTVIS_2019, YTVIS_2019_CLASSES),
        'coco_to_ytvis2021': (COCO_TO_YTVIS_2021, YTVIS_2021_CLASSES),
        'coco_to_ovis': (COCO_TO_OVIS, OVIS_CLASSES),
        'synthetic_to_synthetic': (SYNTHETIC_TO_SYNTHETIC,
                                   tuple(SYNTHETIC_CLASSES)),
    })


def _lookup(name: str) -> Tuple[Mapping[str, str], Tuple[str, ...]]:
    """The registered entry of ``name``, with a clear error if unknown."""
    if name not in CATEGORY_MAPS:
        raise KeyError(f'unknown category map {name!r}; available: '
                       f'{sorted(CATEGORY_MAPS)}')
    return CATEGORY_MAPS[name]


def get_category_map(name: str) -> Dict[str, str]:
    """The category map ``name`` as a new ``{source name: target name}`` dict.

    Args:
        name (str): ``'coco_to_ytvis2019'``, ``'coco_to_ytvis2021'``,
            ``'coco_to_ovis'`` or ``'synthetic_to_synthetic'``.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    return dict(_lookup(name)[0])


def get_target_classes(name: str) -> Tuple[str, ...]:
    """The full target class list of the category map ``name``.

    E.g. the 40 YouTube-VIS 2019 classes for ``'coco_to_ytvis2019'``: a
    dataset relabelled with the map has these as ``metainfo['classes']``,
    including the classes no source category maps to.
    """
    return tuple(_lookup(name)[1])


def available_category_maps() -> Tuple[str, ...]:
    """The names :func:`get_category_map` accepts."""
    return tuple(CATEGORY_MAPS)


__all__ = [
    'COCO_TO_YTVIS_2019', 'COCO_TO_YTVIS_2021', 'COCO_TO_OVIS',
    'SYNTHETIC_TO_SYNTHETIC', 'CATEGORY_MAPS', 'get_category_map',
    'get_target_classes', 'available_category_maps'
]
