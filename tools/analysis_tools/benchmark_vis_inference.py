"""Online VIS inference speed and peak memory against video length.

    python tools/analysis_tools/benchmark_vis_inference.py CONFIG \
        [--checkpoint CKPT] [--lengths 100 1000] [--size 360 640] \
        [--device cpu|cuda:0] [--out results.json]

For each length, a fresh process streams a synthetic video (moving ellipses
on a gradient, generated frame by frame, never stored) through
:func:`mmvis_pretrain.apis.inference_vis_video` -- test pipeline, model,
tracker -- and RLE-encodes every frame's masks as they come out (what the
VIS metric and the demo keep). It reports frames/s (after the warm-up
frames) and the peak memory of the whole process: peak resident set size
on CPU (``VmHWM``), peak allocated GPU memory with CUDA. Memory must not
grow with the video beyond the RLE outputs: compare the peaks of the
lengths (issue goal: the 1000-frame peak within 1.1x of the 100-frame one).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from typing import List

import numpy as np
from mmengine.config import DictAction

WARMUP = 5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Online VIS inference frames/s and peak memory per '
        'video length')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (default: random '
                        'initialisation; speed depends little on weights)')
    parser.add_argument('--lengths', type=int, nargs='+', default=[100, 1000])
    parser.add_argument('--size', type=int, nargs=2, default=[360, 640],
                        metavar=('H', 'W'), help='frame size')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda:N (default: cuda:0 if available)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides key=value')
    parser.add_argument('--single-run', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process so far (MiB)."""
    if device.startswith('cuda'):
        import torch
        return torch.cuda.max_memory_allocated(device) / 2**20
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_run(args: argparse.Namespace, length: int) -> dict:
    """Stream one synthetic video of ``length`` frames (in this process)."""
    import pycocotools.mask as mask_utils
    import torch

    from mmvis_pretrain.apis import (get_track_instances, inference_vis_video,
                                     init_vis_model)
    from mmvis_pretrain.utils.benchmark_frames import moving_shapes_frames
    device = args.device or ('cuda:0' if torch.cuda.is_available() else
                             'cpu')
    model = init_vis_model(args.config, args.checkpoint, device=device,
                           cfg_options=args.cfg_options)
    height, width = args.size
    outputs: List[list] = []  # the RLE outputs, as the metric keeps them
    start = None
    num_masks = 0
    for i, (_, result) in enumerate(
            inference_vis_video(model,
                                moving_shapes_frames(length, height, width,
                                                     args.seed), length)):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i == WARMUP - 1 or (length <= WARMUP and i == 0):
            start = time.perf_counter()
            timed_from = i + 1
        inst = get_track_instances(result)
        masks = inst.masks.cpu().numpy().astype(np.uint8)
        rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0))) \
            if len(masks) else []
        outputs.append([(int(k), r) for k, r in zip(inst.instances_id, rles)])
        num_masks += len(rles)
    elapsed = time.perf_counter() - start
    timed = length - timed_from
    return dict(
        length=length,
        device=device,
        size=[height, width],
        fps=timed / elapsed if timed > 0 and elapsed > 0 else float('nan'),
        peak_memory_mb=peak_memory_mb(device),
        masks_output=num_masks)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.single_run is not None:
        print(json.dumps(single_run(args, args.single_run)))
        return 0
    rows = []
    base = [a for a in (argv if argv is not None else sys.argv[1:])
            if a != '--out']
    # drop "--out PATH" from the child command line
    if args.out is not None:
        i = base.index(args.out)
        base = base[:i] + base[i + 1:]
    for length in args.lengths:
        cmd = [sys.executable, os.path.abspath(__file__), *base,
               '--single-run', str(length)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f'the {length}-frame run failed')
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f'{length:6d} frames  {r["fps"]:7.2f} frames/s  peak '
              f'{r["peak_memory_mb"]:9.1f} MiB  ({r["device"]}, '
              f'{r["size"][0]}x{r["size"][1]}, {r["masks_output"]} masks)',
              flush=True)
    if len(rows) > 1:
        ratio = rows[-1]['peak_memory_mb'] / rows[0]['peak_memory_mb']
        print(f'peak memory {rows[-1]["length"]} / {rows[0]["length"]} '
              f'frames: x{ratio:.3f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
