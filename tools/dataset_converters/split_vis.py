"""Split a YouTube-VIS / OVIS annotation JSON into train / val by video.

Example::

    python tools/dataset_converters/split_vis.py \
        data/youtube_vis_2019/train.json \
        --out-train data/youtube_vis_2019/annotations/train_sub.json \
        --out-val data/youtube_vis_2019/annotations/valid_sub.json \
        --num-val 300 --seed 42

The logic lives in :mod:`mmvis_pretrain.datasets.vis_split`.
"""
import argparse
import os.path as osp

from mmvis_pretrain.datasets.vis_split import SplitSizeError, split_vis_file


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file (existing or not)."""
    return osp.realpath(a) == osp.realpath(b)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (without the checks of :func:`parse_args`)."""
    parser = argparse.ArgumentParser(
        description='Split a raw YouTube-VIS / OVIS JSON by video '
        '(deterministic for a seed).')
    parser.add_argument('in_json', help='input annotation JSON')
    parser.add_argument('--out-train', required=True, help='train part')
    parser.add_argument('--out-val', required=True, help='validation part')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--num-val', type=int,
        help='validation videos, in [1, number of videos - 1]')
    group.add_argument(
        '--val-ratio', type=float,
        help='fraction of validation videos, in (0, 1) (default 0.1)')
    parser.add_argument('--seed', type=int, default=42, help='shuffle seed')
    return parser


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """``parser.error`` on arguments that cannot be right for any input."""
    if _same_file(args.out_train, args.out_val):
        parser.error('--out-train and --out-val are the same file '
                     f'({args.out_train}); the validation part would '
                     'overwrite the train part')
    for opt, path in (('--out-train', args.out_train),
                      ('--out-val', args.out_val)):
        if _same_file(path, args.in_json):
            parser.error(f'{opt} {path} is the input file; it would be '
                         'overwritten')
    if args.num_val is not None and args.num_val < 1:
        parser.error(f'--num-val must be >= 1, got {args.num_val}')
    if args.val_ratio is not None and not 0 < args.val_ratio < 1:
        parser.error(f'--val-ratio must be in (0, 1), got {args.val_ratio}')


def parse_args(argv=None) -> argparse.Namespace:
    """Command line arguments, checked."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def main(argv=None) -> None:
    """Split and print the counts."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        counts = split_vis_file(args.in_json, args.out_train, args.out_val,
                                args.num_val, args.val_ratio, args.seed)
    except SplitSizeError as err:
        # e.g. --num-val not below the number of videos of the input
        parser.error(f'{args.in_json}: {err}')
    for part in ('input', 'train', 'val'):
        c = counts[part]
        print(f"{part:>5}: {c['videos']} videos, {c['frames']} frames, "
              f"{c['annotations']} annotations")
    print(f'wrote {args.out_train} and {args.out_val} (seed {args.seed})')


if __name__ == '__main__':
    main()
