"""CVAT "for video 1.1" XML exports -> one raw YouTube-VIS 2019 JSON.

Example::

    .venv/bin/python tools/dataset_converters/cvat_video_to_ytvis.py \
        cvat/cat.xml cvat/dog.xml --out data/my_vis/annotations/train.json \
        --frames-dir data/my_vis/train/JPEGImages/cat \
        --frames-dir data/my_vis/train/JPEGImages/dog

One XML per video (a task or job export); every ``<track>`` becomes an
instance of its label. See ``docs/datasets.md`` ("Converters") and
:mod:`mmvis_pretrain.datasets.converters.cvat_video`.
"""
import argparse
import sys

from mmvis_pretrain.datasets.converters.cvat_video import convert_cvat_videos
from mmvis_pretrain.datasets.converters.raw_vis import run_tool


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        description='Convert CVAT "for video 1.1" XML exports (one per '
        'video) to a raw YouTube-VIS 2019 JSON.')
    parser.add_argument('xml', nargs='+', help='CVAT for video 1.1 XML files')
    parser.add_argument('--out', required=True, help='output JSON')
    parser.add_argument(
        '--frames-dir', action='append',
        help='folder of a video\'s frames (its image files sorted by name, '
        'as many as the task has frames); once per XML, in order. The '
        'frames are named <folder name>/<file>. Default: '
        '<video>/frame_NNNNNN<ext> (CVAT\'s export names), <video> from '
        '<source> or the XML file name')
    parser.add_argument(
        '--frame-ext', default='.png',
        help='extension of the default frame names (default .png, as in '
        'CVAT\'s exports)')
    parser.add_argument(
        '--keyframes-only', action='store_true',
        help='keep only keyframe="1" shapes (drop interpolated frames)')
    parser.add_argument(
        '--classes',
        help='comma-separated category names, ids 1, 2, ... in this order '
        '(default: the XMLs\' <labels> in declared order)')
    return parser


def main(argv=None) -> int:
    """Convert; 0 on success, 1 after ``error: ...`` on stderr."""
    args = build_parser().parse_args(argv)
    classes = args.classes.split(',') if args.classes else None
    return run_tool(
        args.out, lambda: convert_cvat_videos(
            args.xml, args.frames_dir, args.frame_ext, args.keyframes_only,
            classes), inputs=args.xml)


if __name__ == '__main__':
    sys.exit(main())
