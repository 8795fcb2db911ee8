"""Folders of labelme JSON (one folder per video) -> raw YouTube-VIS 2019.

Example::

    .venv/bin/python tools/dataset_converters/labelme_to_ytvis.py \
        data/my_vis/train/JPEGImages/*/ \
        --out data/my_vis/annotations/train.json

Instances are ``(label, group_id)`` pairs, followed across the frames of a
folder. See ``docs/datasets.md`` ("Converters") and
:mod:`mmvis_pretrain.datasets.converters.labelme_video`.
"""
import argparse
import os.path as osp
import sys

from mmvis_pretrain.datasets.converters.labelme_video import \
    convert_labelme_videos
from mmvis_pretrain.datasets.converters.raw_vis import run_tool


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        description='Convert folders of labelme JSON (one folder per video, '
        'one file per frame) to a raw YouTube-VIS 2019 JSON.')
    parser.add_argument('folders', nargs='+',
                        help='video folders of labelme *.json files')
    parser.add_argument('--out', required=True, help='output JSON')
    parser.add_argument(
        '--img-root',
        help='frame file names are relative to this folder (default: each '
        'video folder\'s parent); use it as data_prefix img_path')
    parser.add_argument(
        '--missing-group-id', choices=('error', 'order'), default='error',
        help='shapes without group_id: error (default), or match them '
        'across frames by label and order within the frame')
    parser.add_argument(
        '--classes',
        help='comma-separated category names, ids 1, 2, ... in this order '
        '(default: all labels sorted by name)')
    return parser


def main(argv=None) -> int:
    """Convert; 0 on success, 1 after ``error: ...`` on stderr."""
    args = build_parser().parse_args(argv)
    classes = args.classes.split(',') if args.classes else None
    out_dir = osp.realpath(osp.dirname(osp.abspath(args.out)))
    for folder in args.folders:
        if osp.realpath(folder) == out_dir:
            # it would be read as a frame by the next run
            print(f'error: --out {args.out}: lies in the video folder '
                  f'{folder}; write it elsewhere', file=sys.stderr)
            return 1
    return run_tool(
        args.out, lambda: convert_labelme_videos(
            args.folders, args.img_root, args.missing_group_id, classes))


if __name__ == '__main__':
    sys.exit(main())
