"""The end-to-end demo on the bundled synthetic data (``make demo``).

Steps (each prints its progress; outputs under ``--work-dir``):

1. write the synthetic data set (deterministic, seed 0) to ``--data-root``;
2. render training samples of the synthetic image, pseudo-video (CoSt +
   VMoSp) and video pipelines (PNG strips, GIF, MP4) with
   ``tools/analysis_tools/browse_dataset.py``;
3. video pre-training: the miniature Mask2Former with the MSTM neck on the
   synthetic pseudo-videos, COCO segm AP on the synthetic val images (image
   inference by replication) beside the untrained model; the checkpoint is
   saved as ``video_pretrain.pth`` for the fine-tuning stage;
4. the miniature Mask2Former-VIS baseline on the synthetic videos, YouTube-VIS
   metric on the held-out videos, beside the untrained model.

Later releases extend it with fine-tuning from the pre-trained checkpoint.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VIS_CONFIG = 'configs/mask2former_vis/mask2former_tiny_1xb2-300it_synthetic-vis.py'
COCO_BROWSE_CONFIG = 'configs/_base_/datasets/synthetic_coco_instance.py'
PSEUDO_VIDEO_CONFIG = 'configs/_base_/datasets/synthetic_pseudo_video.py'
PRETRAIN_CONFIG = ('configs/video_pretrain/'
                   'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')


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

    coco_opts = [
        f'{split}_dataloader.dataset.data_root={coco}'
        for split in ('train', 'val', 'test')
    ] + [f'{split}_evaluator.ann_file={coco}annotations/instances_val.json'
         for split in ('val', 'test')]
    step(3, total, 'video pre-training: Mask2Former + MSTM on synthetic '
         f'pseudo-videos ({args.iters} iters), COCO segm AP on the val images')
    pretrain = train_and_compare(
        PRETRAIN_CONFIG, osp.join(work_dir, 'video_pretrain'), args.iters,
        coco_opts, 'coco/segm_')
    shutil.copy(pretrain['checkpoint'], osp.join(work_dir,
                                                 'video_pretrain.pth'))

    step(4, total, 'the miniature Mask2Former-VIS on the synthetic videos '
         f'({args.iters} iters), YouTube-VIS AP on the held-out videos')
    vis = train_and_compare(VIS_CONFIG, osp.join(work_dir, 'mask2former_vis'),
                            args.iters, data_options(args.data_root),
                            'youtube_vis/')

    metrics = dict(video_pretrain=pretrain['metrics'], vis=vis['metrics'])
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    for title, result in (
            ('COCO segm AP of the video pre-trained model (synthetic val '
             'images, image inference by replication):', pretrain),
            ('YouTube-VIS metric on the held-out synthetic videos:', vis)):
        print('\n' + title)
        keys = sorted(result['metrics']['trained'])
        print('  ' + ' '.join(f'{k.split("/")[-1]:>12}' for k in keys))
        for name, vals in result['metrics'].items():
            print(f'  {name:9}' + ' '.join(f'{vals[k]:12.3f}' for k in keys))
    print(f'\npre-trained checkpoint: {osp.join(work_dir, "video_pretrain.pth")}')
    print(f'outputs: {work_dir} (browse/, */train.log, metrics.json)')


def train_and_compare(config: str, out_dir: str, iters: int, options: list,
                      metric_prefix: str) -> dict:
    """Train ``config`` for ``iters`` iterations, then test the result and
    the same model untrained.

    Returns:
        dict: ``checkpoint`` (the trained one) and ``metrics``
        (``{'trained': {...}, 'untrained': {...}}``).
    """
    os.makedirs(out_dir, exist_ok=True)
    run(['tools/train.py', config, '--work-dir', out_dir, '--cfg-options',
         *options, f'train_cfg.max_iters={iters}',
         f'train_cfg.val_interval={iters}',
         f'default_hooks.checkpoint.interval={iters}',
         f'param_scheduler.end={iters}',
         f'param_scheduler.milestones=[{int(iters * 0.8)}]',
         'randomness.seed=0'],
        log_file=osp.join(out_dir, 'train.log'))
    trained = osp.join(out_dir, f'iter_{iters}.pth')
    untrained = osp.join(out_dir, 'untrained.pth')
    run(['demo/save_untrained.py', config, untrained],
        log_file=osp.join(out_dir, 'save_untrained.log'))
    metrics = {}
    for name, ckpt in (('trained', trained), ('untrained', untrained)):
        test_dir = osp.join(out_dir, f'test_{name}')
        run(['tools/test.py', config, ckpt, '--work-dir', test_dir,
             '--cfg-options', *options],
            log_file=osp.join(out_dir, f'test_{name}.log'))
        metrics[name] = _read_metrics(test_dir, metric_prefix)
    return dict(checkpoint=trained, metrics=metrics)


def _read_metrics(test_work_dir: str, prefix: str) -> dict:
    """Metrics of the latest ``tools/test.py`` run in ``test_work_dir``
    whose names start with ``prefix``."""
    runs = sorted(d for d in os.listdir(test_work_dir)
                  if osp.isfile(osp.join(test_work_dir, d, f'{d}.json')))
    with open(osp.join(test_work_dir, runs[-1], f'{runs[-1]}.json')) as f:
        return {k: v for k, v in json.load(f).items()
                if k.startswith(prefix)}


if __name__ == '__main__':
    main()
