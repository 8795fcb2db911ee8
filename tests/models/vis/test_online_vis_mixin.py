"""The online-VIS core (OnlineVISMixin) on the package's three online
models: one tracker reset per video (a spy), the feature window."""
import os.path as osp

import pytest
import torch

from conftest import REPO
from vis_model_helpers import one_thread  # noqa: F401  (autouse fixture)
from vis_model_helpers import build_model, load_cfg, video_frames

from mmvis_pretrain.models.vis.online_vis_mixin import (FeatureWindow,
                                                        OnlineVISMixin)

CONFIGS = {
    'OnlineMask2FormerVIS':
    'configs/online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py',
    'STMask': 'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
    'STC': 'configs/stc/stc_tiny_1xb2-300it_synthetic-vis.py',
}


@pytest.mark.parametrize('name', list(CONFIGS))
def test_one_tracker_reset_per_video(name, synthetic_root):
    cfg = load_cfg(osp.join(REPO, CONFIGS[name]))
    model = build_model(cfg)
    assert isinstance(model, OnlineVISMixin)
    model.eval()
    resets = []
    original = model.tracker.reset

    def spy():
        resets.append(1)
        original()

    model.tracker.reset = spy
    num_frames = 0
    for video in (0, 1, 0):  # video 0 again: a new video as well
        for data in video_frames(cfg, synthetic_root, video):
            with torch.no_grad():
                out = model.test_step(data)[0]
            frame = out.video_data_samples[0]
            assert 'instances_id' in frame.pred_track_instances
            num_frames += 1
    assert num_frames > 3
    assert len(resets) == 3, f'{len(resets)} resets for 3 videos'


def test_feature_window():
    window = FeatureWindow(3)
    f = [(torch.full((1, 1), float(i)), ) for i in range(5)]
    assert window.push(f[0])[0].flatten().tolist() == [0., 0., 0.]
    assert window.push(f[1])[0].flatten().tolist() == [0., 0., 1.]
    assert window.push(f[2])[0].flatten().tolist() == [0., 1., 2.]
    assert window.push(f[3])[0].flatten().tolist() == [1., 2., 3.]
    window.reset()
    assert len(window) == 0
    assert window.push(f[4])[0].flatten().tolist() == [4., 4., 4.]
    with pytest.raises(ValueError, match='size must be >= 1'):
        FeatureWindow(0)
