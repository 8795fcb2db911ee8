"""A simulated annotator for the pseudo-label loop (demo/pseudo_label_loop.py):
corrects PNG id masks (as written by ``ytvis_to_png_masks.py``) against the
ground truth, the way a person would in CVAT, and counts the edits.

    python demo/simulate_annotator.py PNG_DIR GT_JSON --out CORRECTED_DIR \
        [--redraw-iou 0.5]

Per video (the PNG folder named like the ground truth's frame folder):

* each predicted instance id is the object it overlaps most over the
  video; an id that overlaps no object is **deleted** (a false track);
* ids of one object are **merged** into the first (a track split by an ID
  switch becomes one);
* the class becomes the object's (**relabelled** when it was another);
* per frame, a predicted mask of IoU >= ``--redraw-iou`` with the object's
  is kept as it is (an annotator accepts a good-enough mask); a worse one,
  or a frame where the object is but the prediction is not, is **redrawn**
  from the ground truth; a mask where the object is absent is **erased**;
* objects without any id are **added** (drawn from the ground truth).

The output folder has the same layout and a ``classes.json``, for
``png_masks_to_ytvis.py``. Real annotators are slower on some edits than on
others; the counts are what a loop's cost estimate needs.
"""
import argparse
import json
import os
import os.path as osp
import posixpath
import sys
from collections import Counter, defaultdict
from typing import Dict

import numpy as np
from pycocotools import mask as mask_utils

from mmvis_pretrain.apis.staged_outputs import StagedOutputs
from mmvis_pretrain.datasets.converters.id_png import (read_id_png,
                                                       write_id_png)
from mmvis_pretrain.datasets.converters.png_masks import (CLASS_MAP_NAME,
                                                          read_class_map)
from mmvis_pretrain.evaluation.functional.vis_rle import track_rles

EDITS = ('deleted_tracks', 'merged_tracks', 'relabelled_tracks',
         'added_tracks', 'kept_masks', 'redrawn_masks', 'erased_masks')


def _gt_videos(gt: dict) -> Dict[str, dict]:
    """Frame folder -> ``{stems, height, width, objects: [(category name,
    [mask | None per frame])]}``."""
    names = {c['id']: c['name'] for c in gt['categories']}
    out = {}
    for video in gt['videos']:
        folder = posixpath.dirname(video['file_names'][0])
        h, w = video['height'], video['width']
        objects = []
        for ann in gt['annotations']:
            if ann['video_id'] != video['id']:
                continue
            rles, _ = track_rles(ann['segmentations'], h, w,
                                 f"annotation {ann['id']}")
            objects.append((names[ann['category_id']], [
                None if r is None else mask_utils.decode(r).astype(bool)
                for r in rles]))
        out[folder] = dict(
            stems=[posixpath.splitext(posixpath.basename(f))[0]
                   for f in video['file_names']],
            height=h, width=w, objects=objects)
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def correct_video(pred: Dict[int, list], classes: Dict[int, str],
                  video: dict, redraw_iou: float, edits: Counter):
    """Corrected ``(id maps per frame, {id: category})`` of one video.

    Args:
        pred (dict): Predicted id -> per-frame masks (None where absent).
        classes (dict): Predicted id -> category name.
        video (dict): The ground truth (:func:`_gt_videos`).
        redraw_iou (float): Keep predicted masks at least this good.
        edits (Counter): Edit counts, updated.
    """
    objects = video['objects']
    length = len(video['stems'])
    owner = {}
    for pid, masks in pred.items():
        overlap = [sum(int(np.count_nonzero(m & g)) for m, g in zip(
            masks, gmasks) if m is not None and g is not None)
            for _, gmasks in objects]
        if not overlap or max(overlap) == 0:
            edits['deleted_tracks'] += 1
            continue
        owner[pid] = int(np.argmax(overlap))
    by_object = defaultdict(list)
    for pid in sorted(owner):
        by_object[owner[pid]].append(pid)
    next_id = max(pred, default=0) + 1
    out_ids, out_classes = {}, {}
    for k, (name, gmasks) in enumerate(objects):
        pids = by_object.get(k, [])
        if pids:
            out_ids[k] = pids[0]
            edits['merged_tracks'] += len(pids) - 1
            if any(classes.get(p) != name for p in pids):
                edits['relabelled_tracks'] += 1
        else:
            out_ids[k] = next_id
            next_id += 1
            edits['added_tracks'] += 1
        out_classes[out_ids[k]] = name
    maps = [np.zeros((video['height'], video['width']), np.int64)
            for _ in range(length)]
    for k, (_, gmasks) in enumerate(objects):
        pids = by_object.get(k, [])
        for t in range(length):
            ours = [pred[p][t] for p in pids if pred[p][t] is not None]
            mine = np.logical_or.reduce(ours) if ours else None
            if gmasks[t] is None:
                if mine is not None:
                    edits['erased_masks'] += 1
                continue
            if mine is not None and _iou(mine, gmasks[t]) >= redraw_iou:
                edits['kept_masks'] += 1
                maps[t][mine] = out_ids[k]
            else:
                edits['redrawn_masks'] += 1
                maps[t][gmasks[t]] = out_ids[k]
    return maps, out_classes


def simulate_annotator(png_dir: str, gt_json: str, out_dir: str,
                       redraw_iou: float = 0.5) -> Dict[str, int]:
    """Correct every video of ``png_dir`` into ``out_dir`` (written only on
    success); returns the edit counts."""
    with open(gt_json) as f:
        gt = json.load(f)
    videos = _gt_videos(gt)
    class_map = read_class_map(osp.join(png_dir, CLASS_MAP_NAME))
    edits = Counter({k: 0 for k in EDITS})
    corrected_map = {}
    with StagedOutputs() as staged:
        out = staged.folder(out_dir)
        for folder in sorted(d for d in os.listdir(png_dir)
                             if osp.isdir(osp.join(png_dir, d))):
            if folder not in videos:
                raise ValueError(f'{png_dir}/{folder}: no video of {gt_json} '
                                 'has its frames in a folder of that name')
            video = videos[folder]
            pred = defaultdict(lambda: [None] * len(video['stems']))
            for t, stem in enumerate(video['stems']):
                path = osp.join(png_dir, folder, f'{stem}.png')
                if not osp.isfile(path):
                    continue
                ids = read_id_png(path)
                for pid in np.unique(ids[ids > 0]):
                    pred[int(pid)][t] = ids == pid
            classes = {pid: class_map.get(f'{folder}/{pid}')
                       for pid in pred}
            maps, out_classes = correct_video(dict(pred), classes, video,
                                              redraw_iou, edits)
            os.makedirs(out / folder)
            for stem, id_map in zip(video['stems'], maps):
                write_id_png(out / folder / f'{stem}.png', id_map,
                             sixteen_bit=bool(id_map.max() > 255))
            corrected_map.update({f'{folder}/{i}': name
                                  for i, name in out_classes.items()})
        (out / CLASS_MAP_NAME).write_text(json.dumps(corrected_map,
                                                     indent=1))
        staged.commit()
    return dict(edits)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('png_dir')
    parser.add_argument('gt_json')
    parser.add_argument('--out', required=True)
    parser.add_argument('--redraw-iou', type=float, default=0.5)
    args = parser.parse_args(argv)
    edits = simulate_annotator(args.png_dir, args.gt_json, args.out,
                               args.redraw_iou)
    print('edits: ' + ', '.join(f'{k} {v}' for k, v in edits.items()))
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
