"""Raw YouTube-VIS (or CocoVID) JSON -> per-frame instance-id PNGs, the
reverse of :func:`~.png_masks.png_masks_to_ytvis` (used by
``tools/dataset_converters/ytvis_to_png_masks.py``; see ``docs/datasets.md``,
"Converters: PNG instance masks")."""
import posixpath
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ...evaluation.functional.vis_rle import segmentation_to_rle
from ...structures import decode_rle
from ..vis_json import describe_video, video_frames
from .id_png import (DAVIS_VOID, MAX_PALETTE_INDEX, PngMaskError,
                     write_id_png)
from .png_masks import CLASS_MAP_NAME, Warn, _no_warn


# --------------------------------------------------------------------------
# raw YouTube-VIS (or CocoVID) -> PNG masks
# --------------------------------------------------------------------------
def _safe_name(name) -> bool:
    """A usable file / folder name (no path, not hidden)."""
    return isinstance(name, str) and bool(name) and '/' not in name and \
        '\\' not in name and not name.startswith('.') and \
        name != CLASS_MAP_NAME


def _video_folder_names(data: dict, videos: List[dict]) -> Dict[int, str]:
    """A unique folder name per video id: its ``name``, else the folder of
    its first frame (``/`` -> ``_``), else ``video_<id>``."""
    by_id = {v['id']: v for v in data['videos']}
    taken, names = set(), {}
    for video in videos:
        entry = by_id.get(video['video_id'], {})
        candidates = [entry.get('name')]
        if video['frames']:
            folder = posixpath.dirname(video['frames'][0]['file_name'])
            candidates.append(folder.strip('/').replace('/', '_'))
        candidates.append(f"video_{video['video_id']}")
        name = next(c for c in candidates if _safe_name(c))
        base, n = name, 1
        while name in taken:
            n += 1
            name = f'{base}_{n}'
        taken.add(name)
        names[video['video_id']] = name
    return names


def _frame_png_names(frames: List[dict]) -> Optional[List[str]]:
    """``<frame file stem>.png`` per frame, ``None`` when two frames share a
    stem or a stem is no usable name."""
    stems = [posixpath.splitext(posixpath.basename(f['file_name']))[0]
             for f in frames]
    if len(set(stems)) != len(stems) or not all(map(_safe_name, stems)):
        return None
    return [f'{s}.png' for s in stems]


def _instance_key(ann: dict) -> Tuple[int, int]:
    """Sort key and identity of an annotation's instance: its
    ``instance_id``; a CocoVID annotation without one is an instance of its
    own (after those with one)."""
    if ann.get('instance_id') is not None:
        return 0, ann['instance_id']
    return 1, ann['id']


def _show(key: Tuple[int, int]) -> str:
    """An instance key for messages."""
    return str(key[1]) if key[0] == 0 else f'(annotation id={key[1]})'


