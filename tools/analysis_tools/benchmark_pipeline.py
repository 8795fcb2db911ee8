"""Time the data pipeline of one or more configs (decoding included).

Usage::

    python tools/analysis_tools/benchmark_pipeline.py CONFIG [CONFIG ...] \
        [--num-samples N] [--warmup W] [--rounds R] [--interleave] \
        [--opencv-threads N] [--torch-threads N] [--split train|val|test] \
        [--cfg-options k=v ...] [--seed S] [--out results.json]

For each config it builds ``cfg.<split>_dataloader.dataset`` (wrappers such
as ``ConcatDataset`` included), runs ``W`` warm-up samples and then times
``N`` samples through ``dataset[i]`` (loading, decoding, every transform and
packing) in the main process: wall time (``time.perf_counter``) and the
process's CPU time (``time.process_time``, all its threads; on a machine
shared with other processes it is the steadier figure, as time the process
waits for a core does not count). Indices are fixed
(``0, 1, ...``, wrapping around a small dataset) and ``set_random_seed(S)``
runs before building and before every timed round, so runs are repeatable.

``--interleave`` times the configs in turn, sample ``i`` of every config
before sample ``i + 1`` of any, so a change of machine load (other processes
on a shared machine) hits all configs alike; every config keeps its own
random state, so it draws exactly the samples it draws alone. It also
couples the configs through the process's memory (an image sample runs
right after a clip's large allocations were freed): on the 2-core CPU
machine it gave somewhat lower clip / image ratios than sequential rounds,
so compare like with like (``docs/benchmarks.md`` reports both).
``--rounds R`` repeats the timed pass ``R`` times (each round reseeded: the
same samples again). Threads are set as in a data loader worker of a
training run: OpenCV gets ``cv2.setNumThreads(0)`` (no threads; mmengine's
runner applies ``env_cfg.mp_cfg.opencv_num_threads``, 0 in this project's
and mmdet's default runtime) and torch ``torch.set_num_threads(1)`` (what
PyTorch's worker loop sets); ``--opencv-threads`` / ``--torch-threads``
choose other values (-1: the library's own default, one thread per core).

Frames per sample are read from the packed output: a ``TrackDataSample`` of
length T (clips, e.g. ``ImageToClip`` / video pipelines + ``PackTrackInputs``)
counts T frames, a ``DetDataSample`` (``PackDetInputs``) one frame.

Reported per config: samples/s (clips/s for clips), frames/s, median and
mean milliseconds per sample and per frame over all timed samples (wall
time; ``cpu_ms_per_frame``: CPU time), the mean (total time / frames) and
median ms per frame of every round, and ``frame_cost_vs_first``: per round
the ms per frame divided by that of the first config (the reference, e.g.
a single-image pipeline), and the median of those ratios over the rounds,
``by_mean`` (the throughput ratio) and ``by_median``, each in ``wall`` and
``cpu`` time. With a random pipeline the per-sample times are a mixture
(e.g. a paste in half of the clips, a flip in half of the images), whose
median jumps between the modes with the sample set: the mean is the
steadier figure and the one that sets a data loader's throughput.
A table is printed and, with ``--out``, everything is written as JSON.
``--cfg-options`` applies to every config. See ``docs/joint_training.md``
and ``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import DictAction
from mmengine.runner import set_random_seed
from terminaltables import AsciiTable

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
                        help='timed samples per config and round '
                        '(default: 50)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed samples first (default: 5)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='timed passes over the same samples '
                        '(default: 1)')
    parser.add_argument('--interleave', action='store_true',
                        help='time the configs in turn, one sample each')
    parser.add_argument('--opencv-threads', type=int, default=0,
                        help='cv2.setNumThreads value (default: 0, as '
                        "mmengine's runner in training; -1: OpenCV's "
                        'default)')
    parser.add_argument('--torch-threads', type=int, default=1,
                        help='torch.set_num_threads value (default: 1, as '
                        "in a data loader worker; -1: torch's default)")
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
    if args.rounds < 1:
        parser.error('--rounds must be >= 1')
    return args


def set_threads(opencv_threads: int, torch_threads: int) -> tuple:
    """Set OpenCV's and torch's thread counts (-1 leaves one as it is);
    returns the previous ``(opencv_threads, torch_threads)``."""
    previous = (cv2.getNumThreads(), torch.get_num_threads())
    if opencv_threads != -1:
        cv2.setNumThreads(opencv_threads)
    if torch_threads != -1:
        torch.set_num_threads(torch_threads)
    return previous


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


class RandomState:
    """The global random states ``set_random_seed`` seeds (``random``,
    numpy, torch), saved and restored so that configs timed in turn each
    continue their own random sequence."""

    def __init__(self, seed: int) -> None:
        set_random_seed(seed)
        self.save()

    def save(self) -> None:
        """Remember the current global states."""
        self.states = (random.getstate(), np.random.get_state(),
                       torch.get_rng_state())

    def restore(self) -> None:
        """Make the remembered states current."""
        py_state, np_state, torch_state = self.states
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


def time_one(dataset, idx: int) -> tuple:
    """``(wall seconds, CPU seconds, frames)`` of ``dataset[idx]``."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    sample = dataset[idx]
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return seconds, cpu_seconds, frames_of(sample)


