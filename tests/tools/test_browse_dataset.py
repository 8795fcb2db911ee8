"""End-to-end tests of ``tools/analysis_tools/browse_dataset.py``.

Each test writes its own tiny data into ``tmp_path``: a COCO json with two
64x48 images, and a CocoVID (YouTube-VIS style) json with two videos of
three frames, plus configs using mmdet's ``CocoDataset`` and
``YouTubeVISDataset`` with their standard pipelines.
"""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

TOOL = (Path(__file__).parents[2] / 'tools' / 'analysis_tools' /
        'browse_dataset.py')
IMG_W, IMG_H = 64, 48
OUT_W, OUT_H = 128, 96  # Resize(scale=(128, 96), keep_ratio=True)
CATEGORIES = [dict(id=1, name='person'), dict(id=2, name='dog')]
# mmdet's video datasets label categories by their order in the json, so the
# json lists the first classes of YouTube-VIS 2019 in that order.
VIDEO_CATEGORIES = [
    dict(id=1, name='person'),
    dict(id=2, name='giant_panda')
]


@pytest.fixture(scope='module')
def tool():
    """The tool imported as a module (``tools`` is not a package)."""
    spec = importlib.util.spec_from_file_location('browse_dataset', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_image(path: Path, seed: int) -> None:
    """A random 64x48 JPEG (distinct per seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (IMG_H, IMG_W, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)


def _annotation(ann_id, image_id, x, y, w, h, category_id, **extra):
    """A box annotation with its rectangle as polygon segmentation."""
    return dict(
        id=ann_id, image_id=image_id, category_id=category_id,
        bbox=[x, y, w, h], area=w * h, iscrowd=0,
        segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]], **extra)


def _write_coco(root: Path) -> Path:
    """Two images, two instances each."""
    images, annotations = [], []
    for i in range(2):
        name = f'img_{i}.jpg'
        _write_image(root / 'images' / name, seed=i)
        images.append(dict(id=i + 1, file_name=name, width=IMG_W,
                           height=IMG_H))
        annotations += [
            _annotation(2 * i + 1, i + 1, 4, 4, 24, 30, 1),
            _annotation(2 * i + 2, i + 1, 34, 10, 26, 20, 2),
        ]
    ann_file = root / 'coco.json'
    ann_file.write_text(json.dumps(dict(
        images=images, annotations=annotations, categories=CATEGORIES)))
    return ann_file


def _write_cocovid(root: Path) -> Path:
    """Two videos of three frames; instance 1 moves, instance 2 stays."""
    videos, images, annotations = [], [], []
    for v in range(2):
        name = f'vid_{v}'
        videos.append(dict(id=v + 1, name=name, width=IMG_W, height=IMG_H))
        for t in range(3):
            image_id = 3 * v + t + 1
            file_name = f'{name}/{t:05d}.jpg'
            _write_image(root / 'videos' / file_name, seed=10 + image_id)
            images.append(dict(id=image_id, video_id=v + 1, frame_id=t,
                               file_name=file_name, width=IMG_W,
                               height=IMG_H))
            annotations += [
                _annotation(2 * image_id - 1, image_id, 2 + 4 * t, 4, 24,
                            30, 1, instance_id=1, video_id=v + 1),
                _annotation(2 * image_id, image_id, 36, 12, 24, 20, 2,
                            instance_id=2, video_id=v + 1),
            ]
    ann_file = root / 'cocovid.json'
    ann_file.write_text(json.dumps(dict(
        videos=videos, images=images, annotations=annotations,
        categories=VIDEO_CATEGORIES)))
    return ann_file


IMAGE_CONFIG = """
default_scope = 'mmvis_pretrain'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 96), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='CocoDataset',
        data_root={root!r},
        ann_file='coco.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=('person', 'dog')),
        pipeline=train_pipeline))
visualizer = dict(type='DetLocalVisualizer', name='visualizer')
"""

VIDEO_CONFIG = """
default_scope = 'mmvis_pretrain'
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=2, frame_range=2,
         filter_key_img=True),
    dict(type='TransformBroadcaster', share_random_params=True,
         transforms=[
             dict(type='LoadImageFromFile'),
             dict(type='LoadTrackAnnotations', with_mask=True),
             dict(type='Resize', scale=(128, 96), keep_ratio=True),
             dict(type='RandomFlip', prob=0.5),
         ]),
    dict(type='PackTrackInputs'),
]
test_pipeline = [
    dict(type='TransformBroadcaster',
         transforms=[
             dict(type='LoadImageFromFile'),
             dict(type='Resize', scale=(64, 48), keep_ratio=True),
             dict(type='LoadTrackAnnotations', with_mask=True),
         ]),
    dict(type='PackTrackInputs'),
]
dataset = dict(
    type='YouTubeVISDataset',
    dataset_version='2019',
    data_root={root!r},
    ann_file='cocovid.json',
    data_prefix=dict(img_path='videos/'))
