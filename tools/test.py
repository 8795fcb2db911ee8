"""Test (evaluate) a checkpoint.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out preds.pkl]
        [--show-dir DIR] [--show] [--submission DIR [--topk K]]
        [--cfg-options k=v ...] [--launcher ...]

``--out`` dumps the raw predictions (pickle); ``--show-dir`` writes painted
predictions under ``work_dir/<timestamp>/<show-dir>``: for a video model one
MP4 per test video with every frame (``VISVideoRenderHook``), for an image
model one image per test image;
``--submission DIR`` (VIS models with ``VISMetric``) writes the archive for
the official YouTube-VIS / OVIS servers, ``DIR/submission.zip`` with
``results.json`` at its root (masks at the original resolution, RLE counts
as strings), keeping the ``--topk`` best tracks per video, without
evaluating (no ground truth needed), then checks the archive against the
test set's videos and categories
(``tools/analysis_tools/check_submission.py``): a problem ends the run
with exit status 1 and the problems listed by video.
"""
import argparse
import os
import os.path as osp

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# importing the package applies the stack fixes and registers everything
from mmvis_pretrain.utils.runtime_cfg import load_run_cfg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where evaluation metrics go')
    parser.add_argument(
        '--out', type=str,
        help='dump predictions to a pickle file (.pkl / .pickle)')
    parser.add_argument(
        '--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions to work_dir/<timestamp>/<show-dir>')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='--show interval (s)')
    parser.add_argument(
        '--submission', metavar='DIR',
        help='write DIR/submission.zip (results.json at its root) for the '
        'official evaluation server instead of evaluating (VISMetric)')
    parser.add_argument(
        '--topk', type=int,
        help='with --submission: keep the K highest-scored tracks per video')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, xxx=yyy (lists: key="[a,b]")')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error('--out must be a .pkl or .pickle file')
    if args.topk is not None and (args.submission is None or args.topk < 1):
        parser.error('--topk needs --submission and a value >= 1')
    return args


def build_cfg(args) -> Config:
    """The config of the run: file + CLI overrides + machine adjustments."""
    cfg = load_run_cfg(args.config, args.cfg_options, args.work_dir,
                       args.launcher)
    cfg.load_from = args.checkpoint
    if args.show_dir and is_video_model(cfg) and not args.show:
        # VIS: one MP4 per video, every frame (VISVideoRenderHook), instead
        # of mmdet's TrackVisualizationHook (every 30th frame, videos
        # overwriting each other in one folder)
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='VISVideoRenderHook', out_dir=args.show_dir)
        ]
    elif args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.submission is not None:
        set_submission(cfg, args.submission, args.topk)
    return cfg


def set_submission(cfg: Config, out_dir: str, topk=None) -> None:
    """Switch the test evaluator (a ``VISMetric``) to writing the server
    archive under ``out_dir`` without evaluating."""
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    vis = [
        m for m in metrics
        if m.get('type') in ('VISMetric', 'mmvis_pretrain.VISMetric')
    ]
    if not vis:
        raise SystemExit('--submission needs a VISMetric test_evaluator; '
                         f'this config has {[m.get("type") for m in metrics]}')
    for metric in vis:
        metric.update(
            format_only=True, outfile_prefix=os.path.abspath(out_dir))
        if topk is not None:
            metric['topk_per_video'] = topk


def is_video_model(cfg: Config) -> bool:
    """Whether the model consumes clips (``TrackDataSample``)."""
    preprocessor = cfg.model.get('data_preprocessor', {}) or {}
    return 'Track' in preprocessor.get('type', '')


def main(argv=None):
    args = parse_args(argv)
    setup_cache_size_limit_of_dynamo()

    cfg = build_cfg(args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    if args.out is not None:
        # video samples keep their per-frame structure; image samples drop
        # the ground-truth masks as mmdet's DumpDetResults does
        dump = DumpResults if is_video_model(cfg) else DumpDetResults
        runner.test_evaluator.metrics.append(dump(out_file_path=args.out))
    metrics = runner.test()
    if args.submission is not None:
        check_written_submission(cfg, args.submission)
    return metrics


def submission_valid_json(cfg: Config) -> str:
    """The videos / categories file of the test set: the ``VISMetric``'s
    ``ann_file``, else the test dataset's (joined to its ``data_root``)."""
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    for metric in metrics:
        if metric.get('ann_file'):
            return metric['ann_file']
    dataset = cfg.test_dataloader.dataset
    ann_file = dataset.get('ann_file')
    if not ann_file:
        raise SystemExit('--submission: neither the VISMetric nor the test '
                         'dataset names an annotation file to check the '
                         'archive against')
    return osp.join(dataset.get('data_root') or '', ann_file)


def check_written_submission(cfg: Config, out_dir: str) -> None:
    """Check ``out_dir/submission.zip`` (check_submission.py's checks);
    exit 1 listing the problems by video."""
    from mmengine.logging import print_log

    from mmvis_pretrain.evaluation.functional.results_io import load_json
    from mmvis_pretrain.evaluation.functional.submission_check import (
        check_submission, format_report)
    valid_json = submission_valid_json(cfg)
    zip_path = osp.join(os.path.abspath(out_dir), 'submission.zip')
    out = check_submission(load_json(valid_json, 'valid.json'), zip_path)
    print_log(f'submission check against {valid_json}:\n' +
              format_report(out, zip_path), 'current')
    if out['problems']:
        raise SystemExit(f'{zip_path} would fail on the server: '
                         f"{sum(len(v) for v in out['problems'].values())} "
                         'problem(s), listed above')


if __name__ == '__main__':
    main()
