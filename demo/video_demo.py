"""Run an online video instance segmentation model on a video and write it
with coloured instance masks, class names, scores and track ids.

    python demo/video_demo.py INPUT CONFIG CHECKPOINT --out OUT.mp4 \\
        [--png-dir DIR] [--json FILE] [--device cpu|cuda:0] \\
        [--score-thr 0.3] [--fps N]

INPUT is a video file (any container OpenCV reads), a folder of frames
(image files in natural order: f2.jpg before f10.jpg; other files ignored)
or a quoted glob pattern ('frames/*.jpg'). The model is any model that
follows the package's online VIS protocol (frames fed one at a time, each
result with ``pred_track_instances``), e.g. mmdet's MaskTrackRCNN. Frames
stream through: memory does not grow with the video.

Outputs (instances scoring above --score-thr, ids 1, 2, ... in order of
first appearance, the same in all outputs):
  --out       MP4 (mp4v) at the source frame rate; the colour of a track is
              a function of its id, so it stays the same over time;
  --png-dir   one PNG per frame (000000.png, ...): pixel = track id, 0 =
              background (16-bit by default, --png-bits 8);
  --json      the tracks: id, label, category, score and per-frame RLE
              masks (null where the track is absent).
See docs/video_demo.md.
"""
import argparse
import contextlib
import os.path as osp
import sys
import time
from typing import Dict, Optional

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.config import DictAction
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar

from mmvis_pretrain.apis import (DEFAULT_FPS, IdPngWriter, Mp4Writer,
                                 TrackIdMap, TracksJsonWriter, default_device,
                                 get_track_instances, inference_vis_video,
                                 init_vis_model, open_frame_source)
from mmvis_pretrain.visualization import ClipLocalVisualizer
from mmvis_pretrain.visualization.drawing_utils import (boxes_to_array,
                                                        to_numpy)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='video_demo.py',
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        epilog=__doc__.split('\n\n', 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'input', help='video file, frame folder or quoted glob pattern')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', required=True, help='output video with the drawn tracks '
        '(.mp4, mp4v codec)')
    parser.add_argument(
        '--png-dir', help='also write one id PNG per frame into this folder')
    parser.add_argument(
        '--png-bits', type=int, choices=(8, 16), default=16,
        help='bit depth of the id PNGs (8: at most 255 tracks). Default 16')
    parser.add_argument(
        '--json', help='also write the tracks with RLE masks to this file')
    parser.add_argument(
        '--device', default=default_device(),
        help='cpu, cuda or cuda:N. Default: %(default)s')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='keep instances with a score above this. Default 0.3')
    parser.add_argument(
        '--fps', type=float, default=None,
        help=f'frame rate of frame folders / patterns (default '
        f'{DEFAULT_FPS:g}); for a video file it overrides the container\'s')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (as tools/test.py)')
    args = parser.parse_args(argv)
    if args.fps is not None and not args.fps > 0:
        parser.error(f'--fps must be positive, got {args.fps}')
    return args


def frame_instances(result, height: int, width: int,
                    score_thr: float) -> Dict[str, np.ndarray]:
    """The instances of one result scoring above ``score_thr`` as numpy.

    Args:
        result: A result of ``inference_vis_video``.
        height (int): Frame height (masks must be at the frame size).
        width (int): Frame width.
        score_thr (float): Keep ``scores > score_thr``.

    Returns:
        dict: ``track_ids`` ``(M,)`` int64, ``labels`` ``(M,)`` int64,
        ``scores`` ``(M,)`` float32, ``masks`` ``(M, H, W)`` bool and
        ``bboxes`` ``(M, 4)`` float32 or None.
    """
    instances = get_track_instances(result)
    missing = [k for k in ('instances_id', 'labels', 'scores', 'masks')
               if k not in instances]
    if missing:
        raise ValueError(f'pred_track_instances lack {missing}; the online '
                         'VIS protocol needs instances_id, labels, scores '
                         'and masks')
    num = len(instances)
    masks = instances.masks
    if isinstance(masks, (BitmapMasks, PolygonMasks)):
        masks = masks.to_ndarray()
    masks = to_numpy(masks).astype(bool)
    if num == 0:  # some models return a flat empty tensor
        masks = masks.reshape(0, height, width)
    if masks.shape != (num, height, width):
        raise ValueError(f'pred_track_instances.masks have shape '
                         f'{masks.shape}, expected ({num}, {height}, {width})'
                         ' (masks at the original frame size)')
    scores = to_numpy(instances.scores).astype(np.float32).reshape(-1)
    keep = scores > score_thr
    bboxes = None
    if 'bboxes' in instances:
        bboxes = boxes_to_array(instances.bboxes)[keep]
    return dict(
        track_ids=to_numpy(instances.instances_id).astype(
            np.int64).reshape(-1)[keep],
        labels=to_numpy(instances.labels).astype(np.int64).reshape(-1)[keep],
        scores=scores[keep],
        masks=masks[keep],
        bboxes=bboxes)