train_dataloader = dict(batch_size=1,
                        dataset=dict(**dataset, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1,
                      dataset=dict(**dataset, test_mode=True,
                                   pipeline=test_pipeline))
visualizer = dict(type='ClipLocalVisualizer', line_width=1, alpha=0.6,
                  vis_backends=[dict(type='LocalVisBackend')])
"""


@pytest.fixture
def image_config(tmp_path):
    """Config of a tiny COCO dataset."""
    _write_coco(tmp_path)
    path = tmp_path / 'image_cfg.py'
    path.write_text(IMAGE_CONFIG.format(root=str(tmp_path)))
    return path


@pytest.fixture
def video_config(tmp_path):
    """Config of a tiny YouTube-VIS style dataset."""
    _write_cocovid(tmp_path)
    path = tmp_path / 'video_cfg.py'
    path.write_text(VIDEO_CONFIG.format(root=str(tmp_path)))
    return path


def _size(path: Path):
    """(width, height) of an image file."""
    with Image.open(path) as image:
        return image.size


def _mp4_frames(path: Path) -> int:
    """Number of frames decodable from a video file."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count


def test_image_dataset_writes_pngs_only(tool, image_config, tmp_path,
                                        capsys):
    out = tmp_path / 'out'
    written = tool.main([str(image_config), '--out', str(out),
                         '--formats', 'png', 'gif', 'mp4'])
    names = sorted(p.name for p in out.iterdir())
    assert names == ['0000_img_0.png', '0001_img_1.png']
    assert sorted(p.name for p in written) == names
    assert all(_size(out / n) == (OUT_W, OUT_H) for n in names)
    assert str(out.resolve()) in capsys.readouterr().out


def test_cfg_options_seed_and_num_samples(tool, image_config, tmp_path):
    out = tmp_path / 'out'
    argv = [str(image_config), '--out', str(out), '--num-samples', '1',
            '--seed', '3', '--cfg-options',
            'train_dataloader.dataset.pipeline.2.scale=(64,48)']
    first = tool.main(argv)
    assert len(first) == 1 and _size(first[0]) == (IMG_W, IMG_H)
    again = tool.main(argv)
    assert [p.name for p in again] == [p.name for p in first]


def test_clip_dataset_all_formats(tool, video_config, tmp_path):
    out = tmp_path / 'out'
    tool.main([str(video_config), '--out', str(out), '--formats', 'png',
               'gif', 'mp4', '--fps', '5', '--num-samples', '5'])
    for idx, video in enumerate(['vid_0', 'vid_1']):
        prefix = f'{idx:04d}_{video}'
        for t in range(3):
            assert _size(out / f'{prefix}_frame{t:02d}.png') == (OUT_W, OUT_H)
        strip_w, strip_h = _size(out / f'{prefix}_strip.png')
        assert strip_h == OUT_H and strip_w >= 3 * OUT_W
        with Image.open(out / f'{prefix}.gif') as gif:
            assert gif.n_frames == 3
            assert gif.info['duration'] == 200
        assert _mp4_frames(out / f'{prefix}.mp4') == 3
    assert len(list(out.iterdir())) == 2 * 6


def test_clip_frames_are_annotated(tool, video_config, tmp_path):
    """Rendered frames differ from the raw pipeline frames inside masks."""
    out = tmp_path / 'out'
    tool.main([str(video_config), '--out', str(out), '--split', 'val',
               '--formats', 'png', '--num-samples', '1'])
    # val: test_mode, whole video of 3 frames at the original size
    names = sorted(p.name for p in out.iterdir())
    assert names == [f'0000_vid_0_frame{t:02d}.png' for t in range(3)] + [
        '0000_vid_0_strip.png'
    ]
    frame = cv2.imread(str(out / '0000_vid_0_frame00.png'))
    raw = cv2.imread(str(tmp_path / 'videos' / 'vid_0' / '00000.jpg'))
    assert frame.shape == raw.shape
    # instance 2 covers x 36..60, y 12..32: its lower part is blended
    inside = np.abs(frame[26:30, 50:56].astype(int) - raw[26:30, 50:56])
    assert inside.mean() > 10
    # below both instances nothing is drawn
    np.testing.assert_array_equal(frame[40:, :], raw[40:, :])


def test_dataset_wrapper(tool, image_config, tmp_path):
    wrapped = tmp_path / 'wrapped_cfg.py'
    wrapped.write_text(image_config.read_text() + (
        "train_dataloader['dataset'] = dict(\n"
        "    type='RepeatDataset', times=2,\n"
        "    dataset=train_dataloader['dataset'])\n"))
    written = tool.main([str(wrapped), '--out', str(tmp_path / 'out'),
                         '--num-samples', '3'])
    assert [p.name for p in written] == [
        '0000_img_0.png', '0001_img_1.png', '0002_img_0.png'
    ]


def test_missing_split_fails(tool, image_config, tmp_path):
    with pytest.raises(KeyError, match='val_dataloader'):
        tool.main([str(image_config), '--out', str(tmp_path / 'o'),
                   '--split', 'val'])
