"""Check a YouTube-VIS / OVIS server submission without ground truth.

The validation annotations of YouTube-VIS and OVIS are withheld: a broken
submission is found out only after an upload (and a day's quota). What can
be checked against the public ``valid.json`` (videos and categories, no
annotations) is checked here, every problem listed by video:

* the archive: a zip holding ``results.json`` at its root (the servers
  read exactly that: a ``results.json`` in a folder or under another name
  is a problem);
* the JSON: a list of objects with ``video_id`` (int), ``category_id``
  (int), ``score`` (a finite number in [0, 1]) and ``segmentations`` (a
  list);
* per result: its video is in ``valid.json``; ``segmentations`` has the
  video's length; each non-null entry is a compressed RLE (``counts`` a
  str, as the official ``loadRes`` needs) of ``size`` = the video's
  ``[height, width]`` whose runs decode to exactly ``height x width``
  pixels; its category is one of the dataset's;
* per video: at most ``max_per_video`` results (default 100: the
  evaluation keeps the best 100 per video and category, and more only
  enlarge the upload).

Warnings (not problems): videos without any result (their objects count as
missed), results without any mask, files next to ``results.json``.
"""
import json
import math
import zipfile
from collections import Counter, OrderedDict
from numbers import Integral, Real
from typing import Dict, List

from ...structures import (compressed_rle_problems, describe_compressed_rle,
                           segmentation_problem)
from .vis_eval import index_gt

__all__ = ['check_submission', 'check_results', 'format_report']

ARCHIVE = 'archive'
JSON = 'results.json'


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_results(valid: dict, results, max_per_video: int = 100) -> dict:
    """Check a result list against the videos / categories of ``valid``.

    Args:
        valid (dict): The dataset's ``valid.json`` (``videos`` with ``id``,
            ``height``, ``width``, ``length`` or ``file_names``;
            ``categories``); annotations are not needed.
        results: The parsed ``results.json``.
        max_per_video (int): Most results a video may have.

    Returns:
        dict: ``problems`` ``{where: [sentence, ...]}`` (``where``:
        ``'results.json'`` or ``'video <id>'``, in video order),
        ``warnings`` (sentences), ``num_results``, ``num_videos`` (with a
        result).
    """
    videos, categories = index_gt(valid)
    problems: Dict[str, List[str]] = OrderedDict()
    warnings: List[str] = []

    def add(where: str, sentence: str) -> None:
        problems.setdefault(where, []).append(sentence)

    if not isinstance(results, list):
        add(JSON, 'must be a JSON list of {video_id, category_id, score, '
            f'segmentations}}, got a {type(results).__name__}')
        return dict(problems=problems, warnings=warnings, num_results=0,
                    num_videos=0)
    per_video = Counter()
    for i, res in enumerate(results):
        name = f'result #{i}'
        if not isinstance(res, dict):
            add(JSON, f'{name} is not an object')
            continue
        vid = res.get('video_id')
        where = f'video {vid}'
        missing = [k for k in ('video_id', 'category_id', 'score',
                               'segmentations') if k not in res]
        if missing:
            add(where if vid is not None else JSON,
                f'{name} has no {missing}')
            continue
        if not _is_int(vid) or vid not in videos:
            add(where, f'{name}: video_id={vid!r} is not a video of '
                'valid.json')
            continue
        per_video[vid] += 1
        video = videos[vid]
        cat = res['category_id']
        if not _is_int(cat) or cat not in categories:
            add(where, f'{name}: category_id={cat!r} is not one of the '
                f'dataset\'s {sorted(categories)}')
        score = res['score']
        if not isinstance(score, Real) or isinstance(score, bool) or \
                not math.isfinite(score) or not 0 <= score <= 1:
            add(where, f'{name}: score {score!r} is not a number in [0, 1]')
        segs = res['segmentations']
        if not isinstance(segs, list):
            add(where, f"{name}: 'segmentations' must be a list, got "
                f'{type(segs).__name__}')
            continue
        if len(segs) != video.length:
            add(where, f"{name}: 'segmentations' has {len(segs)} entries, "
                f'the video has {video.length} frames')
        bad, queued = [], []
        for t, seg in enumerate(segs):
            if not seg:
                continue
            if not isinstance(seg, dict) or not isinstance(
                    seg.get('counts'), str):
                bad.append(f'frame {t}: not a compressed RLE with str '
                           f"counts ({type(seg).__name__} "
                           f'{str(seg)[:40]})')
                continue
            problem = segmentation_problem(seg, video.height, video.width,
                                           check_compressed=False)
            if problem:
                bad.append(f'frame {t}: {problem}')
            else:
                queued.append((t, seg['counts']))
        # the runs of all compressed masks of the result, decoded at once
        pixels = video.height * video.width
        for k in compressed_rle_problems([c for _, c in queued],
                                         [pixels] * len(queued)):
            t, counts = queued[int(k)]
            bad.append(f'frame {t}: ' + describe_compressed_rle(
                counts, video.height, video.width))
        bad.sort(key=lambda text: int(text.split(':')[0].split()[1]))
        if bad:
            more = f' (and {len(bad) - 3} more frames)' if len(bad) > 3 \
                else ''
            add(where, f'{name}: ' + '; '.join(bad[:3]) + more)
        if not any(segs):
            warnings.append(f'{where}: {name} has no mask in any frame')
    for vid, count in per_video.items():
        if count > max_per_video:
            add(f'video {vid}', f'{count} results, more than '
                f'{max_per_video} (keep the best per video: tools/test.py '
                '--submission DIR --topk K)')
    without = [v for v in videos if v not in per_video]
    if without:
        warnings.append(
            f'{len(without)} of {len(videos)} videos have no result (e.g. '
            f'video {without[0]}); their objects count as missed')
    order = {f'video {v}': k for k, v in enumerate(videos)}
    problems = OrderedDict(sorted(
        problems.items(), key=lambda kv: (kv[0] != JSON, order.get(
            kv[0], len(order)), kv[0])))
    return dict(problems=problems, warnings=warnings,
                num_results=len(results), num_videos=len(per_video))


