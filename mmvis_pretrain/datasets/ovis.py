"""OVIS (Occluded Video Instance Segmentation) dataset."""
from ..registry import DATASETS
from .vis_dataset import VISDataset

#: OVIS categories in official id order (ids 1..25). ``Vehical`` is spelled
#: as in the official JSON, since classes are matched by name.
OVIS_CLASSES = ('Person', 'Bird', 'Cat', 'Dog', 'Horse', 'Sheep', 'Cow',
                'Elephant', 'Bear', 'Zebra', 'Giraffe', 'Poultry',
                'Giant_panda', 'Lizard', 'Parrot', 'Monkey', 'Rabbit',
                'Tiger', 'Fish', 'Turtle', 'Bicycle', 'Motorcycle',
                'Airplane', 'Boat', 'Vehical')


@DATASETS.register_module()
class OVISDataset(VISDataset):
    """OVIS. ``valid.json`` / ``test.json`` have ``"annotations": null``
    and load in ``test_mode``; per-frame ``occlusion`` labels (when present)
    are kept on the instances."""

    METAINFO = dict(classes=OVIS_CLASSES)
