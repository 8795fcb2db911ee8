"""Convert a YouTube-VIS / OVIS (or CocoVID) JSON to per-frame instance-id
PNGs and a class map.

Example::

    python tools/dataset_converters/ytvis_to_png_masks.py \\
        data/youtube_vis_2019/annotations/valid_sub.json \\
        --out data/youtube_vis_2019/valid_sub_masks

writes ``<out>/<video>/<frame>.png`` (palette PNGs, DAVIS colours; 16-bit
grey for a video of more than 254 instances) and ``<out>/classes.json``
(``{"<video>/<index>": "<category>"}``), which
``png_masks_to_ytvis.py <out> --classes <out>/classes.json`` reads back into
the same masks, tracks and categories. Where masks of a frame overlap, the
instance with the larger id is drawn on top (a warning per video) or, with
``--on-overlap error``, the conversion fails. The folder appears only when
everything is written. See ``docs/datasets.md`` ("Converters: PNG instance
masks").
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmvis_pretrain.apis.staged_outputs import StagedOutputs
from mmvis_pretrain.datasets.converters.id_png import PngMaskError
from mmvis_pretrain.datasets.converters.png_masks import CLASS_MAP_NAME
from mmvis_pretrain.datasets.converters.ytvis_to_png import \
    ytvis_to_png_masks
from mmvis_pretrain.datasets.vis_json import (VISAnnotationError,
                                              load_vis_json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_json', help='raw YouTube-VIS / OVIS or CocoVID '
                        'annotation JSON')
    parser.add_argument('--out', required=True, help='output folder (new or '
                        'empty)')
    parser.add_argument('--on-overlap', choices=('paint', 'error'),
                        default='paint', help='overlapping masks: the larger '
                        'instance id on top (default, a warning) or an error')
    return parser


def _check_out(path: str) -> str:
    """Why ``--out`` cannot be used, ``''`` if it can."""
    if osp.lexists(path) and not osp.isdir(path):
        return f'--out {path}: is a file'
    if osp.isdir(path) and os.listdir(path):
        return f'--out {path}: is not empty; give an empty or a new folder'
    return ''


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    problem = _check_out(args.out)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 1
    try:
        data, fmt = load_vis_json(args.in_json)
    except (OSError, VISAnnotationError) as err:
        msg = str(err)
        if args.in_json not in msg:
            msg = f'{args.in_json}: {msg}'
        print(f'error: {msg}', file=sys.stderr)
        return 1
    try:
        with StagedOutputs() as staged:
            folder = staged.folder(args.out)
            class_map, counts = ytvis_to_png_masks(
                data, fmt, folder, args.in_json, args.on_overlap,
                warn=lambda msg: print(f'warning: {msg}', file=sys.stderr))
            with open(osp.join(folder, CLASS_MAP_NAME), 'w') as f:
                json.dump(class_map, f, indent=1)
            staged.commit()
    except (PngMaskError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    except OSError as err:
        print(f'error: --out {args.out}: cannot be written ({err})',
              file=sys.stderr)
        return 1
    print(f"{counts['videos']} videos, {counts['frames']} frames, "
          f"{counts['instances']} instances"
          + (f", {counts['sixteen_bit']} video(s) as 16-bit PNGs"
             if counts['sixteen_bit'] else '')
          + (f", overlaps on {counts['overlap_frames']} frame(s)"
             if counts['overlap_frames'] else ''))
    print(f'wrote {args.out} and {osp.join(args.out, CLASS_MAP_NAME)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
