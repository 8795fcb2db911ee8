"""The command-line options both benchmark tools share.

``tools/analysis_tools/benchmark_model.py`` (training / inference time) and
``benchmark_fps.py`` (online frames/s) take the same configs, step counts,
device, precision, seed, thread and output options; each adds its own.
"""
import argparse

import torch
from mmengine.config import DictAction


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``CONFIG ...``, ``--iters``, ``--warmup``, ``--amp``,
    ``--device``, ``--seed``, ``--threads``, ``--out`` and
    ``--cfg-options``."""
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='config file paths')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations / frames K (default: 5)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations / frames W first '
                        '(default: 2)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 on CUDA, bf16 autocast '
                        'on CPU)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='device (default: cpu)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: 0)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads / cv2.setNumThreads '
                        '(default: leave as they are)')
    parser.add_argument('--out', help='write the report to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, xxx=yyy pairs (e.g. '
        'model.neck=None)')


def add_batch_arguments(parser: argparse.ArgumentParser,
                        default_size=(512, 512)) -> None:
    """Add the random-batch options of the training benchmarks:
    ``--num-frames``, ``--size H W``, ``--batch`` and ``--num-instances``."""
    parser.add_argument('--num-frames', type=int, default=None,
                        help='frames T per clip (default: model.num_frames '
                        'of the config, else 1)')
    parser.add_argument('--size', type=int, nargs=2,
                        default=list(default_size), metavar=('H', 'W'),
                        help=f'frame size (default: {default_size[0]} '
                        f'{default_size[1]})')
    parser.add_argument('--batch', type=int, default=1,
                        help='clips N per iteration (default: 1)')
    parser.add_argument('--num-instances', type=int, default=3,
                        help='random gt instances per frame (default: 3)')


def check_common_arguments(parser: argparse.ArgumentParser,
                           args: argparse.Namespace) -> None:
    """``parser.error`` (exit 2) on bad common options, and on ``--size``
    below 8 x 8 where the tool has a ``--size``."""
    if args.iters < 1:
        parser.error('--iters must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if getattr(args, 'size', None) is not None and min(args.size) < 8:
        parser.error('--size must be at least 8 x 8')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')


__all__ = [
    'add_common_arguments', 'add_batch_arguments', 'check_common_arguments'
]
