"""Train a model of mmvis_pretrain (or any mmdet model) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options k=v ...] [--launcher pytorch|slurm|mpi]

Distributed: ``tools/dist_train.sh CONFIG NGPUS`` (torchrun; gloo on CPU).
"""
import argparse
import os

from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# importing the package applies the stack fixes and registers everything
from mmvis_pretrain.utils.runtime_cfg import load_run_cfg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a VIS model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (CUDA; fp32 with a warning on CPU)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the LR by the real batch size / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint of the work dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, xxx=yyy (lists: key="[a,b]")')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torchrun sets LOCAL_RANK)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    """The config of the run: file + CLI overrides + machine adjustments."""
    cfg = load_run_cfg(args.config, args.cfg_options, args.work_dir,
                       args.launcher, amp=args.amp)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr='
                               'dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    setup_cache_size_limit_of_dynamo()

    cfg = build_cfg(args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