def draw_tracks(visualizer: ClipLocalVisualizer, frame_bgr: np.ndarray,
                ids: np.ndarray, inst: Dict[str, np.ndarray]) -> np.ndarray:
    """Draw the instances with their output ``ids`` on a BGR frame.

    Returns:
        np.ndarray: The drawn RGB frame.
    """
    pred = InstanceData(
        instances_id=torch.from_numpy(ids),
        labels=torch.from_numpy(inst['labels']),
        scores=torch.from_numpy(inst['scores']),
        masks=inst['masks'])
    if inst['bboxes'] is not None:
        pred.bboxes = torch.from_numpy(inst['bboxes'])
    sample = DetDataSample()
    sample.pred_track_instances = pred
    # instances are filtered already: draw every one of them
    visualizer.add_datasample(
        'frame', np.ascontiguousarray(frame_bgr[..., ::-1]), sample,
        draw_gt=False, draw_pred=True, pred_score_thr=float('-inf'))
    return visualizer.get_image()


def run(args: argparse.Namespace) -> dict:
    """Run the demo; returns a summary (frames, tracks, output files)."""
    source = open_frame_source(args.input, fps=args.fps)
    print(f'input: {source}', flush=True)
    model = init_vis_model(args.config, args.checkpoint, device=args.device,
                           cfg_options=args.cfg_options)
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    visualizer = ClipLocalVisualizer(name=f'video_demo_{id(source)}')
    visualizer.dataset_meta = dict(classes=classes)
    id_map = TrackIdMap()
    height, width = source.size
    current: Dict[str, np.ndarray] = {}

    def frames():
        for frame in source:
            current['frame'] = frame
            yield frame

    start = time.time()
    with contextlib.ExitStack() as stack:
        video_writer = stack.enter_context(
            Mp4Writer(args.out, source.fps, height, width))
        png_writer: Optional[IdPngWriter] = None
        if args.png_dir:
            png_writer = IdPngWriter(args.png_dir, height, width,
                                     bit_depth=args.png_bits)
        json_writer: Optional[TracksJsonWriter] = None
        if args.json:
            json_writer = stack.enter_context(
                TracksJsonWriter(
                    args.json, len(source), height, width, classes=classes,
                    fps=source.fps, video=str(args.input),
                    frame_names=source.frame_names))
        progress = ProgressBar(len(source))
        results = inference_vis_video(
            model, frames(), len(source), img_paths=source.frame_names)
        for t, result in enumerate(results):
            inst = frame_instances(result, height, width, args.score_thr)
            ids = id_map(inst['track_ids'])
            video_writer.write(
                draw_tracks(visualizer, current['frame'], ids, inst))
            if png_writer is not None:
                png_writer.write(t, inst['masks'], ids, inst['scores'])
            if json_writer is not None:
                json_writer.add_frame(t, ids, inst['labels'], inst['scores'],
                                      inst['masks'], inst['track_ids'])
            progress.update()
    seconds = time.time() - start
    summary = dict(
        frames=video_writer.num_frames,
        tracks=len(id_map),
        seconds=seconds,
        out=args.out,
        png_dir=args.png_dir,
        json=args.json)
    print(f'\n{summary["frames"]} frames, {summary["tracks"]} tracks above '
          f'score {args.score_thr:g} in {seconds:.1f}s '
          f'({summary["frames"] / max(seconds, 1e-9):.1f} frames/s)')
    for key in ('out', 'png_dir', 'json'):
        if summary[key]:
            print(f'{key}: {osp.abspath(summary[key])}')
    return summary


def main(argv=None) -> dict:
    return run(parse_args(argv))


if __name__ == '__main__':
    main(sys.argv[1:])
