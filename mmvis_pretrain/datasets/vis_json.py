"""Read and validate video-instance annotation JSON files.

Two schemas are understood:

* **raw** (YouTube-VIS 2019 / 2021, OVIS): ``videos`` carry their
  ``file_names``; every entry of ``annotations`` is one *instance track* with
  per-frame lists ``segmentations`` / ``bboxes`` / ``areas`` (``None`` where
  the object is absent; a ``None`` box next to a mask is derived from the
  mask). ``"annotations": null`` (OVIS valid / test) or no
  ``annotations`` key at all means "no annotations" (inference splits).
* **cocovid** (mmdet's converted format, ``tools/dataset_converters/
  youtubevis2coco.py``): ``videos``, ``images`` with ``video_id`` /
  ``frame_id`` and per-frame ``annotations`` with ``instance_id``.

Everything here is a pure function without registry side effects. Problems
are reported as :class:`VISAnnotationError` naming the JSON file and, where
one is concerned, the video (id and name / first frame).
"""
import json
import os.path as osp
from collections import Counter
from numbers import Real
from typing import Iterable, List, Optional, Tuple, Union

from mmengine.fileio import get_text
from pycocotools import mask as mask_utils

from ..structures import SegmentationChecker, segmentation_problem

RAW = 'raw'
COCOVID = 'cocovid'

#: Per-frame list keys of a raw annotation that are parsed explicitly.
RAW_TRACK_KEYS = ('segmentations', 'bboxes', 'areas')


class VISAnnotationError(ValueError):
    """An annotation file is malformed or inconsistent."""


def _fail(ann_file: str, msg: str, video: Optional[dict] = None) -> None:
    """Raise a :class:`VISAnnotationError` naming the file and video."""
    where = f'{ann_file}'
    if video is not None:
        where += f', {describe_video(video)}'
    raise VISAnnotationError(f'{where}: {msg}')


def describe_video(video: dict) -> str:
    """Human-readable identification of a video entry.

    Args:
        video (dict): A ``videos`` entry of either schema.

    Returns:
        str: e.g. ``"video id=3 (name '0a1b2c', first frame '0a1b2c/0.jpg')"``.
    """
    parts = []
    if video.get('name') is not None:
        parts.append(f"name '{video['name']}'")
    names = video.get('file_names')
    if isinstance(names, list) and names:
        parts.append(f"first frame '{names[0]}'")
    extra = f" ({', '.join(parts)})" if parts else ''
    return f"video id={video.get('id')!r}{extra}"


def read_json(ann_file: str, backend_args: Optional[dict] = None) -> dict:
    """Parse ``ann_file``; a syntax error names the file.

    Args:
        ann_file (str): Path (or any mmengine fileio URI) of the JSON.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: The decoded top-level object.
    """
    text = get_text(ann_file, backend_args=backend_args)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise VISAnnotationError(
            f'{ann_file}: malformed JSON ({err})') from err
    if not isinstance(data, dict):
        _fail(ann_file, 'top level must be a JSON object, got '
              f'{type(data).__name__}')
    return data


def detect_format(data: dict, ann_file: str = '<json>') -> str:
    """Tell the raw YTVIS/OVIS schema from mmdet's CocoVID one.

    Args:
        data (dict): Decoded JSON.
        ann_file (str): Name used in error messages.

    Returns:
        str: :data:`RAW` or :data:`COCOVID`.
    """
    videos = data.get('videos')
    if not isinstance(videos, list):
        _fail(ann_file, "missing top-level key 'videos' (a list)")
    if 'images' in data:
        return COCOVID
    if any('file_names' in v for v in videos if isinstance(v, dict)) or \
            not videos:
        return RAW
    _fail(ann_file, "cannot detect the schema: 'videos' have no "
          "'file_names' (raw YouTube-VIS / OVIS) and there is no 'images' "
          '(CocoVID)')


def annotations_of(data: dict) -> List[dict]:
    """The ``annotations`` list, empty when null or missing."""
    return data.get('annotations') or []