def ytvis_to_png_masks(data: dict,
                       fmt: str,
                       out_dir,
                       ann_file: str = '<json>',
                       on_overlap: str = 'paint',
                       warn: Warn = _no_warn) -> Tuple[Dict[str, str], dict]:
    """Write a validated video-instance dict as instance-id PNGs.

    One folder per video (:func:`_video_folder_names`) with one PNG per
    frame, named after the frame file (``v1/00005.jpg`` -> ``v1/00005.png``;
    ``00000.png``, ... where frame stems repeat). The instances of a video
    (tracks with at least one mask) are numbered 1, 2, ... in order of their
    instance id (raw: annotation id), skipping 255 (DAVIS void); a video of
    up to 254 instances is written as palette PNGs, a larger one as 16-bit
    grey PNGs.

    Args:
        data (dict): A validated raw or CocoVID dict
            (:func:`~mmvis_pretrain.datasets.load_vis_json`).
        fmt (str): Its schema, ``'raw'`` or ``'cocovid'``.
        out_dir (str | Path): An existing empty folder.
        ann_file (str): Name of the JSON in messages.
        on_overlap (str): Where masks of one frame overlap: ``'paint'``
            (the instance with the larger id wins; a warning per video,
            naming the instances it hides completely) or ``'error'``.
        warn (Callable[[str], None]): Receives the warnings.

    Returns:
        tuple(dict, dict): The class map (``"<folder>/<index>"`` -> category
        name, for :func:`png_masks_to_ytvis`) and counts (``videos``,
        ``frames``, ``instances``, ``sixteen_bit`` videos, ``overlap_frames``).
    """
    if on_overlap not in ('paint', 'error'):
        raise ValueError("on_overlap must be 'paint' or 'error', got "
                         f'{on_overlap!r}')
    out_dir = Path(out_dir)
    cat_names = {c['id']: c['name'] for c in data['categories']}
    entries = {v['id']: v for v in data['videos']}
    videos = video_frames(data, fmt)
    folders = _video_folder_names(data, videos)
    class_map: Dict[str, str] = {}
    counts = dict(videos=0, frames=0, instances=0, sixteen_bit=0,
                  overlap_frames=0)
    for video in videos:
        entry = entries.get(video['video_id'], {'id': video['video_id']})
        where = f'{ann_file}, {describe_video(entry)}'
        frames = video['frames']
        folder = folders[video['video_id']]
        png_names = _frame_png_names(frames)
        if png_names is None:
            png_names = [f'{t:05d}.png' for t in range(len(frames))]
            warn(f"{where}: frame file names repeat or are no file names; "
                 f"its PNGs are numbered {folder}/00000.png, ...")
        frame_anns = [sorted(((_instance_key(a), a) for a in f['anns']
                              if a.get('segmentation')),
                             key=lambda ka: ka[0]) for f in frames]
        no_mask = sum(not a.get('segmentation') for f in frames
                      for a in f['anns'])
        if no_mask:
            warn(f'{where}: {no_mask} annotation(s) without a mask are left '
                 'out')
        category = {k: a['category_id'] for anns in frame_anns
                    for k, a in anns}
        inst_ids = sorted(category)
        index, next_index = {}, 1
        for inst in inst_ids:
            if next_index == DAVIS_VOID:
                next_index += 1
            index[inst] = next_index
            next_index += 1
        sixteen_bit = next_index - 1 > MAX_PALETTE_INDEX
        (out_dir / folder).mkdir()
        seen, overlaps = set(), []
        for t, (frame, anns, png) in enumerate(
                zip(frames, frame_anns, png_names)):
            height, width = frame['height'], frame['width']
            rles = [segmentation_to_rle(
                a['segmentation'], height, width,
                f'{where}: instance {_show(k)}, frame {t}') for k, a in anns]
            masks = decode_rle(rles, (height, width))
            id_map = np.zeros((height, width), np.int64)
            if anns:
                cover = masks.sum(0, dtype=np.int32)
                if (cover > 1).any():
                    y, x = np.argwhere(cover > 1)[0]
                    pair = [_show(k) for (k, _), m in zip(anns, masks)
                            if m[y, x]][:2]
                    overlap = (t, frame['file_name'], pair,
                               int((cover > 1).sum()))
                    if on_overlap == 'error':
                        raise PngMaskError(
                            f"{where}: frame {t} ('{frame['file_name']}'): "
                            f'the masks of instances {pair[0]} and {pair[1]}'
                            f' overlap ({overlap[3]} pixels with more than '
                            'one instance); one id PNG holds one instance '
                            'a pixel (--on-overlap paint draws the larger '
                            'id on top)')
                    overlaps.append(overlap)
                for (k, _), m in zip(anns, masks):
                    id_map[m] = index[k]
                seen.update(np.unique(id_map).tolist())
            write_id_png(out_dir / folder / png, id_map, sixteen_bit)
        if overlaps:
            t, name, pair, pixels = overlaps[0]
            lost = [_show(i) for i in inst_ids if index[i] not in seen]
            warn(f'{where}: masks overlap on {len(overlaps)} frame(s) '
                 f"(first: frame {t} '{name}', instances {pair[0]} and "
                 f'{pair[1]}, {pixels} pixels); the larger instance id is '
                 'drawn on top' + (f"; instance(s) {', '.join(lost)} are "
                                   'hidden in every frame and left out'
                                   if lost else ''))
        for inst in inst_ids:
            if index[inst] in seen:
                class_map[f'{folder}/{index[inst]}'] = \
                    cat_names[category[inst]]
                counts['instances'] += 1
        counts['videos'] += 1
        counts['frames'] += len(frames)
        counts['sixteen_bit'] += int(sixteen_bit)
        counts['overlap_frames'] += len(overlaps)
    return class_map, counts
