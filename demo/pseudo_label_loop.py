"""The pseudo-label loop on one's own videos, worked end to end on synthetic
data (docs/error_analysis.md, "Pseudo-labels for your own videos"):

1. data: a "public" labelled synthetic set (images + videos) and "own"
   videos from another seed: their frames are used unlabelled; their
   annotations only play the annotator (step 5) and score the held-out
   videos;
2. train the online VIS model (``ONLINE_CONFIG``) on the public set;
3. predict each own video with ``demo/video_demo.py --json``;
4. ``results_to_ytvis.py``: tracks scoring > ``--score-thr`` -> a
   YouTube-VIS training JSON; ``ytvis_to_png_masks.py``: -> PNG id masks,
   the form to correct in CVAT;
5. correct them: ``demo/simulate_annotator.py`` plays the annotator
   (deletes false tracks, merges split ones, fixes classes, redraws bad
   masks, adds missed objects) and counts the edits;
6. ``png_masks_to_ytvis.py``: the corrected PNGs -> a training JSON;
7. fine-tune the model on the own videos three ways: the raw
   pseudo-labels, the corrected ones and the true annotations (the upper
   bound), each from the model of step 2 with the same seed and
   iterations;
8. score all four on the held-out own videos (AP and the identity metrics)
   and write ``report.md`` / ``report.json`` in ``--work-dir``.

The numbers are reported, not asserted: a miniature of one seed.

    python demo/pseudo_label_loop.py [--work-dir work_dirs/pseudo_label] \
        [--train-iters 300] [--finetune-iters 150] [--score-thr 0.5] \
        [--own-videos 12] [--seed 0] [--threads 1]
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import run_demo  # noqa: E402  (run: the tools with the demo's threads)
from simulate_annotator import simulate_annotator  # noqa: E402

from mmvis_pretrain.utils.study_runner import (  # noqa: E402
    read_test_metrics, write_atomic)

ONLINE_CONFIG = ('configs/online_vis/'
                 'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')
ARMS = ('pseudo', 'corrected', 'ground_truth')
REPORT_KEYS = ('AP', 'AP50', 'HOTA', 'IDF1', 'IDSW')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/pseudo_label')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--train-iters', type=int, default=300)
    parser.add_argument('--finetune-iters', type=int, default=150)
    parser.add_argument('--score-thr', type=float, default=0.5)
    parser.add_argument('--own-videos', type=int, default=12)
    parser.add_argument('--held-out-videos', type=int, default=8)
    parser.add_argument('--public-images', type=int, default=48)
    parser.add_argument('--public-videos', type=int, default=12)
    parser.add_argument('--arms', nargs='+', choices=ARMS, default=ARMS,
                        help='fine-tune on these training JSONs (default '
                        'all)')
    return parser.parse_args(argv)


def vis_options(train_coco: str, train_ytvis: str, eval_ytvis: str,
                iters: int, seed: int, ann_file=None) -> list:
    """``--cfg-options`` of the online VIS config: training data, held-out
    evaluation (with the identity metrics), schedule and seed."""
    opts = [
        f'train_dataloader.dataset.datasets.0.data_root={train_coco}',
        f'train_dataloader.dataset.datasets.1.data_root={train_ytvis}',
        f'val_dataloader.dataset.data_root={eval_ytvis}',
        f'test_dataloader.dataset.data_root={eval_ytvis}',
        f'val_evaluator.ann_file={eval_ytvis}valid.json',
        f'test_evaluator.ann_file={eval_ytvis}valid.json',
        'test_evaluator.identity_metrics=True',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters + 1}',
        f'train_cfg.val_begin={iters + 1}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.end={iters}',
        f'param_scheduler.milestones=[{max(1, iters * 4 // 5)}]',
        f'randomness.seed={seed}']
    if ann_file is not None:
        opts.append(f'train_dataloader.dataset.datasets.1.ann_file={ann_file}')
    return opts


def train_and_test(work: str, opts: list, load_from=None) -> dict:
    """Train (unless done), then test the final checkpoint; its metrics."""
    iters = next(int(o.split('=')[1]) for o in opts
                 if o.startswith('train_cfg.max_iters='))
    ckpt = osp.join(work, f'iter_{iters}.pth')
    os.makedirs(work, exist_ok=True)
    if not osp.isfile(ckpt):
        extra = [f'load_from={load_from}'] if load_from else []
        run_demo.run(['tools/train.py', ONLINE_CONFIG, '--work-dir', work,
                      '--cfg-options', *opts, *extra],
                     osp.join(work, 'train.log'))
    test_dir = osp.join(work, 'test')
    run_demo.run(['tools/test.py', ONLINE_CONFIG, ckpt, '--work-dir',
                  test_dir, '--cfg-options', *opts],
                 osp.join(work, 'test.log'))
    return read_test_metrics(test_dir)


def main(argv=None) -> dict:
    args = parse_args(argv)
    run_demo.configure(args)
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    start = time.time()
    from mmvis_pretrain.datasets.synthetic import make_synthetic_data

    print('=== [1/8] data: public (labelled) and own (unlabelled) videos')
    public, own = osp.join(work, 'data/public'), osp.join(work, 'data/own')
    for root, kwargs in (
            (public, dict(seed=args.seed, num_images=args.public_images,
                          num_videos=args.public_videos, num_val_videos=2)),
            (own, dict(seed=args.seed + 1000, num_images=2,
                       num_val_images=1, num_videos=args.own_videos,
                       num_val_videos=args.held_out_videos))):
        if not osp.isfile(osp.join(root, 'ytvis', 'valid.json')):
            make_synthetic_data(root, **kwargs)
    pub_coco, pub_ytvis = public + '/coco/', public + '/ytvis/'
    own_ytvis = own + '/ytvis/'
    frames_root = osp.join(own_ytvis, 'train', 'JPEGImages')

    print('=== [2/8] train on the public data')
    metrics = {}
    base = osp.join(work, 'model_public')
    metrics['public only'] = train_and_test(
        base, vis_options(pub_coco, pub_ytvis, own_ytvis, args.train_iters,
                          args.seed))
    ckpt = osp.join(base, f'iter_{args.train_iters}.pth')

    print('=== [3/8] predict the own videos (demo/video_demo.py --json)')
    pred_dir = osp.join(work, 'predictions')
    os.makedirs(pred_dir, exist_ok=True)
    for folder in sorted(glob.glob(osp.join(frames_root, '*'))):
        name = osp.basename(folder)
        if not osp.isfile(osp.join(pred_dir, f'{name}.json')):
            run_demo.run(['demo/video_demo.py', folder, ONLINE_CONFIG, ckpt,
                          '--out', osp.join(pred_dir, f'{name}.mp4'),
                          '--json', osp.join(pred_dir, f'{name}.json'),
                          '--device', 'cpu'],
                         osp.join(pred_dir, f'{name}.log'))

    print('=== [4/8] pseudo-labels -> training JSON -> PNG id masks')
    pseudo = osp.join(work, 'pseudo_train.json')
    run_demo.run(['tools/dataset_converters/results_to_ytvis.py',
                  *sorted(glob.glob(osp.join(pred_dir, '*.json'))),
                  '--score-thr', args.score_thr, '--frames-root',
                  frames_root, '--out', pseudo])
    pngs = osp.join(work, 'pseudo_pngs')
    shutil.rmtree(pngs, ignore_errors=True)  # ours, from an earlier run
    run_demo.run(['tools/dataset_converters/ytvis_to_png_masks.py',
                  pseudo, '--out', pngs])

    print('=== [5/8] correct the PNGs (simulated annotator)')
    corrected_pngs = osp.join(work, 'corrected_pngs')
    edits = simulate_annotator(pngs, osp.join(own_ytvis, 'train.json'),
                               corrected_pngs)
    print('    edits: ' + ', '.join(f'{k} {v}' for k, v in edits.items()))

    print('=== [6/8] corrected PNGs -> training JSON')
    corrected = osp.join(work, 'corrected_train.json')
    run_demo.run(['tools/dataset_converters/png_masks_to_ytvis.py',
                  corrected_pngs, '--classes',
                  osp.join(corrected_pngs, 'classes.json'), '--frames-root',
                  frames_root, '--out', corrected])

    print('=== [7/8] fine-tune on the own videos; [8/8] score')
    anns = dict(pseudo=pseudo, corrected=corrected,
                ground_truth=osp.join(own_ytvis, 'train.json'))
    tracks = {arm: len(json.load(open(anns[arm]))['annotations'])
              for arm in args.arms}
    for arm in args.arms:
        if not tracks[arm]:  # e.g. no track scored above --score-thr
            print(f'    {arm}: no tracks to train on, skipped')
            metrics[f'fine-tuned on {arm}'] = {}
            continue
        metrics[f'fine-tuned on {arm}'] = train_and_test(
            osp.join(work, f'finetune_{arm}'),
            vis_options(pub_coco, own_ytvis, own_ytvis, args.finetune_iters,
                        args.seed, ann_file=anns[arm]), load_from=ckpt)
    report = dict(
        edits=edits, metrics={m: {k: v.get(f'vis/{k}') for k in REPORT_KEYS}
                              for m, v in metrics.items()},
        settings=vars(args), seconds=round(time.time() - start, 1),
        tracks=tracks)
    write_report(work, report)
    return report


def write_report(work: str, report: dict) -> None:
    s = report['settings']
    lines = [
        '# Pseudo-label loop (synthetic miniature, one seed)', '',
        f"Public data: {s['public_images']} images + {s['public_videos']} "
        f"videos; own videos: {s['own_videos']} unlabelled, "
        f"{s['held_out_videos']} held out for scoring; training "
        f"{s['train_iters']} + fine-tuning {s['finetune_iters']} iterations, "
        f"seed {s['seed']}, pseudo-labels above score {s['score_thr']}. "
        f"{report['seconds']:.0f} s.", '',
        'Tracks in the training JSON: ' + ', '.join(
            f'{k} {v}' for k, v in report['tracks'].items()), '',
        'Annotator edits: ' + ', '.join(
            f'{k} {v}' for k, v in report['edits'].items()), '',
        '| model | ' + ' | '.join(REPORT_KEYS) + ' |',
        '|---|' + '---|' * len(REPORT_KEYS)]
    for name, row in report['metrics'].items():
        lines.append(f'| {name} | ' + ' | '.join(
            'skipped' if row.get(k) is None else (
                str(int(row[k])) if k == 'IDSW' else f'{row[k]:.3f}')
            for k in REPORT_KEYS) + ' |')
    write_atomic(osp.join(work, 'report.md'), '\n'.join(lines) + '\n')
    write_atomic(osp.join(work, 'report.json'), json.dumps(report, indent=1))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