def _require_keys(ann_file: str, data: dict, keys: Iterable[str]) -> None:
    """Fail on missing top-level keys."""
    missing = [k for k in keys if k not in data]
    if missing:
        _fail(ann_file, f'missing top-level key(s) {missing}')
    for key in keys:
        if not isinstance(data[key], list):
            _fail(ann_file, f"top-level '{key}' must be a list, got "
                  f'{type(data[key]).__name__}')
    anns = data.get('annotations')
    if anns is not None and not isinstance(anns, list):
        _fail(ann_file, "top-level 'annotations' must be a list or null, "
              f'got {type(anns).__name__}')


def _check_categories(ann_file: str, categories: List[dict]) -> set:
    """Validate ``categories`` and return the set of their ids."""
    ids = []
    for cat in categories:
        if not isinstance(cat, dict) or 'id' not in cat or 'name' not in cat:
            _fail(ann_file, f"category {cat!r} needs 'id' and 'name'")
        ids.append(cat['id'])
    dups = [i for i, n in Counter(ids).items() if n > 1]
    if dups:
        _fail(ann_file, f'duplicate category ids {sorted(dups)}')
    return set(ids)


def _index_videos(ann_file: str, videos: List[dict]) -> dict:
    """Map video id -> video; fail on entries without id or duplicates."""
    by_id = {}
    for video in videos:
        if not isinstance(video, dict) or 'id' not in video:
            _fail(ann_file, f"video entry without 'id': {str(video)[:200]}")
        if video['id'] in by_id:
            _fail(ann_file, 'duplicate video id (also used by '
                  f"{describe_video(by_id[video['id']])})", video)
        by_id[video['id']] = video
    return by_id


def _is_int(value) -> bool:
    """A JSON integer (``bool`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    """A JSON number (``bool`` is not one)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _bbox_problem(bbox) -> Optional[str]:
    """What is wrong with an ``[x, y, w, h]`` box, ``None`` if nothing."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or \
            not all(_is_number(v) for v in bbox):
        return f'must be 4 numbers [x, y, w, h], got {str(bbox)[:100]}'
    return None


def _check_raw_video(ann_file: str, video: dict) -> None:
    """Validate one raw video entry."""
    names = video.get('file_names')
    if not isinstance(names, list) or not names:
        _fail(ann_file, "'file_names' must be a non-empty list", video)
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            _fail(ann_file, f"'file_names'[{i}] must be a non-empty string, "
                  f'got {name!r}', video)
    for key in ('height', 'width'):
        if not _is_int(video.get(key)) or video[key] <= 0:
            _fail(ann_file, f"'{key}' must be a positive int, got "
                  f'{video.get(key)!r}', video)
    length = video.get('length', len(names))
    if not _is_int(length):
        _fail(ann_file, f"'length' must be an int, got {length!r}", video)
    if length != len(names):
        _fail(ann_file, f"'length' is {length!r} but there are "
              f"{len(names)!r} 'file_names'", video)


def segmentation_bbox(segmentation: Union[list, dict], height: int,
                      width: int) -> Tuple[List[float], float]:
    """Tight box and area of a COCO segmentation, with pycocotools.

    Args:
        segmentation (list | dict): Polygons ``[[x0, y0, x1, y1, ...], ...]``
            (each with at least 3 points), uncompressed RLE (``counts`` a
            list) or compressed RLE (``counts`` a str / bytes).
        height (int): Image height (used for polygons).
        width (int): Image width (used for polygons).

    Returns:
        tuple(list[float], float): ``[x, y, w, h]`` (zeros for an empty
        mask) and the mask area in pixels.

    Raises:
        ValueError: ``segmentation`` is not one of the forms above.
    """
    if isinstance(segmentation, list):
        if not segmentation or not all(
                isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
                and all(_is_number(v) for v in p) for p in segmentation):
            raise ValueError('polygons must be lists of >= 6 numbers (an '
                             'even count)')
        # a polygon of exactly 4 numbers would be read as a box by
        # frPyObjects; the check above rules that out
        rle = mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, dict) and 'counts' in segmentation and \
            'size' in segmentation:
        size = segmentation['size']
        if not (isinstance(size, list) and len(size) == 2
                and all(_is_int(v) and v > 0 for v in size)):
            raise ValueError(f"RLE 'size' must be [H, W], got {size!r}")
        counts = segmentation['counts']
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(segmentation, *size)
        elif isinstance(counts, (str, bytes)):
            rle = segmentation
        else:
            raise ValueError("RLE 'counts' must be a list or a string")
    else:
        raise ValueError('not polygons or an RLE dict with counts and size')
    try:
        bbox = mask_utils.toBbox(rle)
        area = mask_utils.area(rle)
    except Exception as err:  # pycocotools raises assorted errors
        raise ValueError(f'cannot decode the RLE ({err})') from err
    return [float(v) for v in bbox], float(area)


def _check_ann_common(ann_file: str, ann: dict, videos: dict,
                      cat_ids: set) -> dict:
    """Checks shared by both schemas; returns the annotation's video."""
    if not isinstance(ann, dict) or 'id' not in ann:
        _fail(ann_file, f"annotation without 'id': {str(ann)[:200]}")
    video = videos.get(ann.get('video_id'))
    if video is None:
        _fail(ann_file, f"annotation id={ann['id']!r} refers to unknown "
              f"video_id={ann.get('video_id')!r}")
    if ann.get('category_id') not in cat_ids:
        _fail(ann_file, f"annotation id={ann['id']!r} has category_id="
              f"{ann.get('category_id')!r} which is not in 'categories' "
              f'{sorted(cat_ids)}', video)
    return video


