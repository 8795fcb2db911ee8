"""Video instance segmentation dataset over raw or CocoVID JSON."""
import logging
from typing import Dict, List, Optional, Sequence

from mmdet.datasets import BaseVideoDataset
from mmengine.logging import print_log

from ..registry import DATASETS
from .vis_json import load_vis_json, video_frames


@DATASETS.register_module()
class VISDataset(BaseVideoDataset):
    """Video instance segmentation dataset.

    ``ann_file`` may be a raw YouTube-VIS 2019 / 2021 / OVIS JSON or mmdet's
    CocoVID conversion of one; both are validated by
    :mod:`mmvis_pretrain.datasets.vis_json` and parsed into exactly the
    ``data_list`` of :class:`mmdet.datasets.BaseVideoDataset`, so mmdet's
    video pipelines (``UniformRefFrameSample``, ``TransformBroadcaster``,
    ``LoadTrackAnnotations``, ``PackTrackInputs``) work unchanged.

    Categories are mapped to ``metainfo['classes']`` **by name** (label =
    index in ``classes``); annotations of other categories are dropped.
    Without ``classes`` in the metainfo, all categories of the file are used
    in id order. Raw annotation ids become the ``instance_id`` (>= 1).

    Args:
        check_files (bool): Fail with the missing path and its video if a
            frame file does not exist under ``data_prefix['img_path']``.
            Skipped for non-local (URI) roots. Defaults to True.
        *args, **kwargs: See :class:`mmdet.datasets.BaseVideoDataset`.
    """

    METAINFO = dict(classes=None)

    def __init__(self, *args, check_files: bool = True, **kwargs) -> None:
        self.check_files = check_files
        super().__init__(*args, **kwargs)

    def _img_root_to_check(self) -> Optional[str]:
        """The local image root to verify, ``None`` when not checking."""
        if not self.check_files:
            return None
        root = self.data_prefix.get('img_path') or ''
        return None if '://' in root else root

    def _map_classes(self, categories: Sequence[dict]) -> None:
        """Set ``cat_ids`` / ``cat2label`` by matching category names.

        A metainfo class is matched to the category of the same name, or,
        failing that, case-insensitively.
        """
        classes = self.metainfo.get('classes')
        if classes is None:
            classes = tuple(
                c['name'] for c in sorted(categories, key=lambda c: c['id']))
            self._metainfo['classes'] = classes
        exact = {c['name']: c['id'] for c in categories}
        folded = {c['name'].lower(): c['id'] for c in categories}
        self.cat2label: Dict[int, int] = {}
        unmatched = []
        for label, name in enumerate(classes):
            cat_id = exact.get(name, folded.get(str(name).lower()))
            if cat_id is None:
                unmatched.append(name)
            else:
                self.cat2label[cat_id] = label
        self.cat_ids = list(self.cat2label)
        if unmatched:
            print_log(
                f'{type(self).__name__}: classes {unmatched} have no category '
                f'in {self.ann_file}', 'current', level=logging.WARNING)

    def load_data_list(self) -> List[dict]:
        """Read, validate and parse ``ann_file``.

        Returns:
            list[dict]: Per video ``dict(video_id, images, video_length)``.
        """
        data, fmt = load_vis_json(self.ann_file, self._img_root_to_check(),
                                  self.backend_args)
        self._map_classes(data['categories'])
        self.cat_img_map: Dict[int, List[int]] = {
            c['id']: []
            for c in data['categories']
        }
        self.img_ids_with_ann = set()
        data_list = [self._parse_video(v) for v in video_frames(data, fmt)]
        self._log_counts(data_list, fmt)
        return data_list

    def _parse_video(self, video: dict) -> dict:
        """One video of :func:`video_frames` as mmdet's video data info."""
        images = []
        for frame in video['frames']:
            anns = frame.pop('anns')
            for ann in anns:
                self.cat_img_map.setdefault(ann['category_id'],
                                            []).append(frame['img_id'])
            info = self.parse_data_info(
                dict(raw_img_info=frame, raw_ann_info=anns))
            if info['instances']:
                self.img_ids_with_ann.add(info['img_id'])
            images.append(info)
        return dict(
            video_id=video['video_id'],
            images=images,
            video_length=len(images))

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one frame and its per-frame annotations.

        :meth:`BaseVideoDataset.parse_data_info` does the work (image path,
        skipping of ignored, zero-area, out-of-image and out-of-class
        annotations, ``bbox_label`` by ``cat2label``, which
        :meth:`_map_classes` built by name); this override only adds a
        missing ``area`` (``w * h``, where mmdet would fail) and keeps the
        extra per-frame keys (e.g. OVIS ``occlusion``), which mmdet drops.

        Args:
            raw_data_info (dict): ``raw_img_info`` (a frame) and
                ``raw_ann_info`` (its annotations).

        Returns:
            dict: The frame's data info with ``img_path`` and ``instances``.
        """
        img_info = raw_data_info['raw_img_info']
        info = super().parse_data_info(
            dict(raw_img_info=img_info, raw_ann_info=[]))
        info['instances'] = [
            inst for i, ann in enumerate(raw_data_info['raw_ann_info'])
            if (inst := self._parse_instance(ann, i, img_info)) is not None
        ]
        return info

    def _parse_instance(self, ann: dict, index: int,
                        img_info: dict) -> Optional[dict]:
        """One annotation as an mmdet instance, ``None`` if it is skipped.

        mmdet's instances do not say which annotation they came from, so each
        annotation is passed to :meth:`BaseVideoDataset.parse_data_info` on
        its own; ``index`` is the annotation's index in the frame, mmdet's
        ``instance_id`` when the annotation has none.
        """
        if ann.get('area') is None:
            ann = dict(ann, area=ann['bbox'][2] * ann['bbox'][3])
        parsed = super().parse_data_info(
            dict(raw_img_info=img_info, raw_ann_info=[ann]))['instances']
        if not parsed:
            return None
        instance = parsed[0]
        instance['instance_id'] = ann.get('instance_id') or index
        for key, value in ann.get('extra', {}).items():
            instance.setdefault(key, value)
        return instance

    def _log_counts(self, data_list: List[dict], fmt: str) -> None:
        """Log videos, frames, instances and annotated frame-instances."""
        frames = [f for v in data_list for f in v['images']]
        instances = {(v['video_id'], inst['instance_id'])
                     for v in data_list for f in v['images']
                     for inst in f['instances']}
        num_frame_insts = sum(len(f['instances']) for f in frames)
        split = 'test' if self.test_mode else 'train'
        print_log(
            f'{type(self).__name__} ({split} mode, {fmt} JSON) '
            f'{self.ann_file}: {len(data_list)} videos, {len(frames)} '
            f'frames, {len(instances)} instances, {num_frame_insts} '
            'annotated frame-instances', 'current')

    def filter_data(self) -> List[dict]:
        """mmdet's :meth:`BaseVideoDataset.filter_data`, then drop videos
        left without frames.

        mmdet keeps such a video with ``video_length`` 0 *and its unfiltered
        ``images``* (the loop ``continue``-s before re-assigning them), on
        which ``UniformRefFrameSample`` fails.

        Returns:
            list[dict]: The filtered videos.
        """
        data_list = super().filter_data()
        if self.test_mode:
            return data_list
        kept = [v for v in data_list if v['video_length'] > 0]
        if len(kept) < len(data_list):
            print_log(
                f'{type(self).__name__}: dropped {len(data_list) - len(kept)}'
                ' videos without frames after filtering', 'current')
        return kept
