"""VISVideoRenderHook: one MP4 per video, every frame, partial videos leave
no file."""
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData

from mmvis_pretrain.engine.hooks import VISVideoRenderHook
from mmvis_pretrain.visualization import ClipLocalVisualizer


def _frames(folder, video, n, h=24, w=32):
    out = []
    for t in range(n):
        path = folder / video / f'{t:05d}.jpg'
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((h, w, 3), 40 * t % 255, np.uint8))
        frame = DetDataSample(metainfo=dict(
            img_path=str(path), video_id=video, frame_id=t,
            ori_video_length=n, ori_shape=(h, w)))
        masks = torch.zeros(1, h, w, dtype=torch.bool)
        masks[0, 4:12, 4:12] = True
        frame.pred_track_instances = InstanceData(
            instances_id=torch.tensor([1]), labels=torch.tensor([0]),
            scores=torch.tensor([0.9]), masks=masks)
        out.append(frame)
    return out


def _runner(tmp_path):
    visualizer = ClipLocalVisualizer(name=f'render_{id(tmp_path)}')
    visualizer.dataset_meta = dict(classes=('car', ))
    return SimpleNamespace(work_dir=str(tmp_path), timestamp='ts',
                           visualizer=visualizer)


def _sample(frames):
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return sample


@pytest.mark.parametrize('whole_video', [True, False])
def test_every_frame_of_every_video(tmp_path, whole_video):
    runner = _runner(tmp_path)
    hook = VISVideoRenderHook(out_dir='painted')
    videos = {'cat_video': _frames(tmp_path / 'data', 'cat_video', 5),
              'dog_video': _frames(tmp_path / 'data', 'dog_video', 3)}
    for frames in videos.values():
        if whole_video:
            hook.after_test_iter(runner, 0, outputs=[_sample(frames)])
        else:
            for f in frames:
                hook.after_test_iter(runner, 0, outputs=[_sample([f])])
    hook.after_test(runner)
    for name, frames in videos.items():
        path = osp.join(str(tmp_path), 'ts', 'painted', name + '.mp4')
        capture = cv2.VideoCapture(path)
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
        capture.release()
    assert sorted(p.name for p in (tmp_path / 'ts' / 'painted').iterdir()) \
        == ['cat_video.mp4', 'dog_video.mp4']


def test_incomplete_video_leaves_no_file(tmp_path):
    runner = _runner(tmp_path)
    hook = VISVideoRenderHook(out_dir=str(tmp_path / 'out'))
    frames = _frames(tmp_path / 'data', 'v', 4)
    hook.after_test_iter(runner, 0, outputs=[_sample(frames[:2])])
    hook.after_test(runner)
    # nothing left: the temporary and the folder made for it are gone
    out = tmp_path / 'out'
    assert not out.exists() or list(out.iterdir()) == []
