"""demo/video_demo.py with the decoupled model (DVIS++ style), online and
offline: the offline model streams the video in chunks of ``chunk_size``
frames (``inference_vis_video``) and the outputs cover every frame."""
import glob
import importlib.util
import json
import os.path as osp
import sys

import cv2
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'apis'))
from vis_demo_helpers import save_random_checkpoint  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    'video_demo_decoupled', osp.join(REPO, 'demo', 'video_demo.py'))
video_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(video_demo)


@pytest.mark.parametrize('mode', ['online', 'offline'])
def test_demo_decoupled_model_on_synthetic_frames(mode, tmp_path,
                                                  synthetic_root):
    from mmengine.config import Config
    config = osp.join(REPO, 'configs', 'dvis',
                      'dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')
    cfg = Config.fromfile(config)
    cfg.model.inference_mode = mode
    cfg.model.chunk_size = 4  # several chunks, the last one shorter
    cfg_file = str(tmp_path / 'dvis_tiny.py')
    cfg.dump(cfg_file)
    checkpoint = save_random_checkpoint(
        cfg, str(tmp_path / 'random.pth'),
        classes=('person', 'car', 'dog', 'cat', 'bird', 'horse'))
    frames_dir = sorted(glob.glob(osp.join(synthetic_root, 'ytvis', 'valid',
                                           'JPEGImages', '*')))[0]
    names = sorted(glob.glob(osp.join(frames_dir, '*')))
    assert len(names) % 4  # a shorter last chunk
    first = cv2.imread(names[0])
    out, json_file = tmp_path / 'out.mp4', tmp_path / 'tracks.json'
    video_demo.main([
        frames_dir, cfg_file, checkpoint, '--out', str(out), '--json',
        str(json_file), '--score-thr', '0', '--device', 'cpu'
    ])
    assert out.stat().st_size > 0
    tracks = json.loads(json_file.read_text())['results']
    assert tracks  # the best (slot, class) pairs of the video
    for track in tracks:
        assert len(track['segmentations']) == len(names)
        for rle in track['segmentations']:
            if rle is not None:
                assert rle['size'] == list(first.shape[:2])