def _record(timed: Dict[str, List], measured: tuple) -> None:
    """Append one :func:`time_one` result to ``timed``."""
    for key, value in zip(('seconds', 'cpu_seconds', 'frames'), measured):
        timed[key].append(value)


def time_samples(dataset, indices: Sequence[int]) -> Dict[str, List]:
    """Wall and CPU seconds and frames of ``dataset[idx]`` for every
    index."""
    timed = dict(seconds=[], cpu_seconds=[], frames=[])
    for idx in indices:
        _record(timed, time_one(dataset, idx))
    return timed


def time_interleaved(datasets: Sequence, indices: Sequence[Sequence[int]],
                     seed: int) -> List[Dict[str, List]]:
    """One timed round of every data set, sample ``i`` of each in turn.

    Every data set starts from ``set_random_seed(seed)`` and keeps its own
    random state, so it gets the samples :func:`time_samples` would give
    it alone.

    Args:
        datasets: The data sets.
        indices: Per data set, the indices to time (equal lengths).
        seed: The seed of every data set's random state.

    Returns:
        list[dict]: Per data set, ``seconds``, ``cpu_seconds`` and
        ``frames`` per sample.
    """
    states = [RandomState(seed) for _ in datasets]
    timed = [dict(seconds=[], cpu_seconds=[], frames=[]) for _ in datasets]
    for i in range(len(indices[0])):
        for dataset, idxs, state, out in zip(datasets, indices, states,
                                             timed):
            state.restore()
            measured = time_one(dataset, idxs[i])
            state.save()
            _record(out, measured)
    return timed


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


def ms_per_frame_of_pass(timed: Dict[str, List], statistic: str,
                         key: str = 'seconds') -> float:
    """Milliseconds per frame of one timed pass: ``statistic`` ``'mean'``
    (total time / total frames: the inverse throughput) or ``'median'``
    (median over the samples); ``key``: ``'seconds'`` wall time,
    ``'cpu_seconds'`` CPU time."""
    if statistic == 'mean':
        return 1000 * sum(timed[key]) / sum(timed['frames'])
    return statistics.median(1000 * s / f
                             for s, f in zip(timed[key], timed['frames']))


def frame_cost_ratios(rounds: Sequence[Sequence[Dict[str, List]]],
                      c: int) -> Dict[str, Dict[str, Any]]:
    """Per round, config ``c``'s ms per frame divided by the first
    config's, and the median over the rounds: for the mean and the median
    ms per frame (``by_mean`` / ``by_median``), each in wall and CPU time.
    """
    out = {}
    for statistic in ('mean', 'median'):
        per_clock = {}
        for clock, key in (('wall', 'seconds'), ('cpu', 'cpu_seconds')):
            ratios = [
                ms_per_frame_of_pass(per_round[c], statistic, key) /
                ms_per_frame_of_pass(per_round[0], statistic, key)
                for per_round in rounds
            ]
            per_clock[clock] = dict(median=statistics.median(ratios),
                                    rounds=ratios)
        out[f'by_{statistic}'] = per_clock
    return out


