"""Split a video-instance JSON into train / val parts by video.

The way CTVIS / IDOL evaluate locally: hold out some *videos* of the
annotated train set (the official valid sets have no public annotations).
Video ids are shuffled with ``random.Random(seed)`` in file order and the
first ``num_val`` become the validation part, so a seed always gives the
same split of the same file. Every annotation (and, for CocoVID, every
image) moves with its video; all other top-level keys (``info``,
``licenses``, ``categories`` ...) are copied into both parts. CocoVID images
without ``video_id`` (which mmdet would read as one-frame videos) are an
error: they belong to no video, so they could only be dropped silently.
"""
import json
import os
import os.path as osp
import random
from typing import Dict, Optional, Set, Tuple

from .vis_json import (COCOVID, RAW, VISAnnotationError, annotations_of,
                       load_vis_json)


class SplitSizeError(ValueError):
    """The requested number / fraction of validation videos is invalid."""


def num_val_videos(num_videos: int,
                   num_val: Optional[int] = None,
                   val_ratio: Optional[float] = None) -> int:
    """How many videos go to the validation part.

    Both parts must keep at least one video (so at least two are needed).

    Args:
        num_videos (int): Videos in the input.
        num_val (int, optional): An explicit count in ``[1, num_videos)``.
        val_ratio (float, optional): A fraction in (0, 1); rounded, but at
            least one video and at most ``num_videos - 1``. Used when
            ``num_val`` is None; 0.1 when both are None.

    Returns:
        int: The validation count.

    Raises:
        SplitSizeError: Both or a bad value given, or fewer than 2 videos.
    """
    if num_val is not None and val_ratio is not None:
        raise SplitSizeError('give num_val or val_ratio, not both')
    if num_videos < 2:
        raise SplitSizeError(f'cannot split {num_videos} video(s): both '
                             'parts need at least one video')
    if num_val is None:
        ratio = 0.1 if val_ratio is None else val_ratio
        if not 0 < ratio < 1:
            raise SplitSizeError(
                f'val_ratio must be in (0, 1), got {ratio!r}')
        return min(max(1, round(ratio * num_videos)), num_videos - 1)
    if isinstance(num_val, bool) or not isinstance(num_val, int) or \
            not 1 <= num_val < num_videos:
        raise SplitSizeError(
            f'num_val must be an int in [1, {num_videos - 1}] (the input has '
            f'{num_videos} videos), got {num_val!r}')
    return num_val


def pick_val_videos(video_ids: list, num_val: int, seed: int) -> Set:
    """The ids of the validation videos: first ``num_val`` after a seeded
    shuffle of ``video_ids``."""
    ids = list(video_ids)
    random.Random(seed).shuffle(ids)
    return set(ids[:num_val])


def _subset(data: dict, fmt: str, video_ids: Set) -> dict:
    """``data`` restricted to ``video_ids`` (other keys copied)."""
    out = dict(data)
    out['videos'] = [v for v in data['videos'] if v['id'] in video_ids]
    if fmt == RAW:
        key, kept = 'video_id', video_ids
    else:
        out['images'] = [
            img for img in data['images'] if img['video_id'] in video_ids
        ]
        key, kept = 'image_id', {img['id'] for img in out['images']}
    if data.get('annotations') is not None:
        out['annotations'] = [
            a for a in data['annotations'] if a[key] in kept
        ]
    return out


def _check_images_in_videos(data: dict, ann_file: str) -> None:
    """Fail on CocoVID images without ``video_id``, naming the first."""
    orphans = [img for img in data['images'] if 'video_id' not in img]
    if orphans:
        img = orphans[0]
        more = f' ({len(orphans)} such images in all)' \
            if len(orphans) > 1 else ''
        raise VISAnnotationError(
            f"{ann_file}: image id={img.get('id')!r} "
            f"('{img.get('file_name')}') has no 'video_id'{more}; splitting "
            'by video needs every image in a video')


def split_vis_json(data: dict,
                   fmt: str = RAW,
                   num_val: Optional[int] = None,
                   val_ratio: Optional[float] = None,
                   seed: int = 42,
                   ann_file: str = '<json>') -> Tuple[dict, dict]:
    """Split a validated annotation dict by video.

    Args:
        data (dict): Raw YouTube-VIS / OVIS (or CocoVID) annotations.
        fmt (str): Its schema (:func:`~.vis_json.detect_format`).
        num_val (int, optional): Number of validation videos.
        val_ratio (float, optional): Fraction of validation videos.
        seed (int): Seed of the shuffle. Defaults to 42.
        ann_file (str): Name used in error messages.

    Returns:
        tuple(dict, dict): The train and the validation part.

    Raises:
        SplitSizeError: See :func:`num_val_videos`.
        VISAnnotationError: A CocoVID image has no ``video_id``.
    """
    if fmt == COCOVID:
        _check_images_in_videos(data, ann_file)
    video_ids = [v['id'] for v in data['videos']]
    val_ids = pick_val_videos(
        video_ids, num_val_videos(len(video_ids), num_val, val_ratio), seed)
    train_ids = set(video_ids) - val_ids
    return _subset(data, fmt, train_ids), _subset(data, fmt, val_ids)


def split_counts(part: dict, fmt: str = RAW) -> Dict[str, int]:
    """Videos, frames and annotations of one part."""
    if fmt == RAW:
        frames = sum(len(v['file_names']) for v in part['videos'])
    else:
        frames = len(part['images'])
    return dict(
        videos=len(part['videos']),
        frames=frames,
        annotations=len(annotations_of(part)))


def _dump(data: dict, path: str) -> None:
    """Write ``data`` as JSON, creating the directory."""
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f)


def split_vis_file(in_json: str,
                   out_train: str,
                   out_val: str,
                   num_val: Optional[int] = None,
                   val_ratio: Optional[float] = None,
                   seed: int = 42) -> Dict[str, Dict[str, int]]:
    """Validate ``in_json``, split it by video and write both parts.

    Args:
        in_json (str): Input annotation file.
        out_train (str): Output path of the train part.
        out_val (str): Output path of the validation part.
        num_val (int, optional): Number of validation videos.
        val_ratio (float, optional): Fraction of validation videos.
        seed (int): Seed of the shuffle. Defaults to 42.

    Returns:
        dict: ``split_counts`` of ``'input'``, ``'train'`` and ``'val'``.

    Raises:
        SplitSizeError: See :func:`num_val_videos`.
        VISAnnotationError: ``in_json`` is invalid or has CocoVID images
            without ``video_id``.
    """
    data, fmt = load_vis_json(in_json)
    train, val = split_vis_json(data, fmt, num_val, val_ratio, seed, in_json)
    _dump(train, out_train)
    _dump(val, out_val)
    return dict(
        input=split_counts(data, fmt),
        train=split_counts(train, fmt),
        val=split_counts(val, fmt))