def _check_unique_ann_ids(ann_file: str, anns: List[dict]) -> None:
    """Annotation ids must be unique (mmdet asserts it, too)."""
    dups = [i for i, n in Counter(a['id'] for a in anns).items() if n > 1]
    if dups:
        _fail(ann_file, f'duplicate annotation ids {sorted(dups)[:10]}')


def _mask_checker(ann_file: str,
                  decode_compressed: bool = True) -> SegmentationChecker:
    """A :class:`SegmentationChecker` raising :class:`VISAnnotationError`.

    Its ``where`` (formatted only on failure, as most masks are fine) is
    ``(annotation, frame index, video)`` for a raw track and ``(annotation,
    image, video)`` for a CocoVID annotation.
    """

    def fail(where, problem):
        ann, frame, video = where
        if isinstance(frame, dict):  # CocoVID: the image
            prefix = (f"annotation id={ann['id']!r} (image id="
                      f"{frame['id']!r}, frame_id={frame.get('frame_id')!r}"
                      f", '{frame['file_name']}') 'segmentation'")
        else:
            prefix = (f"annotation id={ann['id']!r} 'segmentations'[{frame}]"
                      f" (frame {frame}, '{video['file_names'][frame]}')")
        _fail(ann_file, f'{prefix}: {problem}', video)

    return SegmentationChecker(fail, decode_compressed)


def _check_raw_annotation(ann_file: str, ann: dict, videos: dict,
                          cat_ids: set,
                          masks: SegmentationChecker) -> None:
    """Validate one raw (per-track) annotation; its compressed RLEs are
    queued in ``masks``."""
    video = _check_ann_common(ann_file, ann, videos, cat_ids)
    if not isinstance(ann['id'], int) or ann['id'] < 1:
        _fail(ann_file, f"annotation id={ann['id']!r} must be an int >= 1 "
              '(it becomes the instance id; mmdet treats 0 as missing)',
              video)
    length = len(video['file_names'])
    for key in RAW_TRACK_KEYS:
        values = ann.get(key)
        if not isinstance(values, list):
            _fail(ann_file, f"annotation id={ann['id']} has no '{key}' list",
                  video)
        if len(values) != length:
            _fail(ann_file, f"annotation id={ann['id']} has {len(values)} "
                  f"'{key}' but the video has {length} frames", video)
    height, width = video['height'], video['width']
    for frame, (bbox, seg) in enumerate(
            zip(ann['bboxes'], ann['segmentations'])):
        if bbox is not None:
            problem = _bbox_problem(bbox)
            if problem:
                _fail(ann_file, f"annotation id={ann['id']} 'bboxes'[{frame}]"
                      f' {problem}', video)
            if seg is not None:
                masks.add(seg, height, width, (ann, frame, video))
        elif seg is not None:
            # the box will be derived from the mask (see _raw_frame_ann), so
            # the mask is checked (counts decoded) now, not in the batch
            problem = segmentation_problem(seg, height, width)
            if not problem:
                try:
                    segmentation_bbox(seg, height, width)
                except ValueError as err:
                    problem = str(err)
            if problem:
                _fail(ann_file, f"annotation id={ann['id']} 'bboxes'[{frame}]"
                      f" is null and 'segmentations'[{frame}] gives no box: "
                      f'{problem}', video)