def build_dataset(path: str, args: argparse.Namespace):
    """The config's data set after ``args.warmup`` untimed samples, and the
    indices to time."""
    cfg = load_config(path, args.cfg_options)
    set_random_seed(args.seed)
    dataset = build_split_dataset(cfg, args.split)
    if len(dataset) == 0:
        raise ValueError(f'the {args.split} dataset of {path} is empty')
    indices = sample_indices(len(dataset), args.warmup + args.num_samples)
    for idx in indices[:args.warmup]:
        dataset[idx]
    return dataset, indices[args.warmup:]


def run_rounds(datasets: Sequence, indices: Sequence[Sequence[int]],
               args: argparse.Namespace) -> List[List[Dict[str, List]]]:
    """``args.rounds`` timed passes; per round, per data set, the timings."""
    rounds = []
    for _ in range(args.rounds):
        if args.interleave:
            rounds.append(time_interleaved(datasets, indices, args.seed))
            continue
        timed = []
        for dataset, idxs in zip(datasets, indices):
            set_random_seed(args.seed)
            timed.append(time_samples(dataset, idxs))
        rounds.append(timed)
    return rounds


def benchmark(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Build, warm up, time and summarise every config of ``args``."""
    built = [build_dataset(path, args) for path in args.configs]
    datasets = [dataset for dataset, _ in built]
    indices = [idxs for _, idxs in built]
    rounds = run_rounds(datasets, indices, args)
    results = []
    for c, (path, dataset) in enumerate(zip(args.configs, datasets)):

        def pooled(key, c=c):
            return [v for per_round in rounds for v in per_round[c][key]]

        seconds, frames = pooled('seconds'), pooled('frames')
        cpu_ms_frame = [1000 * s / f
                        for s, f in zip(pooled('cpu_seconds'), frames)]
        results.append(dict(
            config=str(path),
            dataset=type(dataset).__name__,
            dataset_length=len(dataset),
            num_samples=args.num_samples,
            warmup=args.warmup,
            rounds=args.rounds,
            interleave=args.interleave,
            **summarize(seconds, frames),
            cpu_ms_per_frame=dict(median=statistics.median(cpu_ms_frame),
                                  mean=statistics.mean(cpu_ms_frame)),
            round_ms_per_frame=dict(
                mean=[ms_per_frame_of_pass(r[c], 'mean') for r in rounds],
                median=[ms_per_frame_of_pass(r[c], 'median')
                        for r in rounds]),
            frame_cost_vs_first=frame_cost_ratios(rounds, c)))
    return results


def format_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results as a plain-text table (``x first``: ms per frame divided
    by the first config's, median over the rounds)."""
    header = ('config', 'T', 'samples/s', 'frames/s', 'ms/sample med',
              'ms/frame med', 'ms/frame mean', 'cpu ms/frame mean',
              'x first (mean)', 'x first (cpu mean)', 'x first (median)')
    rows = [header]
    for r in results:
        ratio = r['frame_cost_vs_first']
        rows.append((
            Path(r['config']).name, f"{r['frames_per_sample']:g}",
            f"{r['samples_per_s']:.2f}", f"{r['frames_per_s']:.2f}",
            f"{r['ms_per_sample']['median']:.2f}",
            f"{r['ms_per_frame']['median']:.2f}",
            f"{r['ms_per_frame']['mean']:.2f}",
            f"{r['cpu_ms_per_frame']['mean']:.2f}",
            f"{ratio['by_mean']['wall']['median']:.3f}",
            f"{ratio['by_mean']['cpu']['median']:.3f}",
            f"{ratio['by_median']['wall']['median']:.3f}"))
    table = AsciiTable([list(row) for row in rows])
    table.justify_columns = {i: 'right' for i in range(1, len(rows[0]))}
    return table.table


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Run the tool; returns one result dict per config."""
    args = parse_args(argv)
    previous = set_threads(args.opencv_threads, args.torch_threads)
    try:
        results = benchmark(args)
    finally:
        set_threads(*previous)
    print(format_table(results))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report = dict(split=args.split, num_samples=args.num_samples,
                      warmup=args.warmup, rounds=args.rounds,
                      interleave=args.interleave,
                      opencv_threads=args.opencv_threads,
                      torch_threads=args.torch_threads, seed=args.seed,
                      results=results)
        out.write_text(json.dumps(report, indent=2))
        print(f'Wrote {out.resolve()}')
    return results


if __name__ == '__main__':
    main()
