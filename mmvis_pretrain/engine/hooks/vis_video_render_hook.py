"""``--show-dir`` for VIS: one rendered MP4 per test video, every frame.

mmdet's ``TrackVisualizationHook`` (what ``tools/test.py --show-dir``
enabled before) draws one frame in ``frame_interval`` (30) and names its
folder after the third-last path component, which is ``JPEGImages`` for the
YouTube-VIS layout: the videos overwrite each other. :class:`VISVideoRenderHook`
renders every frame of every test video with the package's
:class:`~mmvis_pretrain.visualization.ClipLocalVisualizer` (id-consistent
colours, class names, ids) into ``<out_dir>/<video>.mp4``, named after the
video's folder, for frame-by-frame loaders (``TrackImgSampler``) and
whole-video samples alike. Each file is written under a temporary name and
moved into place when the video's last frame is in; an incomplete video at
the end of the test leaves no file (a warning names it).
"""
import os.path as osp
from typing import Dict

import mmcv
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...apis.staged_outputs import StagedOutputs
from ...registry import HOOKS
from ...visualization.clip_renderer import ClipLocalVisualizer
from ...visualization.clip_writers import Mp4Writer


@HOOKS.register_module()
class VISVideoRenderHook(Hook):
    """Render the test predictions of every video into an MP4.

    Args:
        out_dir (str): Output folder; relative paths are under the run's
            ``<work_dir>/<timestamp>``.
        score_thr (float): Draw tracks scoring above it. Defaults to 0.3.
        fps (float): Frame rate of the files. Defaults to 6.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, score_thr: float = 0.3,
                 fps: float = 6.0) -> None:
        self.out_dir = out_dir
        self.score_thr = score_thr
        self.fps = fps
        self._open: Dict = {}  # video key -> [writer, tmp, final, written]
        self.written = []  # the finished files

    def _folder(self, runner) -> str:
        if osp.isabs(self.out_dir):
            return self.out_dir
        return osp.join(runner.work_dir, runner.timestamp, self.out_dir)

    @staticmethod
    def video_name(frame) -> str:
        """The video's folder name, else ``video_<id>``."""
        path = frame.metainfo.get('img_path')
        if path:
            return osp.basename(osp.dirname(path)) or \
                f"video_{frame.metainfo.get('video_id')}"
        return f"video_{frame.metainfo.get('video_id')}"

    def before_test(self, runner) -> None:
        visualizer = runner.visualizer
        if not getattr(visualizer, 'dataset_meta', None):
            visualizer.dataset_meta = runner.test_dataloader.dataset.metainfo

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        for sample in outputs or []:
            frames = getattr(sample, 'video_data_samples', [sample])
            for frame in frames:
                self._render(runner, frame)

    def _render(self, runner, frame) -> None:
        meta = frame.metainfo
        key = meta.get('video_id')
        length = int(meta.get('ori_video_length',
                              meta.get('video_length', 1)))
        image = mmcv.imread(meta['img_path'], channel_order='rgb')
        visualizer = runner.visualizer
        if isinstance(visualizer, ClipLocalVisualizer):
            # raster drawing, without mmengine's canvas round trip
            pred = frame.get('pred_track_instances')
            if pred is not None and 'scores' in pred:
                pred = pred[pred.scores > self.score_thr]
            drawn = visualizer.draw_instances(
                image, None if pred is None else pred.cpu())
        else:
            visualizer.add_datasample(
                'frame', image, data_sample=frame, draw_gt=False,
                draw_pred=True, pred_score_thr=self.score_thr)
            drawn = visualizer.get_image()
        state = self._open.get(key)
        if state is None:
            final = osp.join(self._folder(runner),
                             self.video_name(frame) + '.mp4')
            staged = StagedOutputs()
            writer = Mp4Writer(staged.file(final), self.fps,
                               *drawn.shape[:2])
            state = self._open[key] = [writer, staged, final, 0, length]
        state[0].write(drawn)
        state[3] += 1
        if state[3] >= state[4]:
            state[0].close()
            state[1].commit()
            self.written.append(state[2])
            del self._open[key]

    def after_test(self, runner) -> None:
        for key, (writer, staged, final, written,
                  length) in self._open.items():
            writer.close()
            staged.discard()
            print_log(
                f'VISVideoRenderHook: video {key!r} got {written} of {length}'
                f' frames; no render written ({final})', 'current',
                level=30)
        self._open = {}
        if self.written:
            print_log(f'VISVideoRenderHook: {len(self.written)} videos '
                      f'rendered under {osp.dirname(self.written[0])}',
                      'current')