def validate_raw(data: dict,
                 ann_file: str = '<json>',
                 decode_compressed: bool = True) -> None:
    """Validate a raw YouTube-VIS / OVIS annotation dict.

    Args:
        data (dict): Decoded JSON.
        ann_file (str): Name used in error messages.
        decode_compressed (bool): Decode compressed RLE counts to check that
            they cover their frame (see :func:`validate_vis_json`).
    """
    _require_keys(ann_file, data, ('videos', 'categories'))
    cat_ids = _check_categories(ann_file, data['categories'])
    videos = _index_videos(ann_file, data['videos'])
    for video in data['videos']:
        _check_raw_video(ann_file, video)
    anns = annotations_of(data)
    masks = _mask_checker(ann_file, decode_compressed)
    for ann in anns:
        _check_raw_annotation(ann_file, ann, videos, cat_ids, masks)
    masks.finish()
    _check_unique_ann_ids(ann_file, anns)


def _index_cocovid_images(ann_file: str, images: List[dict],
                          videos: dict) -> dict:
    """Validate CocoVID ``images`` and map image id -> image."""
    by_id = {}
    for img in images:
        if not isinstance(img, dict) or 'id' not in img or \
                'file_name' not in img:
            _fail(ann_file, f"image entry needs 'id' and 'file_name': "
                  f'{str(img)[:200]}')
        video = videos.get(img.get('video_id'))
        if 'video_id' in img and video is None:
            _fail(ann_file, f"image id={img['id']!r} ('{img['file_name']}') "
                  f"refers to unknown video_id={img['video_id']!r}")
        if not isinstance(img['file_name'], str) or not img['file_name']:
            _fail(ann_file, f"image id={img['id']!r} 'file_name' must be a "
                  f"non-empty string, got {img['file_name']!r}", video)
        for key in ('height', 'width'):
            if not isinstance(img.get(key), int) or img[key] <= 0:
                _fail(ann_file, f"image id={img['id']!r} ('{img['file_name']}"
                      f"') '{key}' must be a positive int", video)
        if img['id'] in by_id:
            _fail(ann_file, f"duplicate image id={img['id']!r}", video)
        by_id[img['id']] = img
    return by_id


def _check_cocovid_annotation(ann_file: str, ann: dict, images: dict,
                              videos: dict, cat_ids: set,
                              masks: SegmentationChecker) -> None:
    """Validate one CocoVID (per-frame) annotation; its compressed RLE is
    queued in ``masks``."""
    if not isinstance(ann, dict) or 'id' not in ann:
        _fail(ann_file, f"annotation without 'id': {str(ann)[:200]}")
    img = images.get(ann.get('image_id'))
    if img is None:
        _fail(ann_file, f"annotation id={ann['id']!r} refers to unknown "
              f"image_id={ann.get('image_id')!r}")
    video = videos.get(img.get('video_id'))
    if video is not None:
        ann = dict(ann, video_id=ann.get('video_id', video['id']))
        _check_ann_common(ann_file, ann, videos, cat_ids)
    elif ann.get('category_id') not in cat_ids:
        _fail(ann_file, f"annotation id={ann['id']!r} has category_id="
              f"{ann.get('category_id')!r} which is not in 'categories'")
    problem = _bbox_problem(ann.get('bbox'))
    if problem:
        _fail(ann_file, f"annotation id={ann['id']!r} (image id="
              f"{img['id']!r}, '{img['file_name']}') needs a 4-number 'bbox':"
              f' {problem}', video)
    seg = ann.get('segmentation')
    if seg:  # mmdet's loaders skip a missing / empty segmentation
        masks.add(seg, img['height'], img['width'], (ann, img, video))


def validate_cocovid(data: dict,
                 ann_file: str = '<json>',
                 decode_compressed: bool = True) -> None:
    """Validate an mmdet CocoVID annotation dict.

    Args:
        data (dict): Decoded JSON.
        ann_file (str): Name used in error messages.
        decode_compressed (bool): See :func:`validate_vis_json`.
    """
    _require_keys(ann_file, data, ('videos', 'images', 'categories'))
    cat_ids = _check_categories(ann_file, data['categories'])
    videos = _index_videos(ann_file, data['videos'])
    images = _index_cocovid_images(ann_file, data['images'], videos)
    anns = annotations_of(data)
    masks = _mask_checker(ann_file, decode_compressed)
    for ann in anns:
        _check_cocovid_annotation(ann_file, ann, images, videos, cat_ids,
                                  masks)
    masks.finish()
    _check_unique_ann_ids(ann_file, anns)


