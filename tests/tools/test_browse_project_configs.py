"""browse_dataset.py on the project's own synthetic configs."""
import os.path as osp

import cv2
from PIL import Image

from conftest import TINY_VIS_CONFIG, as_cli, synthetic_data_options
from tool_loader import load_tool

browse = load_tool('tools/analysis_tools/browse_dataset.py')


def test_synthetic_video_clips_as_gif_and_mp4(synthetic_root, tmp_path):
    opts = synthetic_data_options(synthetic_root)
    opts.pop('_coco_root')
    opts['train_dataloader.dataset.pipeline.0.num_ref_imgs'] = 3
    opts['train_dataloader.dataset.pipeline.0.frame_range'] = 3
    written = browse.main([
        TINY_VIS_CONFIG, '--out', str(tmp_path), '--num-samples', '2',
        '--formats', 'png', 'gif', 'mp4', '--cfg-options', *as_cli(opts)])
    gifs = [p for p in written if str(p).endswith('.gif')]
    mp4s = [p for p in written if str(p).endswith('.mp4')]
    assert len(gifs) == 2 and len(mp4s) == 2
    assert Image.open(gifs[0]).n_frames == 4  # key frame + 3 references
    cap = cv2.VideoCapture(str(mp4s[0]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()


def test_synthetic_images(synthetic_root, tmp_path):
    config = osp.join(osp.dirname(TINY_VIS_CONFIG),
                      '../mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py')
    coco = osp.join(synthetic_root, 'coco') + '/'
    written = browse.main([
        config, '--out', str(tmp_path), '--num-samples', '3', '--cfg-options',
        f'train_dataloader.dataset.data_root={coco}'])
    assert len(written) == 3 and all(str(p).endswith('.png') for p in written)


def test_mmdet_scoped_config(synthetic_root, tmp_path):
    """A plain mmdet config (default_scope='mmdet', mmdet's visualizer) is
    browsed too."""
    coco = osp.join(synthetic_root, 'coco') + '/'
    cfg_file = tmp_path / 'mmdet_cfg.py'
    cfg_file.write_text(
        "default_scope = 'mmdet'\n"
        "visualizer = dict(type='DetLocalVisualizer')\n"
        "train_dataloader = dict(dataset=dict(type='CocoDataset', "
        f"data_root={coco!r}, ann_file='annotations/instances_train.json', "
        "data_prefix=dict(img='train/'), pipeline=["
        "dict(type='LoadImageFromFile'), "
        "dict(type='LoadAnnotations', with_bbox=True, with_mask=True), "
        "dict(type='PackDetInputs')]))\n")
    written = browse.main([str(cfg_file), '--out', str(tmp_path / 'o'),
                           '--num-samples', '2'])
    assert len(written) == 2


def test_synthetic_pseudo_videos(synthetic_root, tmp_path):
    """Pseudo-video clips render as GIFs named after their source image."""
    config = osp.join(osp.dirname(TINY_VIS_CONFIG),
                      '../_base_/datasets/synthetic_pseudo_video.py')
    coco = osp.join(synthetic_root, 'coco') + '/'
    written = browse.main([
        config, '--out', str(tmp_path), '--num-samples', '2', '--formats',
        'gif', '--cfg-options', f'train_dataloader.dataset.data_root={coco}'])
    gifs = [p for p in written if str(p).endswith('.gif')]
    assert len(gifs) == 2
    assert Image.open(gifs[0]).n_frames == 3  # T = 3 pre-training clips
    # named after the image (all frames share it), not its folder
    assert not osp.basename(str(gifs[0])).endswith('_train.gif')
