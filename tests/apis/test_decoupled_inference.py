"""inference_vis_video with DecoupledVIS: online frame by frame, offline in
chunks of ``chunk_size`` frames (streamed, bounded), the same results as
the whole video through ``test_step``."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmvis_pretrain.apis import (get_track_instances, inference_vis_video,
                                 init_vis_model)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFINER = osp.join(REPO,
                   'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')


def _frames(num, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    frames = []
    for t in range(num):
        frame = base.copy()
        frame[20 + t:50 + t, 30:70] = (40, 200, 90)
        frames.append(frame)
    return frames


@pytest.fixture(scope='module')
def model_factory():
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()

    def make(mode, chunk_size=4):
        cfg = Config.fromfile(REFINER)
        cfg.model.inference_mode = mode
        cfg.model.chunk_size = chunk_size
        torch.manual_seed(0)
        return init_vis_model(cfg, checkpoint=None, device='cpu')
    return make


@pytest.mark.parametrize('mode', ['online', 'offline'])
def test_streamed_video_equals_the_whole_video(mode, model_factory):
    num = 10  # longer than the 8-frame training clips, not a chunk multiple
    frames = _frames(num)
    model = model_factory(mode)
    assert model.frames_per_step == (4 if mode == 'offline' else 1)
    streamed = []
    for frame, result in inference_vis_video(model, iter(frames), num,
                                             video_id=3):
        pred = get_track_instances(result)
        assert isinstance(pred.masks, torch.Tensor)
        assert pred.masks.shape == (10, 90, 120)
        streamed.append(pred)
    assert len(streamed) == num
    # the same frames packed as one whole-video sample
    from mmvis_pretrain.apis.inference import (_merge_frames,
                                               build_vis_test_pipeline,
                                               pack_vis_frame)
    pipeline = build_vis_test_pipeline(model.cfg)
    packed = [pack_vis_frame(pipeline, f, t, num, 3)
              for t, f in enumerate(frames)]
    with torch.no_grad():
        whole = model.test_step(pseudo_collate([_merge_frames(packed)]))
    for t, frame in enumerate(whole[0].video_data_samples):
        ref = frame.pred_track_instances
        masks = ref.masks
        if isinstance(masks, list):
            from mmvis_pretrain.structures import decode_rle
            masks = torch.from_numpy(decode_rle(masks))
        assert torch.equal(streamed[t].masks, masks)
    # the last frame's class scores are the video's in both
    assert torch.allclose(streamed[-1].class_scores,
                          whole[0].video_data_samples[-1]
                          .pred_track_instances.class_scores, atol=1e-6)