def frame_files(data: dict, fmt: str) -> Iterable[Tuple[str, dict]]:
    """Yield ``(file_name, video)`` for every frame of a validated dict."""
    if fmt == RAW:
        for video in data['videos']:
            for name in video['file_names']:
                yield name, video
        return
    videos = {v['id']: v for v in data['videos']}
    for img in data['images']:
        yield img['file_name'], videos.get(img.get('video_id'), {
            'id': None,
            'name': f"image id={img['id']}"
        })


def check_frame_files(data: dict, fmt: str, img_root: str,
                      ann_file: str = '<json>') -> None:
    """Fail if any frame file is missing under ``img_root``.

    The message names the first missing path, its video and how many frames
    are missing in all.

    Args:
        data (dict): A validated annotation dict.
        fmt (str): Its schema (:func:`detect_format`).
        img_root (str): Directory the ``file_names`` are relative to.
        ann_file (str): Name used in error messages.
    """
    missing = [(osp.join(img_root, name), video)
               for name, video in frame_files(data, fmt)
               if not osp.isfile(osp.join(img_root, name))]
    if missing:
        path, video = missing[0]
        more = f' ({len(missing)} frame files missing in all)' \
            if len(missing) > 1 else ''
        _fail(ann_file, f"frame file '{path}' does not exist{more}", video)


def validate_vis_json(data: dict,
                      ann_file: str = '<json>',
                      img_root: Optional[str] = None,
                      decode_compressed: bool = True) -> str:
    """Detect the schema of ``data`` and validate it.

    Every mask is checked against its frame
    (:mod:`mmvis_pretrain.structures.segmentation_check`): RLE ``size`` =
    the frame's ``[height, width]``, uncompressed counts covering exactly
    ``H * W`` pixels, polygons inside the frame (up to
    :data:`~mmvis_pretrain.structures.POLYGON_TOLERANCE` px).

    Args:
        data (dict): Decoded JSON.
        ann_file (str): Name used in error messages.
        img_root (str, optional): When given, every frame file must exist
            under it.
        decode_compressed (bool): Also decode every compressed RLE to check
            that its runs cover ``H * W`` pixels. ``False`` leaves that
            to the caller (:class:`~mmvis_pretrain.datasets.VISDataset`
            checks a video's compressed masks when it is first used:
            decoding all of a large file's costs about half its load time).

    Returns:
        str: The schema, :data:`RAW` or :data:`COCOVID`.
    """
    fmt = detect_format(data, ann_file)
    if fmt == RAW:
        validate_raw(data, ann_file, decode_compressed)
    else:
        validate_cocovid(data, ann_file, decode_compressed)
    if img_root is not None:
        check_frame_files(data, fmt, img_root, ann_file)
    return fmt


def load_vis_json(ann_file: str,
                  img_root: Optional[str] = None,
                  backend_args: Optional[dict] = None,
                  decode_compressed: bool = True) -> Tuple[dict, str]:
    """Read and validate a video-instance JSON.

    Args:
        ann_file (str): Path of the JSON.
        img_root (str, optional): Check that all frame files exist here.
        backend_args (dict, optional): mmengine file backend arguments.
        decode_compressed (bool): See :func:`validate_vis_json`.

    Returns:
        tuple(dict, str): The decoded JSON and its schema.
    """
    data = read_json(ann_file, backend_args)
    return data, validate_vis_json(data, ann_file, img_root,
                                   decode_compressed)


#: Keys of a raw (per-track) annotation that are not passed on as extras.
RAW_STANDARD_KEYS = frozenset(
    ('id', 'video_id', 'category_id', 'iscrowd', 'height', 'width', 'length',
     'segmentations', 'bboxes', 'areas'))
#: Keys of a CocoVID (per-frame) annotation that are not passed as extras.
COCOVID_STANDARD_KEYS = frozenset(
    ('id', 'image_id', 'video_id', 'category_id', 'iscrowd', 'bbox', 'area',
     'segmentation', 'instance_id', 'ignore'))
