"""Time the data pipeline of one or more configs (decoding included).

Usage::

    python tools/analysis_tools/benchmark_pipeline.py CONFIG [CONFIG ...] \
        [--num-samples N] [--warmup W] [--split train|val|test] \
        [--cfg-options k=v ...] [--seed S] [--out results.json]

For each config it builds ``cfg.<split>_dataloader.dataset`` (wrappers such
as ``ConcatDataset`` included), runs ``W`` warm-up samples and then times
``N`` samples through ``dataset[i]`` (loading, decoding, every transform and
packing) in the main process with ``time.perf_counter``. Indices are fixed
(``0, 1, ...``, wrapping around a small dataset) and ``set_random_seed(S)``
runs before building and before timing, so runs are repeatable.

Frames per sample are read from the packed output: a ``TrackDataSample`` of
length T (clips, e.g. ``ImageToClip`` / video pipelines + ``PackTrackInputs``)
counts T frames, a ``DetDataSample`` (``PackDetInputs``) one frame.

Reported per config: samples/s (clips/s for clips), frames/s, and median and
mean milliseconds per sample and per frame; a table is printed and, with
``--out``, everything is written as JSON. ``--cfg-options`` applies to every
config. See ``docs/joint_training.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import DictAction
from mmengine.runner import set_random_seed

from mmvis_pretrain.utils import text_table
from mmvis_pretrain.utils.split_dataset import (build_split_dataset,
                                                load_config)

SPLITS = ('train', 'val', 'test')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Time samples through the dataset pipelines of configs.')
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='config file paths')
    parser.add_argument('--num-samples', type=int, default=50,
                        help='timed samples per config (default: 50)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed samples first (default: 5)')
    parser.add_argument('--split', choices=SPLITS, default='train',
                        help='which <split>_dataloader.dataset (default: '
                        'train)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: 0)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, xxx=yyy pairs')
    args = parser.parse_args(argv)
    if args.num_samples < 1:
        parser.error('--num-samples must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def frames_of(sample: Any) -> int:
    """Frames in one packed sample: T for a clip, 1 for an image.

    Raises:
        TypeError: if ``data_samples`` is neither a ``TrackDataSample`` nor a
            ``DetDataSample``.
    """
    data_sample = sample['data_samples'] if isinstance(sample, dict) \
        else None
    if isinstance(data_sample, TrackDataSample):
        return len(data_sample)
    if isinstance(data_sample, DetDataSample):
        return 1
    raise TypeError('cannot count frames: expected data_samples to be a '
                    'TrackDataSample or DetDataSample, got '
                    f'{type(data_sample).__name__}')


def sample_indices(length: int, num: int) -> List[int]:
    """``0 .. num - 1``, wrapping around a dataset of ``length``."""
    return [i % length for i in range(num)]


def time_samples(dataset, indices: Sequence[int]) -> Dict[str, List]:
    """Seconds and frames of ``dataset[idx]`` for every index."""
    seconds, frames = [], []
    for idx in indices:
        start = time.perf_counter()
        sample = dataset[idx]
        seconds.append(time.perf_counter() - start)
        frames.append(frames_of(sample))
    return dict(seconds=seconds, frames=frames)


def summarize(seconds: Sequence[float],
              frames: Sequence[int]) -> Dict[str, Any]:
    """Throughput and per-sample / per-frame milliseconds (median, mean)."""
    total = sum(seconds)
    ms_sample = [1000 * s for s in seconds]
    ms_frame = [ms / f for ms, f in zip(ms_sample, frames)]
    distinct = sorted(set(frames))
    return dict(
        frames_per_sample=distinct[0] if len(distinct) == 1 else
        statistics.mean(frames),
        samples_per_s=len(seconds) / total if total > 0 else float('inf'),
        frames_per_s=sum(frames) / total if total > 0 else float('inf'),
        ms_per_sample=dict(median=statistics.median(ms_sample),
                           mean=statistics.mean(ms_sample)),
        ms_per_frame=dict(median=statistics.median(ms_frame),
                          mean=statistics.mean(ms_frame)),
        total_s=total)


def benchmark_config(path: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Build the config's dataset, warm up, time and summarise."""
    cfg = load_config(path, args.cfg_options)
    set_random_seed(args.seed)
    dataset = build_split_dataset(cfg, args.split)
    if len(dataset) == 0:
        raise ValueError(f'the {args.split} dataset of {path} is empty')
    indices = sample_indices(len(dataset), args.warmup + args.num_samples)
    for idx in indices[:args.warmup]:
        dataset[idx]
    set_random_seed(args.seed)
    timed = time_samples(dataset, indices[args.warmup:])
    return dict(
        config=str(path),
        dataset=type(dataset).__name__,
        dataset_length=len(dataset),
        num_samples=args.num_samples,
        warmup=args.warmup,
        **summarize(timed['seconds'], timed['frames']))


def format_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results as a plain-text table."""
    header = ('config', 'T', 'samples/s', 'frames/s', 'ms/sample med',
              'ms/sample mean', 'ms/frame med', 'ms/frame mean')
    rows = [header] + [(
        Path(r['config']).name, f"{r['frames_per_sample']:g}",
        f"{r['samples_per_s']:.2f}", f"{r['frames_per_s']:.2f}",
        f"{r['ms_per_sample']['median']:.2f}",
        f"{r['ms_per_sample']['mean']:.2f}",
        f"{r['ms_per_frame']['median']:.2f}",
        f"{r['ms_per_frame']['mean']:.2f}") for r in results]
    return text_table.format_table(rows)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    args = parse_args(argv)
    results = [benchmark_config(path, args) for path in args.configs]
    print(format_table(results))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = dict(split=args.split, num_samples=args.num_samples,
                      warmup=args.warmup, seed=args.seed, results=results)
        out.write_text(json.dumps(report, indent=2))
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
