"""mmdet's CocoVID JSON -> raw YouTube-VIS 2019 JSON (the inverse of mmdet's
``tools/dataset_converters/youtubevis2coco.py``), for tools that need the
raw schema (``VISMetric`` scoring, ``split_vis``, the YouTube-VIS API).

* **Videos**: each ``videos`` entry (same id) with its images sorted by
  ``frame_id`` as ``file_names``; ``height`` / ``width`` from its images,
  which must all have the same size. Every image needs a ``video_id`` and
  a ``frame_id`` (unique within its video); a video without images is an
  error.
* **Tracks**: the per-frame annotations of one ``(video_id,
  instance_id)`` form one raw annotation. Its ``category_id`` and
  ``iscrowd`` must agree over its frames. Raw annotation ids are 1, 2, ...
  in video order, within a video by first frame, then ``instance_id``
  (mmdet's converter numbers instances the same way, so mmdet-converted
  raw files come back with their ``instance_id`` numbering).
* **Per frame**: ``segmentation`` (polygons or RLE, as given), ``bbox``
  and ``area`` (from the mask when missing); ``null`` where the instance
  has no annotation. An annotation without a segmentation keeps its box
  and area with a ``null`` segmentation (the datasets skip such frames;
  one warning).
* ``categories`` and any other top-level keys (``info``, ``licenses``) are
  copied; ``"annotations"`` missing or ``null`` (mmdet's converter leaves
  it out for valid / test) gives ``"annotations": null``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..vis_json import (COCOVID, RAW, describe_video, read_json,
                        segmentation_bbox, validate_vis_json)
from .raw_vis import ConversionError, Report

#: CocoVID top-level keys not copied to the raw output.
CONVERTED_KEYS = ('videos', 'images', 'annotations', 'categories')


def cocovid_to_raw(data: dict, path: str = '<json>') -> Tuple[dict, Report]:
    """Convert a CocoVID dict (validated here) to a raw dict.

    Args:
        data (dict): The decoded CocoVID JSON.
        path (str): Its name, for messages.

    Returns:
        tuple(dict, Report): The raw dict and the warnings.

    Raises:
        ConversionError / VISAnnotationError: Bad input, naming ``path``.
    """
    fmt = validate_vis_json(data, path)
    if fmt == RAW:
        raise ConversionError(f'{path}: is already a raw YouTube-VIS file '
                              "(no 'images')")
    assert fmt == COCOVID
    report = Report()
    images = _images_by_video(data, path)
    raw_videos, frame_index = [], {}
    for video in data['videos']:
        frames = images.get(video['id'], [])
        if not frames:
            raise ConversionError(f'{path}, {describe_video(video)}: has '
                                  'no images')
        sizes = {(img['height'], img['width']) for img in frames}
        if len(sizes) > 1:
            other = next(img for img in frames
                         if (img['height'], img['width']) !=
                         (frames[0]['height'], frames[0]['width']))
            raise ConversionError(
                f"{path}, {describe_video(video)}: image id={other['id']!r} "
                f"('{other['file_name']}') is {other['height']} x "
                f"{other['width']} but image id={frames[0]['id']!r} "
                f"('{frames[0]['file_name']}') is {frames[0]['height']} x "
                f"{frames[0]['width']} (one frame size per video)")
        for i, img in enumerate(frames):
            frame_index[img['id']] = i
        raw_videos.append(
            dict(id=video['id'], width=frames[0]['width'],
                 height=frames[0]['height'], length=len(frames),
                 file_names=[img['file_name'] for img in frames]))
    out = {k: v for k, v in data.items() if k not in CONVERTED_KEYS}
    out.update(videos=raw_videos, categories=data['categories'])
    if data.get('annotations') is None:
        out['annotations'] = None
        return out, report
    out['annotations'] = _tracks(data, path, raw_videos, frame_index, report)
    return out, report


def _images_by_video(data: dict, path: str) -> Dict[object, List[dict]]:
    """Images per video id, sorted by ``frame_id`` (unique per video)."""
    by_video: Dict[object, List[dict]] = {}
    for img in data['images']:
        where = f"{path}: image id={img['id']!r} ('{img['file_name']}')"
        if 'video_id' not in img:
            raise ConversionError(f"{where} has no 'video_id'")
        frame_id = img.get('frame_id')
        if not isinstance(frame_id, int) or isinstance(frame_id, bool):
            raise ConversionError(f"{where}: 'frame_id' must be an int, got "
                                  f'{frame_id!r}')
        by_video.setdefault(img['video_id'], []).append(img)
    for frames in by_video.values():
        frames.sort(key=lambda img: img['frame_id'])
        for a, b in zip(frames, frames[1:]):
            if a['frame_id'] == b['frame_id']:
                raise ConversionError(
                    f"{path}: images id={a['id']!r} ('{a['file_name']}') and "
                    f"id={b['id']!r} ('{b['file_name']}') of video_id="
                    f"{a['video_id']!r} have the same frame_id "
                    f"{a['frame_id']}")
    return by_video


def _tracks(data: dict, path: str, raw_videos: List[dict],
            frame_index: Dict[object, int], report: Report) -> List[dict]:
    """Group the per-frame annotations into raw tracks."""
    images = {img['id']: img for img in data['images']}
    videos = {v['id']: v for v in raw_videos}
    tracks: Dict[tuple, dict] = {}
    no_mask = 0
    for ann in data['annotations']:
        img = images[ann['image_id']]
        video = videos[img['video_id']]
        where = (f"{path}: annotation id={ann['id']!r} (image id="
                 f"{img['id']!r}, '{img['file_name']}')")
        instance_id = ann.get('instance_id')
        if instance_id is None:
            raise ConversionError(f"{where} has no 'instance_id' (the "
                                  'track it belongs to)')
        key = (video['id'], instance_id)
        frame = frame_index[img['id']]
        iscrowd = int(ann.get('iscrowd', 0) or 0)
        track = tracks.get(key)
        if track is None:
            track = tracks[key] = dict(
                first=frame, instance_id=instance_id,
                category_id=ann['category_id'], iscrowd=iscrowd,
                frames={}, video=video)
        for field in ('category_id', 'iscrowd'):
            value = ann['category_id'] if field == 'category_id' else iscrowd
            if value != track[field]:
                raise ConversionError(
                    f'{where}: instance_id={instance_id!r} has {field} '
                    f'{value!r} here but {track[field]!r} on another frame '
                    '(one value per track)')
        if frame in track['frames']:
            raise ConversionError(
                f'{where}: instance_id={instance_id!r} has two annotations '
                f'on this frame (also annotation id='
                f"{track['frames'][frame]['id']!r})")
        seg = ann.get('segmentation') or None
        if seg is None:
            no_mask += 1
        area = ann.get('area')
        if area is None and seg is not None:
            area = segmentation_bbox(seg, img['height'], img['width'])[1]
        track['frames'][frame] = dict(id=ann['id'], seg=seg,
                                      bbox=ann['bbox'], area=area)
    order = {v['id']: i for i, v in enumerate(raw_videos)}
    ordered = sorted(tracks.values(),
                     key=lambda t: (order[t['video']['id']], t['first'],
                                    _sort_key(t['instance_id'])))
    out = []
    for ann_id, track in enumerate(ordered, 1):
        length = track['video']['length']
        segs: List[Optional[dict]] = [None] * length
        boxes: List[Optional[list]] = [None] * length
        areas: List[Optional[float]] = [None] * length
        for frame, entry in track['frames'].items():
            segs[frame], boxes[frame], areas[frame] = \
                entry['seg'], entry['bbox'], entry['area']
        out.append(
            dict(id=ann_id, video_id=track['video']['id'],
                 category_id=track['category_id'], iscrowd=track['iscrowd'],
                 segmentations=segs, bboxes=boxes, areas=areas))
    if no_mask:
        report.warnings.append(
            f'{path}: {no_mask} annotations have no segmentation; their '
            'frames keep the box with a null segmentation (the datasets '
            'skip them)')
    return out


def _sort_key(instance_id) -> tuple:
    """Ints before anything else, each in its natural order."""
    if isinstance(instance_id, int):
        return (0, instance_id, '')
    return (1, 0, str(instance_id))


def convert_cocovid_file(path: str) -> Tuple[dict, Report]:
    """Read, validate and convert a CocoVID JSON file."""
    try:
        data = read_json(path)
    except OSError as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    return cocovid_to_raw(data, path)