#: mmdet gives every image without ``video_id`` its own video from here on.
SINGLE_VIDEO_ID_START = 100000


def _raw_frame_ann(track: dict, frame: int, video: dict) -> Optional[dict]:
    """Per-frame view of a raw track, ``None`` where the object is absent.

    A null box next to a mask is derived from the mask (and a null area
    with it). Per-frame lists under other keys (e.g. OVIS ``occlusion``) of
    the video's length are passed on in ``extra``.
    """
    length = len(video['file_names'])
    bbox = track['bboxes'][frame]
    seg = track['segmentations'][frame]
    area = track['areas'][frame]
    if seg is None:
        return None
    if bbox is None:
        bbox, mask_area = segmentation_bbox(seg, video['height'],
                                            video['width'])
        area = mask_area if area is None else area
    extra = {
        k: v[frame]
        for k, v in track.items() if k not in RAW_STANDARD_KEYS
        and isinstance(v, list) and len(v) == length
    }
    return dict(
        id=track['id'],
        instance_id=track['id'],
        category_id=track['category_id'],
        bbox=bbox,
        area=area,
        segmentation=seg,
        iscrowd=track.get('iscrowd', 0),
        extra=extra)


def _raw_videos(data: dict) -> List[dict]:
    """Group a validated raw dict into videos of frames with annotations."""
    tracks = {}
    for track in annotations_of(data):
        tracks.setdefault(track['video_id'], []).append(track)
    videos, img_id = [], 1
    for video in data['videos']:
        frames = []
        for frame_id, name in enumerate(video['file_names']):
            anns = [_raw_frame_ann(t, frame_id, video)
                    for t in tracks.get(video['id'], [])]
            frames.append(
                dict(img_id=img_id, file_name=name, height=video['height'],
                     width=video['width'], frame_id=frame_id,
                     video_id=video['id'],
                     anns=[a for a in anns if a is not None]))
            img_id += 1
        videos.append(dict(video_id=video['id'], frames=frames))
    return videos


def _cocovid_frame_ann(ann: dict) -> dict:
    """A CocoVID annotation with its non-standard keys moved to ``extra``."""
    out = {k: v for k, v in ann.items() if k in COCOVID_STANDARD_KEYS}
    out['extra'] = {
        k: v
        for k, v in ann.items() if k not in COCOVID_STANDARD_KEYS
    }
    return out


def _cocovid_videos(data: dict) -> List[dict]:
    """Group a validated CocoVID dict into videos (frames by ``frame_id``).

    Like mmdet, an image without ``video_id`` becomes a one-frame video with
    a fresh id above :data:`SINGLE_VIDEO_ID_START`.
    """
    anns = {}
    for ann in annotations_of(data):
        anns.setdefault(ann['image_id'], []).append(_cocovid_frame_ann(ann))
    videos, single_id = {}, SINGLE_VIDEO_ID_START
    for img in data['images']:
        if 'video_id' in img:
            video_id = img['video_id']
        else:
            single_id += 1
            video_id = single_id
        frame = {k: v for k, v in img.items() if k != 'id'}
        frame.update(img_id=img['id'], video_id=video_id,
                     frame_id=img.get('frame_id', 0),
                     anns=anns.get(img['id'], []))
        videos.setdefault(video_id, []).append(frame)
    return [
        dict(video_id=vid, frames=sorted(frames, key=lambda f: f['frame_id']))
        for vid, frames in videos.items()
    ]


def video_frames(data: dict, fmt: str) -> List[dict]:
    """Both schemas as one structure, the input of the dataset parser.

    Args:
        data (dict): A validated annotation dict.
        fmt (str): Its schema, :data:`RAW` or :data:`COCOVID`.

    Returns:
        list[dict]: Per video ``dict(video_id, frames)``; per frame
        ``img_id`` (raw: numbered from 1 over the file, as mmdet's
        converter does), ``file_name``, ``height``, ``width``,
        ``frame_id``, ``video_id`` and ``anns``: COCO-style per-frame
        annotations (``id``, ``instance_id``, ``category_id``, ``bbox`` in
        xywh, ``area``, ``segmentation``, ``iscrowd``, ``extra``).
    """
    return _raw_videos(data) if fmt == RAW else _cocovid_videos(data)
