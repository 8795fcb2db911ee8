"""Datasets: raw YouTube-VIS / OVIS / CocoVID loading, validation, splits."""
from . import transforms  # noqa: F401  (registers the transforms)
from .category_maps import (available_category_maps, get_category_map,
                            get_target_classes)
from .coco_vis_dataset import CocoVISDataset
from .ovis import OVIS_CLASSES, OVISDataset
from .samplers import RatioSampler
from .synthetic import SYNTHETIC_CLASSES, make_synthetic_data
from .synthetic_vis import SyntheticCocoDataset, SyntheticVISDataset
from .vis_dataset import VISDataset
from .vis_json import (VISAnnotationError, detect_format, load_vis_json,
                       validate_vis_json)
from .vis_split import split_vis_json
from .youtube_vis import (YTVIS_2019_CLASSES, YTVIS_2021_CLASSES,
                          YouTubeVIS2019Dataset, YouTubeVIS2021Dataset)

__all__ = [
    'VISDataset', 'YouTubeVIS2019Dataset', 'YouTubeVIS2021Dataset',
    'OVISDataset', 'VISAnnotationError', 'detect_format', 'load_vis_json',
    'validate_vis_json', 'split_vis_json', 'YTVIS_2019_CLASSES',
    'YTVIS_2021_CLASSES', 'OVIS_CLASSES', 'SYNTHETIC_CLASSES',
    'make_synthetic_data', 'SyntheticVISDataset', 'SyntheticCocoDataset',
    'CocoVISDataset', 'RatioSampler', 'get_category_map',
    'get_target_classes', 'available_category_maps'
]

