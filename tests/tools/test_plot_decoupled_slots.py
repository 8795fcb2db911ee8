"""tools/analysis_tools/plot_decoupled_slots.py on the tiny refiner config
(random weights) and a synthetic validation video."""
import glob
import os.path as osp
import sys

import cv2

from conftest import REPO
from tool_loader import load_tool

tool = load_tool('tools/analysis_tools/plot_decoupled_slots.py')
CONFIG = osp.join(REPO,
                  'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py')


def test_two_rows_of_frames(synthetic_root, tmp_path):
    from mmengine.config import Config
    sys.path.insert(0, osp.join(REPO, 'tests', 'apis'))
    from vis_demo_helpers import save_random_checkpoint
    cfg = Config.fromfile(CONFIG)
    ckpt = save_random_checkpoint(
        cfg, str(tmp_path / 'random.pth'),
        classes=('person', 'car', 'dog', 'cat', 'bird', 'horse'))
    video = sorted(glob.glob(osp.join(synthetic_root, 'ytvis', 'valid',
                                      'JPEGImages', '*')))[0]
    first = cv2.imread(sorted(glob.glob(osp.join(video, '*')))[0])
    out = tmp_path / 'fig' / 'slots.png'
    assert tool.main([CONFIG, ckpt, video, '--out', str(out),
                      '--num-frames', '3', '--score-thr', '0']) == 0
    img = cv2.imread(str(out))
    h, w = first.shape[:2]
    assert img.shape[:2] == (2 * h, 3 * w)
    assert glob.glob(str(tmp_path / 'fig' / '*')) == [str(out)]


def test_errors(tmp_path):
    assert tool.main([CONFIG, 'x.pth', str(tmp_path), '--out',
                      str(tmp_path / 'o.png')]) == 1
