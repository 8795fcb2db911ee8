"""Write the deterministic synthetic COCO image set and YouTube-VIS video set.

Example::

    python tools/misc/make_synthetic_data.py --out data/synthetic --seed 0

Re-running into the same ``--out`` replaces the earlier outputs; the same
arguments give byte-identical files. See ``docs/synthetic_data.md``.
"""
import argparse
import time

from mmvis_pretrain.datasets.synthetic import (make_synthetic_data,
                                               summarize_synthetic_data)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (defaults are those of make_synthetic_data)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-images', type=int, default=48)
    parser.add_argument('--num-val-images', type=int, default=16)
    parser.add_argument('--num-videos', type=int, default=12)
    parser.add_argument('--num-val-videos', type=int, default=4)
    parser.add_argument('--frames-min', type=int, default=8)
    parser.add_argument('--frames-max', type=int, default=16)
    parser.add_argument('--image-size', type=int, nargs=2, default=(160, 120),
                        metavar=('W', 'H'), help='base size of images and '
                        'videos (each one is jittered around it)')
    parser.add_argument('--max-objects', type=int, default=5,
                        help='most objects per image')
    parser.add_argument('--max-tracks', type=int, default=4,
                        help='most object tracks per video (>= 2)')
    parser.add_argument('--jpeg-quality', type=int, default=90,
                        help='JPEG quality, 1..100')
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """``parser.error`` (usage message, exit code 2) on a bad argument."""
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    for opt in ('num_images', 'num_val_images', 'num_videos',
                'num_val_videos'):
        value = getattr(args, opt)
        if value < 0:
            parser.error(f"--{opt.replace('_', '-')} must be >= 0, got "
                         f'{value}')
    if args.frames_min < 1:
        parser.error(f'--frames-min must be >= 1, got {args.frames_min}')
    if args.frames_min > args.frames_max:
        parser.error(f'--frames-min ({args.frames_min}) must be <= '
                     f'--frames-max ({args.frames_max})')
    width, height = args.image_size
    if width < 1 or height < 1:
        parser.error(f'--image-size W H must be positive, got {width} '
                     f'{height}')
    if args.max_objects < 1:
        parser.error(f'--max-objects must be >= 1, got {args.max_objects}')
    if args.max_tracks < 2:
        parser.error(f'--max-tracks must be >= 2, got {args.max_tracks}')
    if not 1 <= args.jpeg_quality <= 100:
        parser.error('--jpeg-quality must be in 1..100, got '
                     f'{args.jpeg_quality}')


def _format_summary(summary: dict) -> str:
    """One line per JSON file: ``name: key=value ...``."""
    return '\n'.join(
        f'  {name}: ' + ', '.join(f'{k}={v}' for k, v in counts.items())
        for name, counts in summary.items())


def main(argv=None) -> dict:
    """Generate the data and print where it went and what it holds."""
    args = parse_args(argv)
    start = time.perf_counter()
    paths = make_synthetic_data(
        args.out, seed=args.seed, num_images=args.num_images,
        num_val_images=args.num_val_images, num_videos=args.num_videos,
        num_val_videos=args.num_val_videos, image_size=tuple(args.image_size),
        max_objects=args.max_objects, frames_min=args.frames_min,
        frames_max=args.frames_max, max_tracks=args.max_tracks,
        jpeg_quality=args.jpeg_quality)
    elapsed = time.perf_counter() - start
    print(f'Synthetic data (seed {args.seed}) written in {elapsed:.2f}s:')
    for key, path in paths.items():
        print(f'  {key}: {path}')
    print('Counts:')
    print(_format_summary(summarize_synthetic_data(paths)))
    return paths


if __name__ == '__main__':
    main()
