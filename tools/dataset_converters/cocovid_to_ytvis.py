"""mmdet's CocoVID JSON -> raw YouTube-VIS 2019 JSON.

Example::

    .venv/bin/python tools/dataset_converters/cocovid_to_ytvis.py \
        data/youtube_vis_2019/annotations/youtube_vis_2019_train.json \
        --out data/youtube_vis_2019/annotations/train_raw.json

The inverse of mmdet's ``youtubevis2coco.py``: per-frame annotations with
the same ``instance_id`` in a video become one track. See
``docs/datasets.md`` ("Converters") and
:mod:`mmvis_pretrain.datasets.converters.cocovid`.
"""
import argparse
import sys

from mmvis_pretrain.datasets.converters.cocovid import convert_cocovid_file
from mmvis_pretrain.datasets.converters.raw_vis import run_tool


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        description="Convert mmdet's CocoVID JSON (youtubevis2coco.py "
        'output) back to a raw YouTube-VIS 2019 JSON.')
    parser.add_argument('in_json', help='CocoVID JSON')
    parser.add_argument('--out', required=True, help='output raw JSON')
    return parser


def main(argv=None) -> int:
    """Convert; 0 on success, 1 after ``error: ...`` on stderr."""
    args = build_parser().parse_args(argv)
    return run_tool(args.out, lambda: convert_cocovid_file(args.in_json),
                    inputs=[args.in_json])


if __name__ == '__main__':
    sys.exit(main())
