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

from mmvis_pretrain.datasets.vis_split import split_vis_file


def parse_args(argv=None) -> argparse.Namespace:
    """Command line arguments."""
    parser = argparse.ArgumentParser(
        description='Split a raw YouTube-VIS / OVIS JSON by video '
        '(deterministic for a seed).')
    parser.add_argument('in_json', help='input annotation JSON')
    parser.add_argument('--out-train', required=True, help='train part')
    parser.add_argument('--out-val', required=True, help='validation part')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--num-val', type=int, help='validation videos')
    group.add_argument(
        '--val-ratio', type=float,
        help='fraction of validation videos (default 0.1)')
    parser.add_argument('--seed', type=int, default=42, help='shuffle seed')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Split and print the counts."""
    args = parse_args(argv)
    counts = split_vis_file(args.in_json, args.out_train, args.out_val,
                            args.num_val, args.val_ratio, args.seed)
    for part in ('input', 'train', 'val'):
        c = counts[part]
        print(f"{part:>5}: {c['videos']} videos, {c['frames']} frames, "
              f"{c['annotations']} annotations")
    print(f'wrote {args.out_train} and {args.out_val} (seed {args.seed})')


if __name__ == '__main__':
    main()
