"""Run an online video instance segmentation model on a video and write it
with coloured instance masks, class names, scores and track ids.

    python demo/video_demo.py INPUT CONFIG CHECKPOINT --out OUT.mp4 \\
        [--png-dir DIR] [--json FILE [--video-id N]] [--device cpu|cuda:0] \\
        [--score-thr 0.3] [--fps N] [--skip-bad-frames]

INPUT is a video file (any container OpenCV reads), a folder of frames
(image files in natural order: f2.jpg before f10.jpg; other files ignored)
or a quoted glob pattern ('frames/*.jpg'). The model is any model that
follows the package's online VIS protocol (frames fed one at a time, each
result with ``pred_track_instances``), e.g. mmdet's MaskTrackRCNN. Frames
stream through: memory does not grow with the video.

Outputs (the drawings: instances scoring above --score-thr, ids 1, 2, ...
in order of first appearance, the same in both):
  --out       MP4 (mp4v) at the source frame rate; the colour of a track is
              a function of its id, so it stays the same over time;
  --png-dir   one PNG per frame (000000.png, ...): pixel = track id, 0 =
              background; palette PNGs (ids as palette indices, coloured in
              an image viewer) while ids fit 1..254, 16-bit grey for a frame
              with a larger id (--png-format);
  --json      the official YouTube-VIS / OVIS results of the video (every
              track the model reports, as tools/test.py submits them;
              per-frame RLE masks, null where a track is absent) with a
              header (the video's name, frame files, size, fps): score it
              with tools/analysis_tools/eval_vis.py GT_JSON FILE
              (--video-id: the video's id in GT_JSON).

Nothing is written unless the run succeeds: the output paths are checked
before the model is built (an error names the option), the outputs are
written to hidden temporaries next to them and moved into place at the
end; on any failure (a frame that cannot be decoded, Ctrl-C, ...) the
temporaries are deleted and existing files are left as they were. A frame
that cannot be decoded stops the run (the error names the frame and the
file) unless --skip-bad-frames: then it is left out of the outputs and
reported at the end. See docs/video_demo.md.
"""
import argparse
import math
import os
import os.path as osp
import sys
import time
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.config import DictAction
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar

from mmvis_pretrain.apis import (DEFAULT_FPS, IdPngWriter, Mp4Writer,
                                 TrackIdMap, TracksJsonWriter, default_device,
                                 get_track_instances, inference_vis_video,
                                 init_vis_model, open_frame_source)
from mmvis_pretrain.apis.video_sources import FrameDecodeError, FrameSource
from mmvis_pretrain.apis.staged_outputs import (
    OutputPathError, StagedOutputs, check_output_file, check_output_folder)
from mmvis_pretrain.visualization import ClipLocalVisualizer
from mmvis_pretrain.visualization.drawing_utils import (boxes_to_array,
                                                        to_numpy)

