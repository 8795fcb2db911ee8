"""Datasets over the generated synthetic video / image sets."""
from mmdet.datasets import CocoDataset

from ..registry import DATASETS
from .synthetic.categories import SYNTHETIC_CLASSES
from .vis_dataset import VISDataset


@DATASETS.register_module()
class SyntheticVISDataset(VISDataset):
    """The synthetic video set (raw YouTube-VIS JSON)."""

    METAINFO = dict(classes=SYNTHETIC_CLASSES)


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """The synthetic image set (COCO JSON), same classes as the videos."""

    METAINFO = dict(classes=SYNTHETIC_CLASSES, palette=None)
