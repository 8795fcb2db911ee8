"""VIS results -> a raw YouTube-VIS training JSON (pseudo-labels).

The first step of the pseudo-label loop (docs/error_analysis.md, "Your own
videos"): a model's tracks on unlabelled videos become training
annotations, to be corrected (e.g. as PNG id masks in CVAT:
``ytvis_to_png_masks.py``, then ``png_masks_to_ytvis.py``) and trained on.

Inputs: ``demo/video_demo.py --json`` files (one video each, with its
frame files, size and class names) or an official ``results.json`` /
submission zip together with the annotation file that describes its videos
(``videos`` with ``file_names``, ``categories``).

Rules:

* a result scoring ``> score_thr`` becomes a track (an annotation with
  ``iscrowd`` 0 and its ``score`` kept, so a later round can weigh or
  re-threshold it); empty frames become ``null``; a result without any
  mask is dropped;
* a track the demo reports under several classes (CTVIS's (track, class)
  pairs share one ``track_id``) keeps only its best-scoring class: one
  object, one annotation;
* frame paths are made relative to ``frames_root`` when given (the
  dataset's ``data_prefix.img_path``), else kept as written;
* the output is validated as the datasets load it before it is written.
"""
from __future__ import annotations

import os.path as osp
import zipfile
from typing import List, Optional, Sequence, Tuple

from ...evaluation.functional import results_io
from .raw_vis import ConversionError, RawVISBuilder, Report, rle_entry

__all__ = ['results_to_raw_vis']


def _read(fn, *args):
    """A results / annotation reader whose errors (missing file, bad JSON,
    bad zip) become a :class:`ConversionError` naming the file."""
    try:
        return fn(*args)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        if isinstance(err, ConversionError):
            raise
        raise ConversionError(str(err)) from err


def load_json(path: str, what: str):
    return _read(results_io.load_json, path, what)


def load_results(path: str):
    return _read(results_io.load_results, path)


def _relative(names: Sequence[str], root: Optional[str],
              where: str) -> List[str]:
    if root is None:
        return [str(n) for n in names]
    out = []
    root = osp.abspath(root)
    for name in names:
        rel = osp.relpath(osp.abspath(name), root)
        if rel.startswith('..'):
            raise ConversionError(f'{where}: frame {name} is not under '
                                  f'--frames-root {root}')
        out.append(rel)
    return out


def _best_per_track(results: list) -> list:
    """One result per ``track_id`` (the best score); results without a
    ``track_id`` are kept as they are."""
    best, order = {}, []
    for res in results:
        key = res.get('track_id')
        if key is None:
            order.append(res)
            continue
        if key not in best:
            order.append(key)
            best[key] = res
        elif res['score'] > best[key]['score']:
            best[key] = res
    return [best[r] if not isinstance(r, dict) else r for r in order]


def _add_video(builder: RawVISBuilder, video: dict, results: list,
               category_name, score_thr: float, where: str,
               report: Report) -> None:
    length, height, width = (int(video['length']), int(video['height']),
                             int(video['width']))
    vid = builder.add_video(video['file_names'], height, width,
                            video_id=video['id'])
    dropped = 0
    for i, res in enumerate(_best_per_track(results)):
        if not isinstance(res.get('score'), (int, float)) or \
                res['score'] <= score_thr:
            continue
        segs = res.get('segmentations')
        if not isinstance(segs, list) or len(segs) != length:
            raise ConversionError(
                f"{where}: a result of video {video['id']} has "
                f"{len(segs) if isinstance(segs, list) else segs!r} "
                f'segmentations, the video {length} frames')
        frames = {}
        for t, seg in enumerate(segs):
            if not seg:
                continue
            if seg.get('size') != [height, width]:
                raise ConversionError(
                    f"{where}: video {video['id']}, frame {t}: a mask of "
                    f"size {seg.get('size')}, the video is {height}x{width}")
            frames[t] = rle_entry(seg)
        cat = builder.category_id(category_name(res), where)
        ann = builder.add_track(vid, cat, frames, length)
        if ann is None:
            dropped += 1
        else:
            builder.annotations[-1]['score'] = float(res['score'])
    if dropped:
        report.warnings.append(f"video {video['id']}: {dropped} result(s) "
                               'without any mask left out')


