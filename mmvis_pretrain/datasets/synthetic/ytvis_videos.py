"""The video set, written in the raw YouTube-VIS 2019 schema.

Every video has 2..``max_tracks`` object tracks that move on smooth
trajectories, grow or shrink, rotate, and occlude each other in a fixed
depth order. One track of every video enters or leaves the frame, another
one meets it mid-clip or hides behind it for a while (overlap / partial and
full occlusion), and every ``lookalike_every``-th
video starts with 2-3 tracks of one class with nearly identical texture (the
OVIS difficulty). Per-frame masks are the *visible* parts, stored as
uncompressed RLE like the official files, with ``null`` wherever an object
is outside the frame or fully occluded. The background pans slowly.
"""
import json
import os.path as osp
from dataclasses import dataclass

import numpy as np

from .background import make_background
from .categories import SYNTHETIC_CLASSES, categories_json
from .compose import Layer, composite
from .mask_codec import encode_uncompressed_rle, mask_bbox
from .objects import render_object
from .randomness import item_rng, sample_size
from .shapes import shape_radius
from .textures import Appearance, lookalike_appearance, sample_appearance
from .trajectories import (Trajectory, crossing_border_trajectory,
                           free_trajectory, hiding_trajectory,
                           meeting_trajectory)
from .writers import write_jpeg, write_json

NUM_CLASSES = len(SYNTHETIC_CLASSES)


@dataclass(frozen=True)
class VideoSetConfig:
    """Knobs of the video set.

    Attributes:
        image_size (tuple[int, int]): Base ``(W, H)``; one size per video.
        size_jitter (float): Relative jitter of W and H.
        frames_min (int): Fewest frames per video.
        frames_max (int): Most frames per video.
        max_tracks (int): Tracks per video are 2..max_tracks (>= 2).
        lookalike_every (int): Video ``i`` has look-alikes when
            ``i % lookalike_every == 0``.
        pan (int): Largest background shift (pixels) over a clip.
        jpeg_quality (int): JPEG quality.
    """

    image_size: tuple[int, int] = (160, 120)
    size_jitter: float = 0.15
    frames_min: int = 8
    frames_max: int = 16
    max_tracks: int = 4
    lookalike_every: int = 3
    pan: int = 6
    jpeg_quality: int = 90

    def __post_init__(self):
        if not 1 <= self.frames_min <= self.frames_max:
            raise ValueError('need 1 <= frames_min <= frames_max, got '
                             f'{self.frames_min}, {self.frames_max}')
        if self.max_tracks < 2:
            raise ValueError(f'max_tracks must be >= 2, got {self.max_tracks}')


@dataclass(frozen=True)
class Track:
    """One object instance of a video.

    Attributes:
        appearance (Appearance): Its look (class, texture).
        trajectory (Trajectory): Its motion.
    """

    appearance: Appearance
    trajectory: Trajectory


def _appearances(rng: np.random.Generator, index: int,
                 config: VideoSetConfig) -> list[Appearance]:
    """Looks of the tracks of video ``index``; look-alikes come first."""
    first = sample_appearance(rng, index % NUM_CLASSES + 1)
    looks = [first]
    if index % config.lookalike_every == 0:
        num_same = min(int(rng.integers(2, 4)), config.max_tracks)
        looks += [lookalike_appearance(rng, first)
                  for _ in range(num_same - 1)]
    num = int(rng.integers(max(2, len(looks)), config.max_tracks + 1))
    while len(looks) < num:
        looks.append(sample_appearance(rng,
                                       int(rng.integers(1, NUM_CLASSES + 1))))
    return looks


