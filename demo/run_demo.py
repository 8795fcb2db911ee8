"""The end-to-end demo on the bundled synthetic data (``make demo``).

Steps (each prints its progress; outputs under ``--work-dir``):

1. write the synthetic data set (deterministic, seed 0) to ``--data-root``;
2. render training samples of the synthetic image, pseudo-video (CoSt +
   VMoSp) and video pipelines (PNG strips, GIF, MP4) with
   ``tools/analysis_tools/browse_dataset.py``;
3. train the miniature Mask2Former-VIS baseline on the synthetic videos
   (``tools/train.py``) and evaluate it with the YouTube-VIS metric on the
   held-out videos (``tools/test.py``), beside the untrained model.

Later releases extend it with pseudo-video pre-training and fine-tuning.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VIS_CONFIG = 'configs/mask2former_vis/mask2former_tiny_1xb2-300it_synthetic-vis.py'
COCO_BROWSE_CONFIG = 'configs/_base_/datasets/synthetic_coco_instance.py'
PSEUDO_VIDEO_CONFIG = 'configs/_base_/datasets/synthetic_pseudo_video.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--iters', type=int, default=300,
        help='training iterations of the miniature VIS model')
    return parser.parse_args(argv)


def step(n: int, total: int, text: str) -> None:
    print(f'\n=== [demo {n}/{total}] {text}', flush=True)


def run(cmd, log_file=None):
    """Run a tool with this interpreter; stream or log its output."""
    cmd = [sys.executable] + [str(c) for c in cmd]
    print('$', ' '.join(cmd[1:]), flush=True)
    start = time.time()
    if log_file is None:
        subprocess.run(cmd, cwd=REPO, check=True)
    else:
        with open(log_file, 'w') as log:
            proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                log.write(line)
                if 'Iter(' in line or 'Error' in line:  # progress lines
                    print('   ', line.rstrip()[:160], flush=True)
            if proc.wait() != 0:
                raise SystemExit(f'{cmd[1]} failed, see {log_file}')
    print(f'    ({time.time() - start:.0f}s)', flush=True)


def data_options(data_root: str) -> list:
    ytvis = osp.abspath(osp.join(data_root, 'ytvis')) + '/'
    return [f'{split}_dataloader.dataset.data_root={ytvis}'
            for split in ('train', 'val', 'test')]


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    total = 4

    step(1, total, f'synthetic data -> {args.data_root}')
    run(['tools/misc/make_synthetic_data.py', '--out', args.data_root,
         '--seed', args.seed])

    step(2, total, 'render training samples (images and clips)')
    coco = osp.abspath(osp.join(args.data_root, 'coco')) + '/'
    run(['tools/analysis_tools/browse_dataset.py', COCO_BROWSE_CONFIG,
         '--out', osp.join(work_dir, 'browse/coco'), '--num-samples', 4,
         '--cfg-options', f'train_dataloader.dataset.data_root={coco}'])
    # pseudo-videos: CoSt + VMoSp turn each image into a consistent clip;
    # 6 frames instead of the training 3 to show the motion
    run(['tools/analysis_tools/browse_dataset.py', PSEUDO_VIDEO_CONFIG,
         '--out', osp.join(work_dir, 'browse/pseudo_video'), '--num-samples',
         4, '--seed', args.seed, '--formats', 'png', 'gif', 'mp4',
         '--cfg-options', f'train_dataloader.dataset.data_root={coco}',
         'train_dataloader.dataset.pipeline.4.num_frames=6',
         'train_dataloader.dataset.pipeline.6.prob=1.0'])
    # 5-frame clips (the training pipeline samples 2) to show the motion
    run(['tools/analysis_tools/browse_dataset.py', VIS_CONFIG, '--out',
         osp.join(work_dir, 'browse/ytvis'), '--num-samples', 3,
         '--formats', 'png', 'gif', 'mp4', '--cfg-options',
         *data_options(args.data_root),
         'train_dataloader.dataset.pipeline.0.num_ref_imgs=4',
         'train_dataloader.dataset.pipeline.0.frame_range=4'])

    step(3, total, f'train the miniature Mask2Former-VIS ({args.iters} iters)')
    train_dir = osp.join(work_dir, 'mask2former_vis_tiny')
    iters = args.iters
    run(['tools/train.py', VIS_CONFIG, '--work-dir', train_dir,
         '--cfg-options', *data_options(args.data_root),
         f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
         f'default_hooks.checkpoint.interval={iters}',
         f'param_scheduler.end={iters}',
         f'param_scheduler.milestones=[{int(iters * 0.8)}]',
         'randomness.seed=0'],
        log_file=osp.join(work_dir, 'train.log'))

    step(4, total, 'evaluate on the held-out synthetic videos')
    metrics = {}
    for name, ckpt in (('trained', osp.join(train_dir, f'iter_{iters}.pth')),
                       ('untrained', None)):
        if ckpt is None:  # a fresh model: save it, then test it the same way
            ckpt = osp.join(work_dir, 'untrained.pth')
            run(['demo/save_untrained.py', VIS_CONFIG, ckpt],
                log_file=osp.join(work_dir, 'save_untrained.log'))
        out_dir = osp.join(work_dir, f'test_{name}')
        run(['tools/test.py', VIS_CONFIG, ckpt, '--work-dir', out_dir,
             '--cfg-options', *data_options(args.data_root)],
            log_file=osp.join(work_dir, f'test_{name}.log'))
        metrics[name] = _read_metrics(out_dir)

    report = osp.join(work_dir, 'metrics.json')
    with open(report, 'w') as f:
        json.dump(metrics, f, indent=2)
    print('\nYouTube-VIS metric on the held-out synthetic videos:')
    keys = sorted(metrics['trained'])
    print('  ' + ' '.join(f'{k.split("/")[-1]:>12}' for k in keys))
    for name, vals in metrics.items():
        print(f'  {name:9}' + ' '.join(f'{vals[k]:12.3f}' for k in keys))
    print(f'\noutputs: {work_dir} (browse/, train.log, metrics.json)')


def _read_metrics(test_work_dir: str) -> dict:
    """Metrics of the latest ``tools/test.py`` run in ``test_work_dir``."""
    runs = sorted(d for d in os.listdir(test_work_dir)
                  if osp.isfile(osp.join(test_work_dir, d, f'{d}.json')))
    with open(osp.join(test_work_dir, runs[-1], f'{runs[-1]}.json')) as f:
        return {k: v for k, v in json.load(f).items()
                if k.startswith('youtube_vis/')}


if __name__ == '__main__':
    main()
