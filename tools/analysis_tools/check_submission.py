"""Check a YouTube-VIS / OVIS server submission before uploading it.

Example::

    python tools/analysis_tools/check_submission.py \
        data/youtube_vis_2019/annotations/valid.json \
        work_dirs/submission/submission.zip [--max-per-video 100]

``VALID_JSON`` is the dataset's public validation (or test) file: videos
and categories, annotations withheld. Checks (docs/error_analysis.md,
:mod:`mmvis_pretrain.evaluation.functional.submission_check`): the zip
holds ``results.json`` at its root; the JSON schema; every video id is
known; every ``segmentations`` list has the video's length; every mask is a
compressed RLE of the video's size that decodes; scores are in [0, 1];
categories are the dataset's; at most ``--max-per-video`` results per
video. Prints every problem grouped by video and exits 1 if there is
any; warnings (videos without results, ...) do not fail.
"""
import argparse
import sys

from mmvis_pretrain.evaluation.functional.results_io import load_json
from mmvis_pretrain.evaluation.functional.submission_check import (
    check_submission, format_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Check a VIS server submission without ground truth.')
    parser.add_argument('valid_json', help="the dataset's valid.json "
                        '(videos and categories)')
    parser.add_argument('submission', help='the submission zip')
    parser.add_argument('--max-per-video', type=int, default=100,
                        help='most results per video (default 100)')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        valid = load_json(args.valid_json, 'valid.json')
        out = check_submission(valid, args.submission, args.max_per_video)
    except (OSError, ValueError) as err:
        msg = ' '.join(str(err).split())
        print(f'check_submission.py: error: {msg}', file=sys.stderr)
        return 1
    print(format_report(out, args.submission))
    return 1 if out['problems'] else 0


if __name__ == '__main__':
    sys.exit(main())
