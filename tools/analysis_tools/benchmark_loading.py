"""Time loading a video-instance annotation file into :class:`VISDataset`.

Usage::

    python tools/analysis_tools/benchmark_loading.py \
        [--ann-file FILE --img-root DIR] [--num-videos N] [--rounds R] \
        [--workdir DIR] [--out results.json]

Without ``--ann-file`` it writes the bundled synthetic video set (12 videos,
``make_synthetic_data(seed=0)``) under ``--workdir`` and times two files:
the synthetic ``train.json`` itself and a JSON of ``--num-videos`` videos
(default 2,000) made by repeating its videos with fresh video and
annotation ids (same frame files, so the frame-file check still runs).

Each round builds the dataset from scratch (read, validate, parse, filter:
``VISDataset(...)`` with ``lazy_init=False`` and an empty pipeline) and
measures wall time (``time.perf_counter``) and CPU time of the process
(``time.process_time``, the steadier figure on a shared machine). The median
over ``--rounds`` is reported. One torch thread (the loader does not use
torch). Results in ``docs/benchmarks.md``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Optional

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ann-file', help='annotation JSON to time')
    parser.add_argument(
        '--img-root', help='frame root of --ann-file (the frame-file check '
        'is skipped without it)')
    parser.add_argument(
        '--num-videos', type=int, default=2000,
        help='videos of the repeated synthetic JSON. Default 2000')
    parser.add_argument(
        '--compressed', action='store_true',
        help='store the repeated JSON\'s masks as compressed RLE strings '
        '(as OVIS does; the synthetic set, like YouTube-VIS, has '
        'uncompressed counts lists)')
    parser.add_argument(
        '--mask-check', choices=('lazy', 'eager'),
        help="VISDataset's mask_check (default: the dataset's default)")
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument(
        '--workdir', help='where the synthetic data goes (default: a '
        'temporary folder, removed at the end)')
    parser.add_argument('--out', help='write the results as JSON here')
    return parser.parse_args(argv)


def compress_masks(data: dict) -> dict:
    """``data`` (raw) with every uncompressed RLE as a compressed one."""
    from pycocotools import mask as mask_utils
    out = copy.deepcopy(data)
    for ann in out.get('annotations') or []:
        segs = ann['segmentations']
        for t, seg in enumerate(segs):
            if isinstance(seg, dict) and isinstance(seg['counts'], list):
                rle = mask_utils.frPyObjects(seg, *seg['size'])
                segs[t] = dict(size=seg['size'],
                               counts=rle['counts'].decode('ascii'))
    return out


def repeat_videos(data: dict, num_videos: int) -> dict:
    """``data`` with its videos repeated (fresh ids) to ``num_videos``.

    Args:
        data (dict): A raw YouTube-VIS dict.
        num_videos (int): Videos of the result.

    Returns:
        dict: A raw YouTube-VIS dict of ``num_videos`` videos.
    """
    videos, anns = [], []
    by_video = {}
    for ann in data.get('annotations') or []:
        by_video.setdefault(ann['video_id'], []).append(ann)
    ann_id = 1
    for i in range(num_videos):
        src = data['videos'][i % len(data['videos'])]
        video = dict(src, id=i + 1)
        videos.append(video)
        for ann in by_video.get(src['id'], []):
            anns.append(dict(copy.deepcopy(ann), id=ann_id, video_id=i + 1))
            ann_id += 1
    return dict(data, videos=videos, annotations=anns)


def time_loading(ann_file: str,
                 img_root: str,
                 rounds: int,
                 mask_check: Optional[str] = None) -> dict:
    """Median wall / CPU seconds of building a VISDataset from ``ann_file``.

    Args:
        ann_file (str): Annotation JSON.
        img_root (str): Its frame root ('' skips the frame-file check).
        rounds (int): Timed builds.
        mask_check (str, optional): ``VISDataset(mask_check=...)``.

    Returns:
        dict: ``wall_s``, ``cpu_s`` (medians), ``videos``, ``rounds``.
    """
    from mmengine.logging import MMLogger

    from mmvis_pretrain.datasets import VISDataset
    MMLogger.get_instance('benchmark_loading', log_level='WARNING')
    walls, cpus, num = [], [], 0
    extra = {} if mask_check is None else dict(mask_check=mask_check)
    for _ in range(rounds):
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        dataset = VISDataset(
            ann_file=ann_file,
            data_prefix=dict(img_path=img_root),
            check_files=bool(img_root),
            pipeline=[],
            **extra)
        walls.append(time.perf_counter() - t_wall)
        cpus.append(time.process_time() - t_cpu)
        num = len(dataset)
    return dict(
        wall_s=statistics.median(walls),
        cpu_s=statistics.median(cpus),
        videos=num,
        rounds=rounds)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    if args.ann_file:
        results[args.ann_file] = time_loading(args.ann_file,
                                              args.img_root or '',
                                              args.rounds, args.mask_check)
    else:
        from mmvis_pretrain.datasets.synthetic import make_synthetic_data
        with tempfile.TemporaryDirectory() as tmp:
            root = args.workdir or tmp
            ytvis = osp.join(root, 'ytvis')
            if not osp.isfile(osp.join(ytvis, 'train.json')):
                make_synthetic_data(root, seed=0)
            img_root = osp.join(ytvis, 'train', 'JPEGImages')
            train = osp.join(ytvis, 'train.json')
            with open(train) as f:
                data = json.load(f)
            if args.compressed:
                data = compress_masks(data)
            kind = '_rle' if args.compressed else ''
            big = osp.join(root, f'train_x{args.num_videos}{kind}.json')
            with open(big, 'w') as f:
                json.dump(repeat_videos(data, args.num_videos), f)
            for name, path in (('synthetic train.json', train),
                               (f'{args.num_videos}-video JSON'
                                f"{' (compressed RLE)' * args.compressed}",
                                big)):
                results[name] = time_loading(path, img_root, args.rounds,
                                             args.mask_check)
                results[name]['bytes'] = os.path.getsize(path)
    for name, res in results.items():
        print(f"{name}: {res['videos']} videos, wall {res['wall_s']:.3f} s, "
              f"cpu {res['cpu_s']:.3f} s (median of {res['rounds']})")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