def _trajectories(rng: np.random.Generator, index: int,
                  looks: list[Appearance], width: int,
                  height: int) -> tuple[list[Trajectory], bool]:
    """Motion of every track.

    Track 0 crosses the frame border (enters in even videos, leaves in odd
    ones); track 1 meets track 0 mid-clip, or hides behind it (then it must
    be rendered behind track 0); later tracks meet an earlier one or wander.

    Returns:
        tuple[list[Trajectory], bool]: One trajectory per look, and whether
        track 1 hides behind track 0.
    """
    trajectories: list[Trajectory] = []
    hides = bool(rng.random() < 0.4)
    for k, look in enumerate(looks):
        scale = float(rng.uniform(0.12, 0.24) * min(width, height))
        if k == 0:
            radius = shape_radius(look.category_id) * max(look.aspect, 1.0)
            traj = crossing_border_trajectory(rng, width, height, scale,
                                              radius, entering=index % 2 == 0)
        elif k == 1 and hides:
            traj = hiding_trajectory(rng, trajectories[0], width, height)
        elif k == 1 or rng.random() < 0.5:
            other = trajectories[0 if k == 1 else int(rng.integers(k))]
            traj = meeting_trajectory(rng, other, width, height, scale)
        else:
            traj = free_trajectory(rng, width, height, scale)
        trajectories.append(traj)
    return trajectories, hides


def _depth_order(rng: np.random.Generator, num: int,
                 hides: bool) -> list[int]:
    """Random back-to-front order of tracks; a hider goes behind track 0."""
    order = [int(i) for i in rng.permutation(num)]
    if hides and order.index(1) > order.index(0):
        i0, i1 = order.index(0), order.index(1)
        order[i0], order[i1] = 1, 0
    return order


def sample_tracks(rng: np.random.Generator, index: int, width: int,
                  height: int, config: VideoSetConfig) -> list[Track]:
    """Tracks of video ``index`` in back-to-front (depth) order.

    Returns:
        list[Track]: Index 0 is farthest from the camera.
    """
    looks = _appearances(rng, index, config)
    trajectories, hides = _trajectories(rng, index, looks, width, height)
    return [Track(looks[i], trajectories[i])
            for i in _depth_order(rng, len(looks), hides)]


def _pan_offsets(rng: np.random.Generator, pan: int,
                 num_frames: int) -> list[tuple[int, int]]:
    """Integer background crop offsets moving linearly over the clip."""
    start = rng.integers(0, 2 * pan + 1, 2)
    end = rng.integers(0, 2 * pan + 1, 2)
    steps = np.linspace(0.0, 1.0, num_frames)[:, None]
    offsets = np.rint(start + (end - start) * steps).astype(int)
    return [(int(x), int(y)) for x, y in offsets]


def make_video(seed: int, split: str, index: int, config: VideoSetConfig
               ) -> tuple[list[np.ndarray], list[Track], list[list]]:
    """Render video ``index`` of a split.

    Returns:
        tuple: ``frames`` (T arrays (H, W, 3) uint8 RGB), ``tracks``
        (back-to-front) and ``visible[k][t]`` ((H, W) bool visible mask of
        track ``k`` in frame ``t``).
    """
    rng = item_rng(seed, 'ytvis', split, index)
    width, height = sample_size(rng, config.image_size, config.size_jitter)
    num_frames = int(rng.integers(config.frames_min, config.frames_max + 1))
    tracks = sample_tracks(rng, index, width, height, config)
    pan = config.pan
    background = make_background(rng, height + 2 * pan, width + 2 * pan)
    frames, visible = [], [[] for _ in tracks]
    for t, (ox, oy) in enumerate(_pan_offsets(rng, pan, num_frames)):
        time = t / (num_frames - 1) if num_frames > 1 else 0.0
        layers = [Layer(*render_object(tr.appearance,
                                       tr.trajectory.pose(time), height,
                                       width)) for tr in tracks]
        frame, masks = composite(
            background[oy:oy + height, ox:ox + width], layers, rng)
        frames.append(frame)
        for k, mask in enumerate(masks):
            visible[k].append(mask)
    return frames, tracks, visible


