"""YouTube-VIS 2019 and 2021 datasets (official 40-class lists)."""
from ..registry import DATASETS
from .vis_dataset import VISDataset

#: YouTube-VIS 2019 categories in official id order (ids 1..40).
YTVIS_2019_CLASSES = ('person', 'giant_panda', 'lizard', 'parrot',
                      'skateboard', 'sedan', 'ape', 'dog', 'snake', 'monkey',
                      'hand', 'rabbit', 'duck', 'cat', 'cow', 'fish', 'train',
                      'horse', 'turtle', 'bear', 'motorbike', 'giraffe',
                      'leopard', 'fox', 'deer', 'owl', 'surfboard',
                      'airplane', 'truck', 'zebra', 'tiger', 'elephant',
                      'snowboard', 'boat', 'shark', 'mouse', 'frog', 'eagle',
                      'earless_seal', 'tennis_racket')

#: YouTube-VIS 2021 categories in official id order (ids 1..40).
YTVIS_2021_CLASSES = ('airplane', 'bear', 'bird', 'boat', 'car', 'cat', 'cow',
                      'deer', 'dog', 'duck', 'earless_seal', 'elephant',
                      'fish', 'flying_disc', 'fox', 'frog', 'giant_panda',
                      'giraffe', 'horse', 'leopard', 'lizard', 'monkey',
                      'motorbike', 'mouse', 'parrot', 'person', 'rabbit',
                      'shark', 'skateboard', 'snake', 'snowboard', 'squirrel',
                      'surfboard', 'tennis_racket', 'tiger', 'train', 'truck',
                      'turtle', 'whale', 'zebra')


@DATASETS.register_module()
class YouTubeVIS2019Dataset(VISDataset):
    """YouTube-VIS 2019 (raw ``train.json`` / ``valid.json`` or CocoVID)."""

    METAINFO = dict(classes=YTVIS_2019_CLASSES)


@DATASETS.register_module()
class YouTubeVIS2021Dataset(VISDataset):
    """YouTube-VIS 2021 (raw ``instances.json`` or CocoVID)."""

    METAINFO = dict(classes=YTVIS_2021_CLASSES)
