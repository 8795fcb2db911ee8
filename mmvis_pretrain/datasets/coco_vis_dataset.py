"""COCO images relabelled into a video label space (for pseudo-videos)."""
import copy
import logging
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mmdet.datasets import CocoDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from ..registry import DATASETS
from .category_maps import get_category_map, get_target_classes


def resolve_category_map(
        category_map: Union[str, Mapping[str, str]],
        classes: Optional[Sequence[str]] = None
) -> Tuple[Dict[str, str], Tuple[str, ...]]:
    """Resolve a category map and the target classes.

    A named map with ``classes`` that are a subset of its target classes (a
    config's class subset, ``docs/class_set.md``) keeps only the entries
    whose target is in ``classes``: the other source categories are dropped
    like any category outside the map.

    Args:
        category_map (str | dict): A name known to
            :func:`~.category_maps.get_category_map` or a
            ``{source name: target name}`` dict.
        classes (Sequence[str], optional): The target class list. Defaults
            to the named map's target classes (required for a dict map).

    Returns:
        tuple: The ``{source name: target name}`` dict and the target
        classes as a tuple.

    Raises:
        ValueError: if a dict map comes without ``classes``, a target name
            of a dict map is not among ``classes``, or ``classes`` names a
            class that is not a target class of a named map.
    """
    if isinstance(category_map, str):
        mapping = get_category_map(category_map)
        targets = get_target_classes(category_map)
        if classes is None:
            classes = targets
        unknown = [c for c in classes if c not in targets]
        if unknown:
            raise ValueError(
                f'classes {unknown} are not target classes of the category '
                f'map {category_map!r} ({list(targets)})')
        kept = set(classes)
        mapping = {src: dst for src, dst in mapping.items() if dst in kept}
    else:
        mapping = dict(category_map)
        if classes is None:
            raise ValueError('a dict category_map needs the target classes: '
                             'pass metainfo=dict(classes=[...])')
    classes = tuple(classes)
    missing = sorted(set(mapping.values()) - set(classes))
    if missing:
        raise ValueError(f'category_map targets {missing} are not in the '
                         f'classes {classes}')
    return mapping, classes


@DATASETS.register_module()
class CocoVISDataset(CocoDataset):
    """A COCO-format instance set relabelled into a video label space.

    The image side of joint image + video training (CTVIS, IDOL, VITA ...):
    COCO annotations are relabelled by a category map (COCO name -> target
    name, see :mod:`~mmvis_pretrain.datasets.category_maps`) into the label
    space of a video set, e.g. the 40 YouTube-VIS 2019 classes, so a VIS
    model's ``num_classes`` fits both sources.

    * ``metainfo['classes']`` is the **target** class list (all of it, also
      classes no COCO category maps to), as a tuple like the video datasets'
      ``METAINFO``, so mmengine's ``ConcatDataset`` accepts the pair without
      ``ignore_keys``. There is no ``palette`` (COCO's 80 colours would not
      fit), matching :class:`~mmvis_pretrain.datasets.VISDataset`.
    * The mapping is applied at the category-id level: ``cat2label`` maps
      every COCO category id whose name is in the map to the index of its
      target name (several ids may share a label); ``cat_ids`` lists the
      mapped ids. Annotations of unmapped categories are dropped by
      ``CocoDataset.parse_data_info`` (reused unchanged).
    * In training with ``filter_cfg=dict(filter_empty_gt=True)``, images left
      without instances after relabelling are dropped (mmdet's filter plus a
      check of the parsed instances, which also drops images whose mapped
      annotations were all invalid).

    It returns **image** samples; the pipeline turns them into clips, e.g.
    ``LoadImageFromFile`` -> ``LoadAnnotations(with_mask=True,
    poly2mask=True)`` -> ``ImageToClip(num_frames=T)`` -> clip transforms ->
    ``PackTrackInputs``.

    Args:
        ann_file (str): The COCO-format instance JSON.
        category_map (str | dict): A map name (``'coco_to_ytvis2019'``,
            ``'coco_to_ytvis2021'``, ``'coco_to_ovis'``,
            ``'synthetic_to_synthetic'``) or a ``{source name: target name}``
            dict. Defaults to ``'coco_to_ytvis2019'``.
        metainfo (dict, optional): ``classes`` overrides the target classes
            of a named map (required with a dict map); every target name of
            the map must be among them.
        **kwargs: See :class:`mmdet.datasets.CocoDataset`.
    """

    METAINFO = dict(classes=None)

    def __init__(self,
                 ann_file: str = '',
                 *,
                 category_map: Union[str, Mapping[str, str]] = (
                     'coco_to_ytvis2019'),
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        metainfo = dict(metainfo or {})
        self.category_map, metainfo['classes'] = resolve_category_map(
            category_map, metainfo.get('classes'))
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the JSON, relabel by the category map and parse each image.

        Returns:
            list[dict]: One data info per image (``CocoDataset`` format).
        """
        with get_local_path(
                self.ann_file, backend_args=self.backend_args) as local_path:
            coco = self.COCOAPI(local_path)
        self._set_label_map(coco.load_cats(coco.get_cat_ids()))
        self.cat_img_map = copy.deepcopy(coco.cat_img_map)
        data_list, ann_ids = [], []
        for img_id in coco.get_img_ids():
            raw_img_info = coco.load_imgs([img_id])[0]
            raw_img_info['img_id'] = img_id
            img_ann_ids = coco.get_ann_ids(img_ids=[img_id])
            ann_ids.extend(img_ann_ids)
            data_list.append(self.parse_data_info(dict(
                raw_img_info=raw_img_info,
                raw_ann_info=coco.load_anns(img_ann_ids))))
        if self.ANN_ID_UNIQUE and len(set(ann_ids)) != len(ann_ids):
            raise ValueError(
                f"Annotation ids in '{self.ann_file}' are not unique!")
        return data_list

    def _set_label_map(self, categories: Sequence[dict]) -> None:
        """Set ``cat_ids`` / ``cat2label`` from the file's categories.

        Args:
            categories (Sequence[dict]): The JSON's ``categories``
                (``id``, ``name``).
        """
        label_of = {name: i for i, name in enumerate(self.metainfo['classes'])}
        self.cat2label = {
            cat['id']: label_of[self.category_map[cat['name']]]
            for cat in sorted(categories, key=lambda c: c['id'])
            if cat['name'] in self.category_map
        }
        self.cat_ids = list(self.cat2label)
        absent = sorted(
            set(self.category_map) - {cat['name'] for cat in categories})
        if absent:
            print_log(
                f'{type(self).__name__}: mapped categories {absent} are not '
                f'in {self.ann_file}', 'current', level=logging.WARNING)

    def filter_data(self) -> List[dict]:
        """mmdet's filter, then (``filter_empty_gt``) drop images without
        parsed instances.

        Returns:
            list[dict]: The kept data infos (all of them in ``test_mode``).
        """
        data_list = super().filter_data()
        if self.test_mode or not (self.filter_cfg or {}).get(
                'filter_empty_gt', False):
            return data_list
        return [info for info in data_list if info['instances']]


__all__ = ['CocoVISDataset', 'resolve_category_map']
