"""Plot the loss and metric curves of one or more runs (matplotlib only).

Example::

    python tools/analysis_tools/analyze_logs.py work_dirs/run_a work_dirs/run_b \\
        --keys loss vis/AP --legend baseline mvc --out curves.png

A run is a work dir (its latest ``<timestamp>/vis_data/scalars.json``), a
``<timestamp>`` folder or the ``scalars.json`` itself: what mmengine's
``LocalVisBackend`` writes for every training and test. One subplot per
key, one line per run; training keys are drawn against the iteration,
evaluation keys (``vis/AP``, ``coco/segm_mAP``, ...) against the
evaluation's step. ``--list`` prints the keys of each run. The PNG is
written to a temporary file and moved into place at the end.
"""
import argparse
import sys

from mmvis_pretrain.apis.staged_outputs import StagedOutputs
from mmvis_pretrain.utils.run_scalars import (read_scalars, scalar_curve,
                                              scalar_keys)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+', help='work dirs, run folders or '
                        'scalars.json files')
    parser.add_argument('--keys', nargs='+', default=['loss'],
                        help='scalars to plot (default: loss)')
    parser.add_argument('--legend', nargs='+', help='one name per run '
                        '(default: the paths)')
    parser.add_argument('--out', help='output PNG (required unless --list)')
    parser.add_argument('--log-y', action='store_true',
                        help='logarithmic y axis for keys with "loss"')
    parser.add_argument('--list', action='store_true',
                        help='print the keys of each run and exit')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        runs = [read_scalars(run) for run in args.runs]
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if args.list:
        for path, records in zip(args.runs, runs):
            print(f'{path}: {" ".join(scalar_keys(records))}')
        return 0
    if not args.out:
        print('error: --out is required (or --list)', file=sys.stderr)
        return 1
    legend = args.legend or args.runs
    if len(legend) != len(runs):
        print(f'error: {len(legend)} --legend names for {len(runs)} runs',
              file=sys.stderr)
        return 1
    missing = [k for k in args.keys
               if not any(scalar_curve(r, k)[0] for r in runs)]
    if missing:
        available = sorted(set().union(*(scalar_keys(r) for r in runs)))
        print(f'error: no run has {missing}; available: '
              f'{" ".join(available)}', file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(args.keys),
                             figsize=(4.5 * len(args.keys), 3.4),
                             squeeze=False)
    for ax, key in zip(axes[0], args.keys):
        for name, records in zip(legend, runs):
            xs, ys = scalar_curve(records, key)
            if not xs:
                continue
            style = '-' if len(xs) > 1 else 'o'
            ax.plot(xs, ys, style, label=name)
        ax.set_title(key)
        ax.set_xlabel('iteration')
        if args.log_y and 'loss' in key:
            ax.set_yscale('log')
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        with StagedOutputs() as staged:
            fig.savefig(staged.file(args.out), dpi=100, format='png')
            staged.commit()
    finally:
        plt.close(fig)
    print(args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