#: Extensions accepted by --out (the mp4v codec in an MP4 container).
VIDEO_EXTENSIONS = ('.mp4', )


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
        '--png-format', choices=IdPngWriter.FORMATS, default='auto',
        help='id PNG format: palette (ids 1..254 as palette indices, '
        'coloured in a viewer), 16bit (grey, ids up to 65535) or auto '
        '(palette while a frame\'s ids fit, else 16-bit). Default auto')
    parser.add_argument(
        '--json', help='also write the tracks with RLE masks to this file')
    parser.add_argument(
        '--device', default=default_device(),
        help='cpu, cuda or cuda:N. Default: %(default)s')
    parser.add_argument(
        '--video-id', type=int, default=1,
        help='video_id of the --json results (the ground truth\'s id of '
        'the video, to score it with eval_vis.py). Default 1')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='keep instances with a score above this. Default 0.3')
    parser.add_argument(
        '--fps', type=float, default=None,
        help=f'frame rate of frame folders / patterns (default '
        f'{DEFAULT_FPS:g}); for a video file it overrides the container\'s')
    parser.add_argument(
        '--skip-bad-frames', action='store_true',
        help='leave out the frames that cannot be decoded (and report them '
        'at the end) instead of stopping with an error')
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
        ``scores`` ``(M,)`` float32, ``masks`` ``(M, H, W)`` bool,
        ``bboxes`` ``(M, 4)`` float32 or None and ``class_scores`` ``(M,
        K)`` or None (CTVIS's video-level rule).
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
    class_scores = None
    if 'class_scores' in instances:
        class_scores = to_numpy(instances.class_scores).astype(np.float64)
        if class_scores.ndim != 2:
            # a frame without tracks may give a flat empty array: (0, K)
            # cannot be recovered from it, and no row is needed
            class_scores = class_scores.reshape(num, -1) if num else \
                class_scores.reshape(0, 0)
        class_scores = class_scores[keep]
    return dict(
        track_ids=to_numpy(instances.instances_id).astype(
            np.int64).reshape(-1)[keep],
        labels=to_numpy(instances.labels).astype(np.int64).reshape(-1)[keep],
        scores=scores[keep],
        masks=masks[keep],
        bboxes=bboxes,
        class_scores=class_scores)


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
    # instances are filtered already: draw every one of them (raster, no
    # matplotlib canvas: docs/benchmarks.md, rendering)
    return visualizer.draw_instances(
        np.ascontiguousarray(frame_bgr[..., ::-1]), pred)


def check_outputs(args: argparse.Namespace) -> None:
    """Check --out, --png-dir and --json before anything is done.

    Raises:
        OutputPathError: ``"<option> <path>: <reason>"``.
    """
    outputs = [('--out', check_output_file(args.out, '--out',
                                           VIDEO_EXTENSIONS))]
    if args.png_dir:
        outputs.append(('--png-dir',
                        check_output_folder(args.png_dir, '--png-dir')))
    if args.json:
        outputs.append(('--json', check_output_file(args.json, '--json')))
    seen: Dict[str, str] = {}
    for option, path in outputs:
        real = osp.realpath(path)
        if real in seen:
            raise OutputPathError(f'{option} {path}: is also {seen[real]}')
        seen[real] = option
    if args.png_dir:
        png_dir = osp.realpath(args.png_dir)
        for option, path in outputs:
            if option != '--png-dir' and _inside(osp.realpath(path),
                                                 png_dir):
                raise OutputPathError(
                    f'{option} {path}: is inside --png-dir {args.png_dir}, '
                    'which is replaced as a whole')


def _inside(path: str, folder: str) -> bool:
    return osp.commonpath([path, folder]) == folder and path != folder


def check_not_input(args: argparse.Namespace, source: FrameSource) -> None:
    """No output may overwrite the input (a video file or frame files)."""
    names = source.frame_names if source.frame_names is not None else [
        source.path
    ]
    inputs = {osp.realpath(name) for name in names}
    given = osp.realpath(args.input) if osp.exists(args.input) else None
    for option, path in (('--out', args.out), ('--json', args.json),
                         ('--png-dir', args.png_dir)):
        if not path:
            continue
        real = osp.realpath(path)
        if real == given or real in inputs:
            raise OutputPathError(f'{option} {path}: is the input')
        if option == '--png-dir':
            held = sorted(name for name in inputs
                          if name.startswith(real + os.sep))
            if held:
                raise OutputPathError(
                    f'{option} {path}: holds the input ({held[0]}), and the '
                    'folder is replaced as a whole')


def index_ranges(indices: Sequence[int]) -> str:
    """``[1, 3, 4, 5, 9]`` -> ``'1, 3-5, 9'``."""
    parts: List[str] = []
    indices = sorted(indices)
    i = 0
    while i < len(indices):
        j = i
        while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
            j += 1
        parts.append(str(indices[i]) if i == j else
                     f'{indices[i]}-{indices[j]}')
        i = j + 1
    return ', '.join(parts)


def run(args: argparse.Namespace) -> dict:
    """Run the demo; returns a summary (frames, skipped frames, tracks,
    output files).

    Nothing is written unless the whole run succeeds (see the module doc).
    """
    check_outputs(args)
    try:
        return _run(args)
    except BaseException:
        print('\nvideo_demo: the run failed, no output was written (files '
              'already at the output paths are unchanged)', file=sys.stderr,
              flush=True)
        raise


def _run(args: argparse.Namespace) -> dict:
    source = open_frame_source(args.input, fps=args.fps,
                               skip_bad_frames=args.skip_bad_frames)
    check_not_input(args, source)
    print(f'input: {source}', flush=True)
    height, width = source.size
    with StagedOutputs() as stage:
        # every output is opened before the model is built: a path that
        # cannot be written fails before any work
        video_writer = Mp4Writer(stage.file(args.out), source.fps, height,
                                 width)
        png_writer: Optional[IdPngWriter] = None
        if args.png_dir:
            png_writer = IdPngWriter(stage.folder(args.png_dir), height,
                                     width, png_format=args.png_format)
        json_path = stage.file(args.json) if args.json else None
        try:
            model = init_vis_model(args.config, args.checkpoint,
                                   device=args.device,
                                   cfg_options=args.cfg_options)
            classes = (getattr(model, 'dataset_meta', None)
                       or {}).get('classes')
            json_writer: Optional[TracksJsonWriter] = None
            if json_path is not None:
                json_writer = TracksJsonWriter(
                    json_path, len(source), height, width, classes=classes,
                    fps=source.fps, video=str(args.input),
                    frame_names=source.frame_names, video_id=args.video_id)
            try:
                summary = _track(args, source, model, classes, video_writer,
                                 png_writer, json_writer)
            except BaseException:
                if json_writer is not None:
                    json_writer.abort()
                raise
            if json_writer is not None:
                json_writer.close()
        finally:
            video_writer.close()
        stage.commit()
    _print_summary(args, source, summary)
    return summary


def _track(args: argparse.Namespace, source: FrameSource, model,
           classes, video_writer: Mp4Writer,
           png_writer: Optional[IdPngWriter],
           json_writer: Optional[TracksJsonWriter]) -> dict:
    """Stream the frames through the model and the writers."""
    visualizer = ClipLocalVisualizer(name=f'video_demo_{id(source)}')
    visualizer.dataset_meta = dict(classes=classes)
    id_map = TrackIdMap()
    height, width = source.size
    skipped: List[FrameDecodeError] = []
    decoded: List[int] = []  # source index of every frame given the model

    def frames():
        for index, frame in source.iter_frames(args.skip_bad_frames,
                                               skipped):
            decoded.append(index)
            yield frame

    img_paths = None
    if source.frame_names is not None:
        names = source.frame_names

        def img_paths(frame_id: int) -> str:
            return names[decoded[frame_id]]

    progress = ProgressBar(len(source))
    marked = 0  # skipped frames passed on to the JSON / progress bar

    def mark_skipped(before: int) -> None:
        nonlocal marked
        while marked < len(skipped) and skipped[marked].index < before:
            if json_writer is not None:
                json_writer.skip_frame(skipped[marked].index)
            progress.update()
            marked += 1

    start = time.time()
    # the model sees the decoded frames as one video: frame ids 0, 1, ...
    # without gaps; ori_video_length stays the source's frame count
    results = inference_vis_video(model, frames(), len(source),
                                  img_paths=img_paths)
    with warnings.catch_warnings():
        if args.skip_bad_frames:
            warnings.filterwarnings(
                'ignore', message=r'video \d+: only \d+ of video_length=')
        for frame_id, (frame, result) in enumerate(results):
            t = decoded[frame_id]
            mark_skipped(t)
            inst = frame_instances(result, height, width, args.score_thr)
            ids = id_map(inst['track_ids'])
            video_writer.write(draw_tracks(visualizer, frame, ids, inst))
            if png_writer is not None:
                png_writer.write(t, inst['masks'], ids, inst['scores'])
            if json_writer is not None:
                # every track the model reports (the official results, as
                # tools/test.py scores them): no score threshold, the
                # model's track ids
                every = frame_instances(result, height, width, -math.inf)
                json_writer.add_frame(t, every['track_ids'], every['labels'],
                                      every['scores'], every['masks'],
                                      class_scores=every['class_scores'])
            progress.update()
    mark_skipped(len(source))
    if not decoded:
        raise OSError(f'{args.input}: none of the {len(source)} frames can '
                      f'be decoded (first error: {skipped[0]})')
    skipped_indices = [e.index for e in skipped]
    suspects = []
    if source.frame_names is None:  # video: inter-frame coded
        suspects = [
            i - 1 for i in skipped_indices
            if i > 0 and i - 1 not in skipped_indices
        ]
    return dict(
        frames=video_writer.num_frames,
        source_frames=len(source),
        skipped_frames=skipped_indices,
        suspect_frames=suspects,
        first_skip_reason=str(skipped[0]) if skipped else None,
        tracks=len(id_map),
        seconds=time.time() - start,
        out=args.out,
        png_dir=args.png_dir,
        json=args.json)


def _print_summary(args: argparse.Namespace, source: FrameSource,
                   summary: dict) -> None:
    seconds = summary['seconds']
    print(f'\n{summary["frames"]} frames, {summary["tracks"]} tracks above '
          f'score {args.score_thr:g} in {seconds:.1f}s '
          f'({summary["frames"] / max(seconds, 1e-9):.1f} frames/s)')
    skipped = summary['skipped_frames']
    if skipped:
        print(f'skipped {len(skipped)} of {summary["source_frames"]} frames '
              f'that could not be decoded: {index_ranges(skipped)} (first: '
              f'{summary["first_skip_reason"]})')
        suspects = summary['suspect_frames']
        if suspects:
            print(f'note: frame{"s" if len(suspects) > 1 else ""} '
                  f'{index_ranges(suspects)} (decoded just before an '
                  'undecodable frame) may be damaged: OpenCV gives no '
                  'signal for a damaged frame it still decodes')
    for key in ('out', 'png_dir', 'json'):
        if summary[key]:
            print(f'{key}: {osp.abspath(summary[key])}')


def main(argv=None) -> dict:
    return run(parse_args(argv))


if __name__ == '__main__':
    try:
        main(sys.argv[1:])
    except OutputPathError as e:  # nothing was done
        print(f'video_demo.py: error: {e}', file=sys.stderr)
        sys.exit(2)
    except FrameDecodeError as e:
        print(f'video_demo.py: error: {e}', file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
