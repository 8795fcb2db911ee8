"""VIS results (a model's tracks) -> a raw YouTube-VIS training JSON:
pseudo-labels for one's own videos.

Examples::

    # video_demo.py --json outputs of frame folders (one video each)
    python tools/dataset_converters/results_to_ytvis.py \
        work_dirs/demo/*.json --score-thr 0.5 --frames-root data/my_frames \
        --out data/my_videos/pseudo_train.json

    # an official results.json (or submission zip) and its videos' file
    python tools/dataset_converters/results_to_ytvis.py \
        work_dirs/sub/results.json --videos data/ytvis/valid.json \
        --score-thr 0.5 --out pseudo_train.json

Results scoring above ``--score-thr`` become tracks (one per object: of a
track reported under several classes the best one), with their ``score``
kept. For correction, ``ytvis_to_png_masks.py`` turns the file into PNG id
masks (CVAT and other mask editors) and ``png_masks_to_ytvis.py`` reads the
corrected PNGs back. See ``docs/error_analysis.md`` ("Pseudo-labels for
your own videos") and :mod:`mmvis_pretrain.datasets.converters.vis_results`.
"""
import argparse
import sys

from mmvis_pretrain.datasets.converters.raw_vis import run_tool
from mmvis_pretrain.datasets.converters.vis_results import \
    results_to_raw_vis


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Turn VIS results into a YouTube-VIS training JSON.')
    parser.add_argument('results', nargs='+', help='video_demo.py --json '
                        'files, or one results.json / submission zip with '
                        '--videos')
    parser.add_argument('--out', required=True, help='output raw JSON')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='results scoring above it become tracks '
                        '(default 0.5)')
    parser.add_argument('--videos', help='annotation file of the videos of '
                        'a results.json (videos with file_names, categories)')
    parser.add_argument('--frames-root', help='make frame paths relative to '
                        "this folder (the dataset's data_prefix.img_path)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    inputs = list(args.results) + ([args.videos] if args.videos else [])
    return run_tool(args.out, lambda: results_to_raw_vis(
        args.results, args.score_thr, args.videos, args.frames_root),
        inputs=inputs)


if __name__ == '__main__':
    sys.exit(main())
