"""Convert folders of per-frame instance-id PNGs to a raw YouTube-VIS JSON.

Examples::

    # DAVIS 2017: palette PNGs, 255 = void, classes from a mapping file
    python tools/dataset_converters/png_masks_to_ytvis.py \\
        data/DAVIS/Annotations/480p --out data/DAVIS/davis_train.json \\
        --frames-root data/DAVIS/JPEGImages/480p --classes classes.json

    # KITTI MOTS / MOTSChallenge: 16-bit PNGs, value = class * 1000 + id
    python tools/dataset_converters/png_masks_to_ytvis.py \\
        data/kitti_mots/instances --layout mots --class-names car pedestrian \\
        --frames-root data/kitti_mots/training/image_02 --out mots.json

    # an unzipped CVAT "MOTS PNG 1.0" export (classes from labels.txt)
    python tools/dataset_converters/png_masks_to_ytvis.py export \\
        --layout cvat-mots --frames-root export --out export.json

The result is a raw YouTube-VIS 2019 file (one track per instance, per-frame
compressed RLEs, boxes and areas) that ``VISDataset`` loads with
``data_prefix=dict(img_path=<frames root>)``; it is validated like any
annotation file before it is written. Layouts, class maps and the void
label: ``docs/datasets.md`` ("Converters: PNG instance masks") and
:mod:`mmvis_pretrain.datasets.converters.png_masks`.
"""
import argparse
import sys

from mmvis_pretrain.apis.staged_outputs import (OutputPathError,
                                                check_output_file)
from mmvis_pretrain.datasets.converters.png_masks import (DAVIS_VOID,
                                                          LAYOUTS,
                                                          PngMaskError,
                                                          png_masks_to_ytvis)
from mmvis_pretrain.datasets.converters.raw_vis import write_raw_json
from mmvis_pretrain.datasets.vis_json import (VISAnnotationError,
                                              annotations_of)


def _void(text: str):
    """``--void``: a pixel value, or ``'none'``."""
    if text.lower() == 'none':
        return 'none'
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be a pixel value or none, got {text!r}')
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('masks', help='the masks folder: <masks>/<video>/'
                        '<frame>.png (davis, mots) or an unzipped CVAT MOTS '
                        'PNG export <masks>/<subset>/instances/ (cvat-mots)')
    parser.add_argument('--out', required=True, help='output JSON')
    parser.add_argument('--layout', choices=LAYOUTS, default='davis',
                        help='davis: value = instance id (default); mots / '
                        'cvat-mots: value = class id * 1000 + instance')
    parser.add_argument('--frames-root', help='the folder the file_names are '
                        'relative to (data_prefix img_path); every PNG\'s '
                        'frame must exist there with its size. Without it '
                        'nothing is checked and file_names end in '
                        '--frame-ext')
    parser.add_argument('--frame-ext', default='.jpg',
                        help='frame extension (default .jpg)')
    parser.add_argument('--classes', help='davis: class map JSON '
                        '{"<video>/<instance id>": "<category>", '
                        '"<instance id>": "<category>"} or a YouTube-VOS '
                        'meta.json')
    parser.add_argument('--default-class', help='davis: the category of '
                        'instances without a class map entry (without '
                        '--classes: object)')
    parser.add_argument('--class-names', nargs='+', help='mots / cvat-mots: '
                        'class id k is the k-th name (mots default: car '
                        'pedestrian; cvat-mots: <subset>/instances/'
                        'labels.txt)')
    parser.add_argument('--void', type=_void, help='davis: the value read '
                        f'as background (default {DAVIS_VOID}); none for '
                        'binary 0 / 255 masks')
    return parser


def check_args(parser: argparse.ArgumentParser,
               args: argparse.Namespace) -> None:
    """``parser.error`` on options of another layout."""
    davis_only = [opt for opt, value in (
        ('--classes', args.classes), ('--default-class', args.default_class),
        ('--void', args.void)) if value is not None]
    if args.layout != 'davis' and davis_only:
        parser.error(f'{" / ".join(davis_only)}: only for --layout davis '
                     f'(--layout {args.layout} reads classes from the pixel '
                     'values)')
    if args.layout == 'davis' and args.class_names is not None:
        parser.error('--class-names: only for --layout mots / cvat-mots '
                     '(davis uses --classes / --default-class)')
    if not args.frame_ext.startswith('.'):
        parser.error(f'--frame-ext must start with a dot, got '
                     f'{args.frame_ext!r}')


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        check_output_file(args.out, '--out', ('.json', ))
        data = png_masks_to_ytvis(
            args.masks, layout=args.layout, frames_root=args.frames_root,
            class_map_file=args.classes, class_names=args.class_names,
            default_class=args.default_class,
            void={None: DAVIS_VOID, 'none': None}.get(args.void, args.void),
            frame_ext=args.frame_ext,
            warn=lambda msg: print(f'warning: {msg}', file=sys.stderr))
        # what the datasets check, then a staged write
        write_raw_json(data, args.out)
    except (OutputPathError, PngMaskError, VISAnnotationError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    anns = annotations_of(data)
    frames = sum(v['length'] for v in data['videos'])
    print(f"{len(data['videos'])} videos, {frames} frames, {len(anns)} "
          f"instances, {len(data['categories'])} categories "
          f"({', '.join(c['name'] for c in data['categories'])})")
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
