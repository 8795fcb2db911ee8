"""The report of ``make demo``: a markdown table of the metrics and a PNG of
the training-loss curves and the AP comparison.

Used by ``demo/run_demo.py``; also callable on a finished demo work dir:
``python demo/demo_report.py work_dirs/demo``.
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmvis_pretrain.utils.run_scalars import read_scalars, scalar_curve

#: (key in metrics.json, column title) of the VIS table
VIS_COLUMNS = (('AP', 'AP'), ('AP50', 'AP50'), ('AP75', 'AP75'),
               ('AR1', 'AR1'), ('AR10', 'AR10'))


def read_loss_curve(work_dir: str) -> Tuple[List[int], List[float]]:
    """``(iterations, total losses)`` logged by the latest training run in
    ``work_dir`` (mmengine's ``<timestamp>/vis_data/scalars.json``)."""
    try:
        records = read_scalars(work_dir)
    except FileNotFoundError:
        return [], []
    return scalar_curve(dict(train=records['train'], val=[]), 'loss')


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return 'n/a'
    return '-' if value < 0 else f'{value:.3f}'


def markdown_report(results: Dict) -> str:
    """The report text.

    Args:
        results (dict): ``pretrain`` -> {arm: {'segm_mAP': ...}} and
            ``finetune`` -> {arm: {'AP': ..., 'AP50': ...}} where ``arm`` is
            ``'image_mstm'`` / ``'video'`` (the controlled pair),
            ``'image'`` (no MSTM), ``'untrained'``, ...; plus ``timing``
            and ``protocol`` (``seed``, ``threads``, ``held_out_videos``).
    """
    protocol = results.get('protocol') or {}
    lines = [
        '# mmvis_pretrain demo: pseudo-video pre-training -> online VIS',
        '',
        'Miniature of paper tab. 7 on the bundled synthetic data (narrow '
        'R18, 32-d Mask2Former, 10 queries, CPU). The controlled pair is '
        'the first two rows: the same architecture (Mask2Former + MSTM at '
        'fine-tuning) and the same online VIS fine-tuning (contrastive '
        'tracking embedding, memory-bank tracker, synthetic videos mixed '
        'with synthetic pseudo-videos), differing only in the pre-training '
        '(images, the MSTM starting at fine-tuning; or pseudo-videos with '
        'the MSTM). The third row is the image arm without MSTM.',
        '',
    ]
    if protocol:
        lines += [
            f"Held-out videos: {protocol.get('held_out_videos', '?')}; "
            f"training seed {protocol.get('seed', '?')}; "
            f"{protocol.get('threads', '?')} thread(s) per process. One seed "
            'on a few held-out videos is an anecdote, not a comparison: the '
            'multi-seed study with confidence intervals on 40 held-out '
            'videos is `tools/analysis_tools/study.py` '
            '(docs/studies.md).',
            '',
        ]
    lines += [
        '| pre-training | COCO segm AP of the pre-trained model | '
        + ' | '.join(f'VIS {title}' for _, title in VIS_COLUMNS) + ' |',
        '|---|---|' + '---|' * len(VIS_COLUMNS),
    ]
    names = dict(
        image_mstm='image (Mask2Former on images), MSTM at fine-tuning',
        video='video (Mask2Former + MSTM on pseudo-videos)',
        image='image, no MSTM at fine-tuning',
        untrained='none (untrained online model)',
        stmask='STMask, one-stage (no pre-training, videos only)',
        video_mvc='video + MVC-1 input masking during fine-tuning',
        image_mean_prob='image, no MSTM, former video-level rule (mean '
        'probabilities)',
        video_mean_prob='video, former video-level rule (mean probabilities)',
        dvis_tracker='image (no MSTM) + decoupled tracker (stage 2), online',
        dvis_online='image (no MSTM) + tracker + refiner (stage 3), online '
        '(segmenter + tracker)',
        dvis_offline='image (no MSTM) + tracker + refiner (stage 3), offline '
        '(refined)')
    for arm in ('image_mstm', 'video', 'image', 'video_mvc',
                'image_mean_prob',
                'video_mean_prob', 'dvis_tracker', 'dvis_online',
                'dvis_offline', 'untrained', 'stmask'):
        fine = results['finetune'].get(arm)
        if fine is None:
            continue
        pre_arm = 'image' if arm.startswith('dvis') else arm.replace(
            '_mean_prob', '').replace('_mvc', '').replace('_mstm', '')
        pre = results['pretrain'].get(pre_arm, {}).get('mAP')
        lines.append(f'| {names[arm]} | {_fmt(pre)} | ' + ' | '.join(
            _fmt(fine.get(key)) for key, _ in VIS_COLUMNS) + ' |')
    lines += [
        '',
        'VIS metric: official YouTube-VIS definitions '
        '(`mmvis_pretrain.evaluation.VISMetric`) on the held-out synthetic '
        'videos; `-` = no ground truth in that range. The online models '
        'score a track as CTVIS does (softmax of its mean class logits '
        'times its mask score, best track-class pairs per video); the '
        '"former video-level rule" rows test the same checkpoints with '
        "`model.tracker.video_scoring='mean_prob'`. The decoupled rows "
        '(DVIS++ style, docs/decoupled_vis.md) freeze the image-arm '
        'fine-tuned model as the segmenter, train a referring tracker on '
        'it (stage 2), then a temporal refiner with OMA (stage 3); they '
        "score DVIS's way (every slot a track, softmax of its mean logits, "
        'best slot-class pairs per video).',
        '',
        '![loss curves and AP](report.png)',
        '',
    ]
    if 'timing' in results:
        lines.append('Stage times (s): ' + ', '.join(
            f'{k} {v:.0f}' for k, v in results['timing'].items()))
        lines.append('')
    return '\n'.join(lines)


def plot_report(results: Dict, curves: Dict[str, Tuple[List, List]],
                out_png: str) -> None:
    """Loss curves of every training (left) and the VIS AP / AP50 of the
    fine-tuned arms (right)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax_loss, ax_ap) = plt.subplots(1, 2, figsize=(11, 4))
    for name, (iters, losses) in curves.items():
        if iters:
            ax_loss.plot(iters, losses, label=name)
    ax_loss.set_xlabel('iteration')
    ax_loss.set_ylabel('total training loss')
    ax_loss.set_yscale('log')
    ax_loss.legend(fontsize=8)
    ax_loss.set_title('training loss')
    arms = [a for a in ('image_mstm', 'video', 'image', 'video_mvc',
                        'dvis_tracker',
                        'dvis_offline', 'stmask', 'untrained')
            if a in results['finetune']]
    keys = ('AP', 'AP50', 'AP75')
    width = 0.8 / max(len(arms), 1)
    for i, arm in enumerate(arms):
        values = [max(results['finetune'][arm].get(k, 0.0), 0.0)
                  for k in keys]
        positions = [j + i * width for j in range(len(keys))]
        label = {'untrained': 'untrained', 'stmask': 'STMask',
                 'image_mstm': 'image pre-trained + MSTM',
                 'image': 'image pre-trained, no MSTM',
                 'video_mvc': 'video + MVC-1',
                 'dvis_tracker': 'image + DVIS tracker',
                 'dvis_offline': 'image + DVIS refiner (offline)'}.get(
            arm, f'{arm} pre-trained')
        bars = ax_ap.bar(positions, values, width, label=label)
        ax_ap.bar_label(bars, fmt='%.2f', fontsize=7)
    ax_ap.set_xticks([j + width * (len(arms) - 1) / 2
                      for j in range(len(keys))])
    ax_ap.set_xticklabels([f'VIS {k}' for k in keys])
    ax_ap.set_ylim(0, 1)
    ax_ap.legend(fontsize=8)
    ax_ap.set_title('online VIS after fine-tuning')
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def write_report(work_dir: str, results: Dict,
                 train_dirs: Dict[str, str]) -> Tuple[str, str]:
    """Write ``report.md`` and ``report.png`` into ``work_dir``."""
    curves = {name: read_loss_curve(d) for name, d in train_dirs.items()}
    md = osp.join(work_dir, 'report.md')
    png = osp.join(work_dir, 'report.png')
    plot_report(results, curves, png)
    with open(md, 'w') as f:
        f.write(markdown_report(results))
    return md, png


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='a finished demo work dir')
    args = parser.parse_args(argv)
    with open(osp.join(args.work_dir, 'results.json')) as f:
        saved = json.load(f)
    md, png = write_report(args.work_dir, saved['results'],
                           saved['train_dirs'])
    print(f'wrote {md} and {png}')


if __name__ == '__main__':
    main()
