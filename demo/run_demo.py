"""The end-to-end demo on the bundled synthetic data (``make demo``): the
miniature study of paper tab. 7 (image vs pseudo-video pre-training, then the
same online VIS fine-tuning).

Steps (each prints its progress; outputs under ``--work-dir``):

1. write the synthetic data set (deterministic, seed 0) to ``--data-root``;
2. render training samples of the synthetic image, pseudo-video (CoSt +
   VMoSp) and video pipelines (PNG strips, GIF, MP4) with
   ``tools/analysis_tools/browse_dataset.py``;
3. image pre-training: the miniature Mask2Former on the synthetic images;
   COCO segm AP on the val images;
4. video pre-training: the same with the MSTM neck on synthetic
   pseudo-videos; COCO segm AP (image inference by replication);
5. online VIS fine-tuning (contrastive tracking embedding, memory-bank
   tracker) on synthetic videos + pseudo-videos: the controlled pair of
   paper tab. 7 (Mask2Former + MSTM fine-tuned from the image and from the
   video pre-training), the image arm without MSTM, and the video arm with
   MVC-1 input masking (``MVCMaskingHook``); the official YouTube-VIS
   metric on the held-out videos, beside the untrained model (and both
   video-level rules);
6. STMask, the one-stage model (FCA, FCB, temporal fusion tracker), trained
   on the synthetic videos and scored with the same metric;
7. decoupled VIS (DVIS++ style): the image-arm fine-tuned model frozen as
   the segmenter (stage 1), a referring tracker trained on it (stage 2,
   online AP), a temporal refiner with OMA trained on both (stage 3,
   online and offline AP);
8. a rendered demo video (``demo/video_demo.py``) of a held-out video with
   the video pre-trained, fine-tuned model;
9. ``report.md`` + ``report.png`` (metric table, loss curves, AP bars).
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
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from demo_report import write_report  # noqa: E402

COCO_BROWSE_CONFIG = 'configs/_base_/datasets/synthetic_coco_instance.py'
PSEUDO_VIDEO_CONFIG = 'configs/_base_/datasets/synthetic_pseudo_video.py'
VIDEO_BROWSE_CONFIG = ('configs/mask2former_vis/'
                       'mask2former_tiny_1xb2-300it_synthetic-vis.py')
IMAGE_PRETRAIN_CONFIG = ('configs/mask2former/'
                         'mask2former_tiny_1xb2-300it_synthetic-coco.py')
VIDEO_PRETRAIN_CONFIG = ('configs/video_pretrain/'
                         'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')
MSTM_FINETUNE_CONFIG = ('configs/online_vis/'
                        'online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py')
#: fine-tuning arm -> (config, pre-training it starts from). The table-7
#: pair is image_mstm / video (the same architecture, MSTM in both);
#: `image` (no MSTM) is the secondary row and the decoupled segmenter.
FINETUNE_ARMS = dict(
    image_mstm=(MSTM_FINETUNE_CONFIG, 'image'),
    video=(MSTM_FINETUNE_CONFIG, 'video'),
    image=('configs/online_vis/'
           'online-mask2former_tiny_1xb2-300it_synthetic-vis.py', 'image'))
FINETUNE_CONFIGS = {arm: config for arm, (config, _) in FINETUNE_ARMS.items()}
# the video arm with MVC-1 masking of the training frames (docs/mvc.md)
MVC_CONFIG = ('configs/mvc/'
              'online-mask2former-mvc1_tiny_1xb2-300it_synthetic-vis.py')
STMASK_CONFIG = 'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py'
# decoupled VIS (docs/decoupled_vis.md): stage 1 is FINETUNE_CONFIGS['image']
DVIS_TRACKER_CONFIG = ('configs/dvis/'
                       'dvis-tracker_tiny_1xb2-300it_synthetic-vis.py')
DVIS_REFINER_CONFIG = ('configs/dvis/'
                       'dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')
COCO_PREFIX = 'coco/segm_'
#: randomness.seed of every training (main() sets it from --seed)
TRAIN_SEED = 0
VIS_PREFIX = 'vis/'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the synthetic data and of every training '
        '(randomness.seed)')
    parser.add_argument(
        '--threads', type=int, default=1,
        help='torch / OpenMP threads of each training and test process '
        '(default 1: on a loaded 2-core machine more threads per process '
        'slow training down many times; docs/benchmarks.md)')
    parser.add_argument(
        '--iters', type=int, default=300,
        help='training iterations of each miniature pre-training')
    parser.add_argument(
        '--finetune-iters', type=int, default=300,
        help='training iterations of each online VIS fine-tuning')
    parser.add_argument(
        '--dvis-iters', type=int, default=300,
        help='training iterations of the decoupled tracker and refiner')
    return parser.parse_args(argv)


def step(n: int, total: int, text: str) -> None:
    print(f'\n=== [demo {n}/{total}] {text}', flush=True)


#: environment of the tools the demo runs (main() sets the thread count)
TOOL_ENV = dict(os.environ)


def run(cmd, log_file=None):
    """Run a tool with this interpreter (environment :data:`TOOL_ENV`);
    stream or log its output."""
    cmd = [sys.executable] + [str(c) for c in cmd]
    print('$', ' '.join(cmd[1:]), flush=True)
    start = time.time()
    if log_file is None:
        subprocess.run(cmd, cwd=REPO, check=True, env=TOOL_ENV)
    else:
        with open(log_file, 'w') as log:
            proc = subprocess.Popen(
                cmd, cwd=REPO, env=TOOL_ENV, stdout=subprocess.PIPE,
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


def configure(args) -> None:
    """Apply ``--threads`` (:data:`TOOL_ENV`) and ``--seed``
    (:data:`TRAIN_SEED`) to the tools the demo runs."""
    global TRAIN_SEED
    if args.threads < 1:
        raise SystemExit(f'--threads must be >= 1, got {args.threads}')
    TOOL_ENV.update(OMP_NUM_THREADS=str(args.threads),
                    MKL_NUM_THREADS=str(args.threads))
    TRAIN_SEED = args.seed


def main(argv=None):
    args = parse_args(argv)
    configure(args)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    total = 9
    timing = {}
    clock = time.time()

    def lap(name):
        nonlocal clock
        timing[name] = time.time() - clock
        clock = time.time()

    step(1, total, f'synthetic data -> {args.data_root}')
    run(['tools/misc/make_synthetic_data.py', '--out', args.data_root,
         '--seed', args.seed])
    lap('data')

    step(2, total, 'render training samples (images and clips)')
    coco = osp.abspath(osp.join(args.data_root, 'coco')) + '/'
    ytvis = osp.abspath(osp.join(args.data_root, 'ytvis')) + '/'
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
    # 5-frame clips of the synthetic videos
    run(['tools/analysis_tools/browse_dataset.py', VIDEO_BROWSE_CONFIG,
         '--out', osp.join(work_dir, 'browse/ytvis'), '--num-samples', 3,
         '--formats', 'png', 'gif', 'mp4', '--cfg-options',
         *data_options(args.data_root),
         'train_dataloader.dataset.pipeline.0.num_ref_imgs=4',
         'train_dataloader.dataset.pipeline.0.frame_range=4'])
    lap('browse')

    coco_opts = [
        f'{split}_dataloader.dataset.data_root={coco}'
        for split in ('train', 'val', 'test')
    ] + [f'{split}_evaluator.ann_file={coco}annotations/instances_val.json'
         for split in ('val', 'test')]
    pretrain, train_dirs = {}, {}
    for n, arm, config, what in (
            (3, 'image', IMAGE_PRETRAIN_CONFIG,
             'Mask2Former on the synthetic images'),
            (4, 'video', VIDEO_PRETRAIN_CONFIG,
             'Mask2Former + MSTM on synthetic pseudo-videos')):
        step(n, total, f'{arm} pre-training: {what} ({args.iters} iters), '
             'COCO segm AP on the val images')
        out_dir = osp.join(work_dir, f'{arm}_pretrain')
        pretrain[arm] = train_and_test(config, out_dir, args.iters,
                                       coco_opts, COCO_PREFIX)
        shutil.copy(pretrain[arm]['checkpoint'],
                    osp.join(work_dir, f'{arm}_pretrain.pth'))
        train_dirs[f'{arm} pre-training'] = out_dir
        lap(f'{arm} pre-training')

    vis_opts = [
        f'train_dataloader.dataset.datasets.0.data_root={coco}',
        f'train_dataloader.dataset.datasets.1.data_root={ytvis}',
        f'val_dataloader.dataset.data_root={ytvis}',
        f'test_dataloader.dataset.data_root={ytvis}',
        f'val_evaluator.ann_file={ytvis}valid.json',
        f'test_evaluator.ann_file={ytvis}valid.json',
    ]
    step(5, total, 'online VIS fine-tuning from each pre-training '
         f'({args.finetune_iters} iters each), YouTube-VIS metric on the '
         'held-out videos')
    finetune = {}
    for arm, (config, pre_arm) in FINETUNE_ARMS.items():
        out_dir = osp.join(work_dir, f'finetune_{arm}')
        print(f'--- {arm}: {osp.basename(config)} from the {pre_arm} '
              'pre-training', flush=True)
        finetune[arm] = train_and_test(
            config, out_dir, args.finetune_iters,
            vis_opts + [f'load_from={pretrain[pre_arm]["checkpoint"]}'],
            VIS_PREFIX)
        train_dirs[f'fine-tuning {arm}'] = out_dir
    print('--- from the video pre-training with MVC-1 input masking '
          '(MVCMaskingHook, same schedule)', flush=True)
    out_dir = osp.join(work_dir, 'finetune_video_mvc')
    finetune['video_mvc'] = train_and_test(
        MVC_CONFIG, out_dir, args.finetune_iters,
        vis_opts + [f'load_from={pretrain["video"]["checkpoint"]}'],
        VIS_PREFIX)
    train_dirs['fine-tuning from video + MVC-1'] = out_dir
    # the video-level class / score rule before issue 11 on the same
    # checkpoints: argmax of the mean probabilities, mean of the frame scores
    for arm in ('image', 'video'):
        print(f'--- {arm}, former video-level rule '
              "(model.tracker.video_scoring='mean_prob')", flush=True)
        finetune[f'{arm}_mean_prob'] = dict(metrics=test_checkpoint(
            FINETUNE_CONFIGS[arm], finetune[arm]['checkpoint'],
            osp.join(work_dir, f'finetune_{arm}', 'test_mean_prob'),
            vis_opts + ['model.tracker.video_scoring=mean_prob'],
            VIS_PREFIX))
    print('--- the untrained online model (reference)', flush=True)
    untrained = test_untrained(FINETUNE_CONFIGS['video'],
                               osp.join(work_dir, 'untrained'), vis_opts,
                               VIS_PREFIX)
    lap('fine-tuning')

    step(6, total, f'STMask (one-stage) on the synthetic videos '
         f'({args.finetune_iters} iters), the same metric')
    stmask_dir = osp.join(work_dir, 'stmask')
    stmask = train_and_test(STMASK_CONFIG, stmask_dir, args.finetune_iters,
                            data_options(args.data_root) + [
                                f'{split}_evaluator.ann_file={ytvis}valid.json'
                                for split in ('val', 'test')
                            ], VIS_PREFIX)
    train_dirs['STMask'] = stmask_dir
    lap('STMask')

    step(7, total, 'decoupled VIS: tracker (stage 2) and refiner with OMA '
         f'(stage 3) on the frozen image-arm segmenter ({args.dvis_iters} '
         'iters each), online and offline AP')
    dvis_dir = osp.join(work_dir, 'dvis_tracker')
    finetune['dvis_tracker'] = train_and_test(
        DVIS_TRACKER_CONFIG, dvis_dir, args.dvis_iters,
        vis_opts + [f'load_from={finetune["image"]["checkpoint"]}'],
        VIS_PREFIX)
    train_dirs['DVIS tracker (stage 2)'] = dvis_dir
    dvis_dir = osp.join(work_dir, 'dvis_refiner')
    finetune['dvis_offline'] = train_and_test(
        DVIS_REFINER_CONFIG, dvis_dir, args.dvis_iters,
        vis_opts + [f'load_from={finetune["dvis_tracker"]["checkpoint"]}'],
        VIS_PREFIX)
    train_dirs['DVIS refiner (stage 3)'] = dvis_dir
    print('--- the stage-3 checkpoint online (segmenter + tracker)',
          flush=True)
    finetune['dvis_online'] = dict(metrics=test_checkpoint(
        DVIS_REFINER_CONFIG, finetune['dvis_offline']['checkpoint'],
        osp.join(dvis_dir, 'test_online'),
        vis_opts + ['model.inference_mode=online'], VIS_PREFIX))
    lap('decoupled VIS')

    step(8, total, 'demo video: a held-out synthetic video tracked by the '
         'video pre-trained, fine-tuned model')
    video_dir = first_video_dir(osp.join(ytvis, 'valid', 'JPEGImages'))
    demo_mp4 = osp.join(work_dir, 'demo_video.mp4')
    run(['demo/video_demo.py', video_dir, FINETUNE_CONFIGS['video'],
         finetune['video']['checkpoint'], '--out', demo_mp4, '--json',
         osp.join(work_dir, 'demo_video_tracks.json'), '--device', 'cpu',
         '--fps', 6])
    lap('demo video')

    step(9, total, 'report')
    results = dict(
        pretrain={arm: _strip(r['metrics'], COCO_PREFIX)
                  for arm, r in pretrain.items()},
        finetune=dict(
            {arm: _strip(r['metrics'], VIS_PREFIX)
             for arm, r in finetune.items()},
            untrained=_strip(untrained, VIS_PREFIX),
            stmask=_strip(stmask['metrics'], VIS_PREFIX)),
        timing=timing,
        protocol=dict(seed=args.seed, threads=args.threads,
                      held_out_videos=count_videos(
                          osp.join(ytvis, 'valid.json'))))
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, train_dirs=train_dirs), f, indent=2)
    md, png = write_report(work_dir, results, train_dirs)
    print()
    with open(md) as f:
        print(f.read())
    print(f'report: {md} and {png}')
    print(f'demo video: {demo_mp4}')
    print(f'outputs: {work_dir} (browse/, */train.log, results.json)')


def _strip(metrics: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in metrics.items()
            if k.startswith(prefix)}


def count_videos(ann_file: str) -> int:
    """The number of videos of a YouTube-VIS JSON."""
    with open(ann_file) as f:
        return len(json.load(f)['videos'])


def first_video_dir(frames_root: str) -> str:
    """The first video folder (sorted) under ``frames_root``."""
    videos = sorted(d for d in os.listdir(frames_root)
                    if osp.isdir(osp.join(frames_root, d)))
    if not videos:
        raise SystemExit(f'no video folders under {frames_root}')
    return osp.join(frames_root, videos[0])


def train_and_test(config: str, out_dir: str, iters: int, options: list,
                   metric_prefix: str) -> dict:
    """Train ``config`` for ``iters`` iterations, then test the result.

    Returns:
        dict: ``checkpoint`` (the trained one) and ``metrics``.
    """
    os.makedirs(out_dir, exist_ok=True)
    run(['tools/train.py', config, '--work-dir', out_dir, '--cfg-options',
         *options, f'train_cfg.max_iters={iters}',
         f'train_cfg.val_interval={iters + 1}',
         f'default_hooks.checkpoint.interval={iters}',
         f'param_scheduler.end={iters}',
         f'param_scheduler.milestones=[{int(iters * 0.8)}]',
         f'randomness.seed={TRAIN_SEED}'],
        log_file=osp.join(out_dir, 'train.log'))
    trained = osp.join(out_dir, f'iter_{iters}.pth')
    test_dir = osp.join(out_dir, 'test')
    run(['tools/test.py', config, trained, '--work-dir', test_dir,
         '--cfg-options', *options],
        log_file=osp.join(out_dir, 'test.log'))
    return dict(checkpoint=trained,
                metrics=_read_metrics(test_dir, metric_prefix))


def test_checkpoint(config: str, checkpoint: str, test_dir: str,
                    options: list, metric_prefix: str) -> dict:
    """Metrics of ``checkpoint`` tested with ``options``."""
    os.makedirs(test_dir, exist_ok=True)
    run(['tools/test.py', config, checkpoint, '--work-dir', test_dir,
         '--cfg-options', *options],
        log_file=osp.join(test_dir, 'test.log'))
    return _read_metrics(test_dir, metric_prefix)


def test_untrained(config: str, out_dir: str, options: list,
                   metric_prefix: str) -> dict:
    """Metrics of the freshly initialised model of ``config``."""
    os.makedirs(out_dir, exist_ok=True)
    untrained = osp.join(out_dir, 'untrained.pth')
    run(['demo/save_untrained.py', config, untrained],
        log_file=osp.join(out_dir, 'save_untrained.log'))
    test_dir = osp.join(out_dir, 'test')
    run(['tools/test.py', config, untrained, '--work-dir', test_dir,
         '--cfg-options', *options],
        log_file=osp.join(out_dir, 'test.log'))
    return _read_metrics(test_dir, metric_prefix)


def _read_metrics(test_work_dir: str, prefix: str) -> dict:
    """Metrics of the latest ``tools/test.py`` run in ``test_work_dir``
    whose names start with ``prefix``."""
    from mmvis_pretrain.utils.study_runner import read_test_metrics
    return {k: v for k, v in read_test_metrics(test_work_dir).items()
            if k.startswith(prefix)}


if __name__ == '__main__':
    main()