def format_report(out: dict, path: str) -> str:
    """The problems by video, then the warnings, as text."""
    problems = out['problems']
    count = sum(len(v) for v in problems.values())
    if count:
        lines = [f'{path}: {count} problem(s) in {len(problems)} place(s)']
        for where, sentences in problems.items():
            lines.append(f'{where}:')
            lines += [f'  - {s}' for s in sentences]
    else:
        lines = [f"{path}: OK, {out['num_results']} results for "
                 f"{out['num_videos']} videos"]
    if out['warnings']:
        lines.append('warnings:')
        lines += [f'  - {w}' for w in out['warnings']]
    return '\n'.join(lines)


def check_submission(valid: dict, zip_path: str,
                     max_per_video: int = 100) -> dict:
    """Check a server archive (see the module docstring).

    Returns:
        dict: As :func:`check_results`, archive problems under
        ``'archive'``.

    Raises:
        ValueError: ``valid`` is not a usable valid.json (the message
            names the video / category).
    """
    index_gt(valid)  # a broken valid.json raises first, named
    empty = dict(problems=OrderedDict(), warnings=[], num_results=0,
                 num_videos=0)
    if not zipfile.is_zipfile(zip_path):
        empty['problems'][ARCHIVE] = [f'{zip_path} is not a zip archive']
        return empty
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if not n.endswith('/')]
        if JSON not in names:
            nested = [n for n in names if n.endswith('/' + JSON)]
            found = ', '.join(names[:5]) or 'nothing'
            empty['problems'][ARCHIVE] = [
                f'no results.json at the archive root (found {found})' + (
                    f'; move {nested[0]} to the root: zip it from inside '
                    'its folder' if nested else '')]
            return empty
        try:
            results = json.loads(zf.read(JSON))
        except (ValueError, UnicodeDecodeError) as err:
            empty['problems'][ARCHIVE] = [f'results.json is not valid JSON '
                                          f'({err})']
            return empty
    out = check_results(valid, results, max_per_video)
    others = [n for n in names if n != JSON]
    if others:
        out['warnings'].append(f'the archive also holds {others[:5]}; the '
                               'servers read only results.json')
    return out