def results_to_raw_vis(results_files: Sequence[str],
                       score_thr: float = 0.5,
                       videos_json: Optional[str] = None,
                       frames_root: Optional[str] = None
                       ) -> Tuple[dict, Report]:
    """Build the pseudo-label JSON (see the module docstring).

    Args:
        results_files (Sequence[str]): ``video_demo.py --json`` files, or
            one ``results.json`` / submission zip (with ``videos_json``).
        score_thr (float): Results scoring above it become tracks.
        videos_json (str, optional): The annotation file describing the
            videos of a ``results.json`` (its annotations are ignored).
        frames_root (str, optional): Make frame paths relative to it.

    Returns:
        tuple: The raw dict and a :class:`Report` of warnings.

    Raises:
        ConversionError: Bad input; the message names the file, video and
            frame.
    """
    report = Report()
    if videos_json is not None:
        if len(results_files) != 1:
            raise ConversionError('--videos describes the videos of one '
                                  'results.json; give one results file')
        meta = load_json(videos_json, 'videos file')
        cats = {c['id']: c['name'] for c in meta.get('categories') or []}
        builder = RawVISBuilder(classes=list(cats.values()))
        results = load_results(results_files[0])
        known = {v['id']: v for v in meta.get('videos') or []}
        by_video = {}
        for i, res in enumerate(results):
            if res.get('video_id') not in known:
                raise ConversionError(
                    f"{results_files[0]}: result #{i} has video_id="
                    f"{res.get('video_id')!r}, not a video of {videos_json}")
            if res.get('category_id') not in cats:
                raise ConversionError(
                    f"{results_files[0]}: result #{i} has category_id="
                    f"{res.get('category_id')!r}, not one of {videos_json}")
            by_video.setdefault(res['video_id'], []).append(res)
        for vid, video in known.items():
            video = dict(video, file_names=_relative(
                video['file_names'], frames_root, videos_json),
                length=len(video['file_names']))
            _add_video(builder, video, by_video.get(vid, []),
                       lambda r: cats[r['category_id']], score_thr,
                       results_files[0], report)
        return builder.to_json(), report
    builder, classes, seen = None, None, set()
    for path in results_files:
        data = load_json(path, 'results file')
        if not isinstance(data, dict) or 'video' not in data or \
                'results' not in data:
            raise ConversionError(
                f'{path}: not a video_demo.py --json file (a results.json '
                'needs --videos, the annotation file of its videos)')
        video = data['video']
        if not video.get('file_names'):
            raise ConversionError(
                f"{path}: the video {video.get('name')} was read from a "
                'video file, so there are no frame files to annotate: run '
                'video_demo.py on a folder of its frames')
        names = [c['name'] for c in data.get('categories') or []]
        if builder is None:
            classes = names
            builder = RawVISBuilder(classes=names or None)
        elif names != classes:
            raise ConversionError(f'{path}: categories {names} differ from '
                                  f'those of {results_files[0]} {classes}')
        vid = video.get('id', 1)
        if vid in seen:  # each demo run defaults to id 1: number them
            vid = max(seen) + 1
        seen.add(vid)
        cat_names = {c['id']: c['name'] for c in data.get('categories')
                     or []}
        video = dict(video, id=vid, file_names=_relative(
            video['file_names'], frames_root, path))
        _add_video(builder, video, data['results'],
                   lambda r: cat_names.get(r['category_id'],
                                           f"class {r['category_id']}"),
                   score_thr, path, report)
    return builder.to_json(), report