def track_annotation(track: Track, masks: list[np.ndarray], ann_id: int,
                     video_id: int) -> dict | None:
    """Raw YouTube-VIS annotation of one track.

    Args:
        track (Track): The track.
        masks (list[np.ndarray]): Its (H, W) bool visible mask per frame.
        ann_id (int): Annotation (instance) id, >= 1.
        video_id (int): Video id.

    Returns:
        dict | None: The annotation, ``None`` if never visible. Per-frame
        entries are ``null`` exactly where the visible mask is empty.
    """
    if not any(m.any() for m in masks):
        return None
    height, width = masks[0].shape
    present = [bool(m.any()) for m in masks]
    return dict(
        id=ann_id, video_id=video_id,
        category_id=track.appearance.category_id, iscrowd=0,
        segmentations=[encode_uncompressed_rle(m) if p else None
                       for m, p in zip(masks, present)],
        bboxes=[mask_bbox(m) if p else None for m, p in zip(masks, present)],
        areas=[float(np.count_nonzero(m)) if p else None
               for m, p in zip(masks, present)],
        height=height, width=width)


def video_name(split: str, index: int) -> str:
    """Folder name of video ``index``, e.g. ``'train_0001'``."""
    return f'{split}_{index + 1:04d}'


def _video_record(video_id: int, name: str, width: int, height: int,
                  num_frames: int) -> dict:
    """A raw YouTube-VIS ``videos`` entry."""
    return dict(id=video_id, width=width, height=height, length=num_frames,
                file_names=[f'{name}/{t:05d}.jpg' for t in range(num_frames)],
                license=1, coco_url='', flickr_url='', date_captured='')


def _info() -> dict:
    """The ``info`` block (no timestamps: the file must be reproducible)."""
    return dict(description='mmvis_pretrain synthetic YouTube-VIS-2019-style '
                'video instance segmentation set', version='1.0', year=2019,
                contributor='mmvis_pretrain', date_created='')


def write_ytvis_split(ytvis_root: str, split: str, num_videos: int,
                      seed: int, config: VideoSetConfig) -> str:
    """Write ``ytvis_root/<split>/JPEGImages/<video>/NNNNN.jpg`` and JSON.

    Args:
        ytvis_root (str): ``out_dir/ytvis``.
        split (str): ``'train'`` or ``'valid'`` (both annotated).
        num_videos (int): Number of videos.
        seed (int): Global seed.
        config (VideoSetConfig): Knobs.

    Returns:
        str: Path of ``ytvis_root/<split>.json``.
    """
    videos, annotations = [], []
    for index in range(num_videos):
        frames, tracks, visible = make_video(seed, split, index, config)
        name, video_id = video_name(split, index), index + 1
        height, width = frames[0].shape[:2]
        record = _video_record(video_id, name, width, height, len(frames))
        for file_name, frame in zip(record['file_names'], frames):
            write_jpeg(osp.join(ytvis_root, split, 'JPEGImages', file_name),
                       frame, config.jpeg_quality)
        videos.append(record)
        for track, masks in zip(tracks, visible):
            ann = track_annotation(track, masks, len(annotations) + 1,
                                   video_id)
            if ann is not None:
                annotations.append(ann)
    data = dict(info=_info(),
                licenses=[dict(id=1, name='synthetic', url='')],
                videos=videos, categories=categories_json(),
                annotations=annotations)
    json_path = osp.join(ytvis_root, f'{split}.json')
    write_json(json_path, data)
    return json_path


def write_lookalike_subset(ytvis_root: str, split: str = 'valid',
                           lookalike_every: int = VideoSetConfig.
                           lookalike_every) -> str:
    """Write ``<split>_lookalike.json``: the videos of ``<split>.json`` that
    start with look-alike tracks (video index ``i`` with ``i %
    lookalike_every == 0``, i.e. ``video_id = i + 1``), with their
    annotations: the occlusion-heavy subset (2-3 tracks of one class with
    nearly the same texture, one of which meets or hides behind another).

    Returns:
        str: The subset file's path.
    """
    with open(osp.join(ytvis_root, f'{split}.json')) as f:
        data = json.load(f)
    keep = {v['id'] for v in data['videos']
            if (v['id'] - 1) % lookalike_every == 0}
    subset = dict(data, videos=[v for v in data['videos'] if v['id'] in keep],
                  annotations=[a for a in data['annotations']
                               if a['video_id'] in keep])
    path = osp.join(ytvis_root, f'{split}_lookalike.json')
    write_json(path, subset)
    return path
