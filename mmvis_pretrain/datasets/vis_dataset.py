"""Video instance segmentation dataset over raw or CocoVID JSON."""
import logging
from typing import Any, Dict, List, Optional, Sequence

from mmdet.datasets import BaseVideoDataset
from mmengine.logging import print_log

from ..registry import DATASETS
from ..structures import SegmentationChecker
from .vis_json import (VISAnnotationError, annotations_of, load_vis_json,
                       video_frames)

#: When the compressed RLE masks of a file are decoded to check their size.
MASK_CHECKS = ('lazy', 'eager')


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

    Bad input fails with a :class:`VISAnnotationError` naming the file,
    video, annotation and frame (see ``docs/reliability.md``): every mask is
    checked against its frame's size at load time, except that decoding the
    runs of compressed RLE strings (to check that they cover ``H * W``
    pixels) is done per video when it is first used with
    ``mask_check='lazy'`` (about half the load time of a large file
    otherwise); a training set that filtering leaves empty names the filter
    that emptied it; an error while a frame goes through the pipeline (e.g.
    a corrupt JPEG) carries a note naming the video and the frame.

    Args:
        check_files (bool): Fail with the missing path and its video if a
            frame file does not exist under ``data_prefix['img_path']``.
            Skipped for non-local (URI) roots. Defaults to True.
        mask_check (str): ``'lazy'`` (default): compressed RLE masks are
            decoded and checked when their video is first fetched (once per
            video and process), before the pipeline decodes them;
            ``'eager'``: all of them at load time.
        *args, **kwargs: See :class:`mmdet.datasets.BaseVideoDataset`.
    """

    METAINFO = dict(classes=None)

    def __init__(self,
                 *args,
                 check_files: bool = True,
                 mask_check: str = 'lazy',
                 **kwargs) -> None:
        if mask_check not in MASK_CHECKS:
            raise ValueError(f'{type(self).__name__}: mask_check must be one '
                             f'of {MASK_CHECKS}, got {mask_check!r}')
        self.check_files = check_files
        self.mask_check = mask_check
        self._masks_checked = set()
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
        data, fmt = load_vis_json(
            self.ann_file, self._img_root_to_check(), self.backend_args,
            decode_compressed=self.mask_check == 'eager')
        self._map_classes(data['categories'])
        self._raw_counts = dict(
            videos=len(data['videos']),
            annotations=len(annotations_of(data)),
            annotations_key=('missing' if 'annotations' not in data else
                             'null' if data['annotations'] is None else
                             'a list'),
            in_classes=sum(1 for a in annotations_of(data)
                           if a.get('category_id') in self.cat2label))
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

    def prepare_data(self, idx) -> Any:
        """mmdet's :meth:`BaseVideoDataset.prepare_data`, after checking the
        video's compressed masks (``mask_check='lazy'``); an error in the
        pipeline gets a note naming the video and frame.

        Args:
            idx (int | tuple): Video index or ``(video index, frame index)``.

        Returns:
            Any: The pipeline's output.
        """
        video_idx = idx[0] if isinstance(idx, tuple) else idx
        if self.mask_check == 'lazy' and video_idx not in self._masks_checked:
            self._check_video_masks(video_idx)
            self._masks_checked.add(video_idx)
        try:
            return super().prepare_data(idx)
        except Exception as err:
            self._add_frame_note(err, video_idx)
            raise

    def _video_name(self, video: dict) -> str:
        """``video id=N (first frame 'path')`` for messages."""
        first = video['images'][0]['img_path'] if video['images'] else None
        where = f" (first frame '{first}')" if first else ''
        return f"video id={video['video_id']!r}{where}"

    def _check_video_masks(self, video_idx: int) -> None:
        """Decode and check the compressed RLE masks of one video."""
        video = self.get_data_info(video_idx)

        def fail(where, problem):
            frame, inst = where
            raise VISAnnotationError(
                f'{self.ann_file}, {self._video_name(video)}: annotation '
                f"instance_id={inst.get('instance_id')!r}, frame "
                f"{frame.get('frame_id')!r} ('{frame['img_path']}'): "
                f'{problem}')

        checker = SegmentationChecker(fail)
        for frame in video['images']:
            for inst in frame['instances']:
                mask = inst.get('mask')
                if isinstance(mask, dict) and isinstance(
                        mask.get('counts'), (str, bytes)):
                    checker.add(mask, frame['height'], frame['width'],
                                (frame, inst))
        checker.finish()

    def _add_frame_note(self, err: Exception, video_idx: int) -> None:
        """Say which video (and frame, when the error names its file) of
        ``ann_file`` the pipeline failed on."""
        video = self.get_data_info(video_idx)  # data_list may be serialised
        frame = next((f for f in video['images']
                      if f.get('img_path') and f['img_path'] in str(err)),
                     None)
        where = (f"frame {frame.get('frame_id')!r} ('{frame['img_path']}')"
                 if frame else 'one of its frames')
        note = (f"{type(self).__name__} {self.ann_file}: while loading "
                f"{where} of {self._video_name(video)}")
        if hasattr(err, 'add_note'):  # Python >= 3.11: in the traceback
            err.add_note(note)
        else:
            print_log(note, 'current', level=logging.ERROR)

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
        if not kept:
            raise VISAnnotationError(
                f'{self.ann_file}: the training set is empty: '
                f'{self._why_empty(data_list)}')
        return kept

    def _why_empty(self, data_list: List[dict]) -> str:
        """Which filter (or which gap of the file) left no training frame."""
        raw = getattr(self, '_raw_counts', {})
        if not raw.get('videos'):
            return "the file has no videos ('videos' is empty)"
        if not raw.get('annotations'):
            state = raw['annotations_key']
            state = 'empty' if state == 'a list' else state
            return (f"the file has no annotations ('annotations' is {state})"
                    ', e.g. a YouTube-VIS / OVIS valid.json or test.json '
                    'given as the training file (test_mode=True loads such a '
                    'file for inference)')
        if not raw.get('in_classes'):
            return (f"none of its {raw['annotations']} annotations is of the "
                    f"dataset's classes {list(self.metainfo['classes'])} "
                    '(metainfo.classes, matched to the file\'s category '
                    'names)')
        filter_cfg = self.filter_cfg or {}
        min_size = filter_cfg.get('min_size', 32)
        frames = [f for v in self.data_list for f in v['images']] \
            if self.data_list else []
        largest = max((min(f['height'], f['width']) for f in frames),
                      default=0)
        if frames and largest < min_size:
            return (f"filter_cfg.min_size={min_size} removed every frame "
                    f'(the shorter side of the largest frame is {largest} '
                    'px)')
        return ('filter_empty_gt removed every frame: no frame has an '
                'instance left after parsing (mmdet skips annotations marked '
                "'ignore', of zero area, under a pixel wide or outside the "
                'image); '
                f"{raw['in_classes']} annotations of the dataset's classes")
