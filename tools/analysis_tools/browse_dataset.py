"""Render samples of a config's dataset pipeline (images or clips) to files.

Usage::

    python tools/analysis_tools/browse_dataset.py CONFIG --out DIR \
        [--num-samples N] [--formats png gif mp4] [--split train|val|test] \
        [--cfg-options k=v ...] [--seed S] [--fps F]

It builds ``cfg.<split>_dataloader.dataset`` (any dataset, wrappers
included), runs the first N samples through the pipeline (N random ones with
``--seed``) and writes, per sample, files named ``{idx:04d}_{name}...``:

* image samples (``PackDetInputs``): ``{idx:04d}_{image}.png`` only; GIF and
  MP4 make no sense for a single frame and are skipped;
* clip samples (``PackTrackInputs``): ``_frame{t:02d}.png`` per frame and a
  ``_strip.png`` of all frames side by side (``png``), ``.gif`` and ``.mp4``.

See ``docs/browse_dataset.md``.
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import List, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import set_random_seed
from tqdm import tqdm

from mmvis_pretrain.registry import VISUALIZERS
from mmvis_pretrain.utils.split_dataset import (build_split_dataset,
                                                load_config)
from mmvis_pretrain.visualization import (FORMATS, ClipLocalVisualizer,
                                          render_sample, write_rendered)

SPLITS = ('train', 'val', 'test')
# Keys of a ``ClipLocalVisualizer`` config that only matter for logging
# backends; the tool writes files itself.
_BACKEND_KEYS = ('name', 'vis_backends', 'save_dir', 'image')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Render samples of a dataset pipeline (images or clips) '
        'with masks, boxes, class names and instance ids.')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--num-samples', type=int, default=10,
        help='number of samples to render (default: 10)')
    parser.add_argument(
        '--formats', nargs='+', choices=FORMATS, default=['png', 'gif'],
        help='outputs for clips (default: png gif); image samples are '
        'always written as a single PNG')
    parser.add_argument(
        '--split', choices=SPLITS, default='train',
        help='which <split>_dataloader.dataset to browse (default: train)')
    parser.add_argument(
        '--seed', type=int, default=None,
        help='pick N random samples with this seed and seed the pipeline '
        'randomness (default: the first N samples, unseeded)')
    parser.add_argument(
        '--fps', type=float, default=4.0,
        help='frame rate of GIF and MP4 outputs (default: 4)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, xxx=yyy pairs merged into the '
        'config, e.g. train_dataloader.dataset.pipeline.2.scale="(64,48)"')
    args = parser.parse_args(argv)
    if args.num_samples < 1:
        parser.error('--num-samples must be >= 1')
    if args.fps <= 0:
        parser.error('--fps must be > 0')
    return args


def build_visualizer(cfg: Config) -> ClipLocalVisualizer:
    """Build the renderer.

    ``cfg.visualizer`` is used when its type is a ``ClipLocalVisualizer``
    (subclass), keeping its drawing options but not its backends; otherwise
    (e.g. mmdet's ``DetLocalVisualizer``) a default ``ClipLocalVisualizer``
    is built. A unique name keeps repeated calls from sharing an instance.
    """
    # the class itself, not its name: under a config's ``default_scope``
    # (e.g. 'mmdet') the name would be looked up in another registry
    vis_cfg = dict(type=ClipLocalVisualizer)
    cfg_vis = cfg.get('visualizer')
    if cfg_vis and 'type' in cfg_vis:
        vis_type = cfg_vis['type']
        vis_cls = vis_type if isinstance(vis_type, type) \
            else VISUALIZERS.get(vis_type)
        if vis_cls is not None and issubclass(vis_cls, ClipLocalVisualizer):
            vis_cfg = {k: v for k, v in cfg_vis.items()
                       if k not in _BACKEND_KEYS}
            vis_cfg['type'] = vis_cls
    vis_cfg['name'] = f'browse_dataset_{time.time_ns()}'
    return VISUALIZERS.build(vis_cfg)


def select_indices(length: int, num: int,
                   seed: Optional[int] = None) -> List[int]:
    """The first ``num`` indices, or ``num`` random ones if ``seed`` is set."""
    num = min(num, length)
    if seed is None:
        return list(range(num))
    return sorted(random.Random(seed).sample(range(length), num))


def browse(dataset, visualizer: ClipLocalVisualizer, indices: Sequence[int],
           out_dir: Path, formats: Sequence[str],
           fps: float) -> List[Path]:
    """Render ``dataset[idx]`` for every index and write the files."""
    visualizer.dataset_meta = dict(getattr(dataset, 'metainfo', {}) or {})
    written: List[Path] = []
    noted = 'png' in formats
    for idx in tqdm(indices, desc='browse_dataset', unit='sample'):
        rendered = render_sample(dataset[idx], visualizer)
        if not rendered.is_clip and not noted:
            tqdm.write('Image samples are written as PNG only.')
            noted = True
        prefix = out_dir / f'{idx:04d}_{rendered.name}'
        written += write_rendered(rendered, prefix, formats, fps=fps)
    return written


def main(argv: Optional[Sequence[str]] = None) -> List[Path]:
    """Run the tool; returns the written files."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if args.seed is not None:
        set_random_seed(args.seed)
    dataset = build_split_dataset(cfg, args.split)
    if len(dataset) == 0:
        print(f'The {args.split} dataset is empty; nothing written.')
        return []
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    indices = select_indices(len(dataset), args.num_samples, args.seed)
    written = browse(dataset, build_visualizer(cfg), indices, out_dir,
                     args.formats, args.fps)
    print(f'Wrote {len(written)} files for {len(indices)} of '
          f'{len(dataset)} {args.split} samples to {out_dir.resolve()}')
    return written


if __name__ == '__main__':
    main()
