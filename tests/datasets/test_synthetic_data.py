"""The synthetic data generator: determinism, COCO / YouTube-VIS schema
validity, mask faithfulness and VIS-like dynamics."""
import hashlib
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmvis_pretrain.datasets.synthetic import (META_FILE, SYNTHETIC_CATEGORIES,
                                               SYNTHETIC_CLASSES,
                                               ImageSetConfig, VideoSetConfig,
                                               make_synthetic_data,
                                               make_video, render_image)
from mmvis_pretrain.datasets.synthetic.mask_codec import (
    decode_segmentation, encode_uncompressed_rle, mask_bbox, mask_iou)
from mmvis_pretrain.datasets.synthetic.objects import object_mask

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMALL = dict(num_images=8, num_val_images=4, num_videos=4, num_val_videos=2)


def tree_digest(root: str) -> dict:
    """``{relative path: sha256}`` of every file under ``root``."""
    digest = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                digest[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return digest


def load(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Paths returned by make_synthetic_data for a small seed-0 set."""
    root = tmp_path_factory.mktemp('synthetic_small')
    return make_synthetic_data(str(root), seed=0, **SMALL)


def bbox_of_mask(mask: np.ndarray) -> list:
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() - xs.min() + 1,
            ys.max() - ys.min() + 1]


# ---------------------------------------------------------------- determinism
def test_same_seed_same_bytes_other_seed_differs(data, tmp_path):
    again = make_synthetic_data(str(tmp_path / 'again'), seed=0, **SMALL)
    other = make_synthetic_data(str(tmp_path / 'other'), seed=1, **SMALL)
    root = osp.dirname(data['coco_root'])
    reference = tree_digest(root)
    assert len(reference) > 50
    assert tree_digest(osp.dirname(again['coco_root'])) == reference
    changed = tree_digest(osp.dirname(other['coco_root']))
    for key in ('coco_train_json', 'ytvis_train_json', 'ytvis_valid_json'):
        rel = osp.relpath(data[key], root)
        assert changed[rel] != reference[rel]
    jpgs = [rel for rel in reference if rel.endswith('.jpg')]
    assert sum(changed.get(rel) != reference[rel] for rel in jpgs) > \
        0.9 * len(jpgs)


def test_rerun_replaces_outputs_and_protects_foreign_data(tmp_path):
    out = str(tmp_path / 'out')
    make_synthetic_data(out, num_images=5, num_val_images=2, num_videos=3,
                        num_val_videos=1, frames_min=3, frames_max=4)
    paths = make_synthetic_data(out, num_images=2, num_val_images=1,
                                num_videos=1, num_val_videos=1, frames_min=3,
                                frames_max=3)
    assert sorted(os.listdir(osp.join(out, 'coco/train'))) == [
        '000001.jpg', '000002.jpg'
    ]
    assert os.listdir(osp.join(out, 'ytvis/train/JPEGImages')) == [
        'train_0001'
    ]
    assert len(load(paths['coco_train_json'])['images']) == 2
    assert osp.isfile(osp.join(out, META_FILE))

    foreign = tmp_path / 'foreign'
    (foreign / 'coco' / 'train').mkdir(parents=True)
    (foreign / 'coco' / 'train' / 'real.jpg').write_bytes(b'x')
    with pytest.raises(FileExistsError):
        make_synthetic_data(str(foreign), num_images=1)
    assert (foreign / 'coco' / 'train' / 'real.jpg').exists()


# ---------------------------------------------------------------- COCO images
def test_layout_and_returned_paths(data):
    root = osp.dirname(data['coco_root'])
    anns = osp.join(root, 'coco', 'annotations')
    assert data == dict(
        coco_root=osp.join(root, 'coco'),
        coco_train_json=osp.join(anns, 'instances_train.json'),
        coco_val_json=osp.join(anns, 'instances_val.json'),
        ytvis_root=osp.join(root, 'ytvis'),
        ytvis_train_json=osp.join(root, 'ytvis/train.json'),
        ytvis_valid_json=osp.join(root, 'ytvis/valid.json'))
    for path in data.values():
        assert osp.exists(path), path
    assert osp.isfile(osp.join(root, 'coco/train/000001.jpg'))
    assert osp.isfile(osp.join(root, 'coco/val/000004.jpg'))
    assert osp.isfile(
        osp.join(root, 'ytvis/valid/JPEGImages/valid_0001/00000.jpg'))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_json_is_valid_and_masks_consistent(data, split):
    coco = COCO(data[f'coco_{split}_json'])
    assert coco.dataset['categories'] == SYNTHETIC_CATEGORIES
    assert [c['name'] for c in coco.dataset['categories']] == list(
        SYNTHETIC_CLASSES)
    images = coco.dataset['images']
    assert [img['id'] for img in images] == list(range(1, len(images) + 1))
    ann_ids = [a['id'] for a in coco.dataset['annotations']]
    assert ann_ids == list(range(1, len(ann_ids) + 1))
    for img in images:
        pixels = cv2.imread(osp.join(data['coco_root'], split,
                                     img['file_name']))
        assert pixels.shape == (img['height'], img['width'], 3)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img['id'])):
            assert ann['category_id'] in range(1, 7)
            seg = ann['segmentation']
            if isinstance(seg, list):
                assert ann['iscrowd'] == 0
                for poly in seg:
                    assert len(poly) >= 6 and len(poly) % 2 == 0
                    xs, ys = np.array(poly[0::2]), np.array(poly[1::2])
                    assert xs.min() >= 0 and xs.max() <= img['width']
                    assert ys.min() >= 0 and ys.max() <= img['height']
            else:
                assert isinstance(seg['counts'], str)
                assert seg['size'] == [img['height'], img['width']]
            mask = coco.annToMask(ann)
            assert mask.shape == (img['height'], img['width'])
            assert mask.any()
            assert ann['area'] == pytest.approx(mask.sum())
            assert np.abs(np.array(ann['bbox']) -
                          bbox_of_mask(mask)).max() <= 1


def test_coco_contains_polygons_rle_crowd_and_empty_images(data):
    dataset = load(data['coco_train_json'])
    anns = dataset['annotations']
    polygons = [a for a in anns if isinstance(a['segmentation'], list)]
    rles = [a for a in anns if isinstance(a['segmentation'], dict)]
    crowd = [a for a in anns if a['iscrowd'] == 1]
    assert polygons and rles and crowd
    assert all(isinstance(a['segmentation'], dict) for a in crowd)
    with_anns = {a['image_id'] for a in anns}
    assert any(img['id'] not in with_anns for img in dataset['images'])
    sizes = {(img['width'], img['height']) for img in dataset['images']}
    assert len(sizes) > 1
    assert {a['category_id'] for a in anns} == set(range(1, 7))


def test_coco_annotations_are_the_visible_rendered_masks(data):
    """Every annotation decodes to (nearly) the rendered visible mask, so
    occluded parts are not annotated."""
    dataset = load(data['coco_train_json'])
    occluded = 0
    for img in dataset['images']:
        image, scene, visible = render_image(0, 'train', img['id'] - 1,
                                             ImageSetConfig())
        assert image.shape[:2] == (img['height'], img['width'])
        anns = [a for a in dataset['annotations']
                if a['image_id'] == img['id']]
        shown = [m for m in visible if m.any()]
        assert len(anns) == len(shown)
        for ann, mask in zip(anns, shown):
            decoded = decode_segmentation(ann['segmentation'], *mask.shape)
            if isinstance(ann['segmentation'], list):
                assert mask_iou(decoded, mask) >= 0.85
            else:
                assert np.array_equal(decoded, mask)
        for obj, mask in zip(scene, visible):
            if obj.iscrowd or not mask.any():
                continue
            (appearance, pose), = obj.parts
            full = object_mask(appearance, pose, *mask.shape)
            occluded += int(mask.sum() < 0.97 * full.sum())
    assert occluded > 0, 'no partly occluded object: masks are not visible'


def test_mmdet_coco_dataset_loads_it(data):
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(
        data_root=data['coco_root'],
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=SYNTHETIC_CLASSES),
        pipeline=[],
        test_mode=False)
    assert len(dataset) == SMALL['num_images']
    raw = load(data['coco_train_json'])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert sum(len(info['instances']) for info in infos) == len(
        raw['annotations'])
    assert any(inst['ignore_flag'] for info in infos
               for inst in info['instances'])  # the crowd regions
    assert dataset.get_data_info(0)['img_path'].endswith('train/000001.jpg')


# ---------------------------------------------------------------- YTVIS videos
def _decode_rle(seg: dict) -> np.ndarray:
    h, w = seg['size']
    return mask_utils.decode(mask_utils.frPyObjects(seg, h, w)).astype(bool)


@pytest.mark.parametrize('split', ['train', 'valid'])
def test_ytvis_json_schema_and_frames(data, split):
    dataset = load(data[f'ytvis_{split}_json'])
    assert set(dataset) == {'info', 'licenses', 'videos', 'categories',
                            'annotations'}
    assert dataset['categories'] == SYNTHETIC_CATEGORIES
    videos = {v['id']: v for v in dataset['videos']}
    assert sorted(videos) == list(range(1, len(videos) + 1))
    ann_ids = [a['id'] for a in dataset['annotations']]
    assert ann_ids == list(range(1, len(ann_ids) + 1))
    for video in dataset['videos']:
        assert video['length'] == len(video['file_names']) >= 8
        name = video['file_names'][0].split('/')[0]
        assert video['file_names'] == [f'{name}/{t:05d}.jpg'
                                       for t in range(video['length'])]
        for file_name in video['file_names']:
            frame = cv2.imread(osp.join(data['ytvis_root'], split,
                                        'JPEGImages', file_name))
            assert frame.shape == (video['height'], video['width'], 3)
    for ann in dataset['annotations']:
        video = videos[ann['video_id']]
        assert ann['iscrowd'] == 0 and ann['category_id'] in range(1, 7)
        assert (ann['height'], ann['width']) == (video['height'],
                                                 video['width'])
        length = video['length']
        assert len(ann['segmentations']) == len(ann['bboxes']) == len(
            ann['areas']) == length
        assert any(s is not None for s in ann['segmentations'])
        for seg, box, area in zip(ann['segmentations'], ann['bboxes'],
                                  ann['areas']):
            assert (seg is None) == (box is None) == (area is None)
            if seg is None:
                continue
            assert isinstance(seg['counts'], list)
            assert seg['size'] == [video['height'], video['width']]
            assert sum(seg['counts']) == video['height'] * video['width']
            mask = _decode_rle(seg)
            assert mask.any()
            assert area == pytest.approx(mask.sum())
            assert np.abs(np.array(box) - bbox_of_mask(mask)).max() <= 1


def test_ytvis_masks_are_visible_parts_and_null_exactly_when_empty(data):
    dataset = load(data['ytvis_train_json'])
    config = VideoSetConfig()
    hidden_inside = 0
    for video in dataset['videos']:
        frames, tracks, visible = make_video(0, 'train', video['id'] - 1,
                                             config)
        anns = [a for a in dataset['annotations']
                if a['video_id'] == video['id']]
        kept = [masks for masks in visible if any(m.any() for m in masks)]
        assert len(anns) == len(kept)
        for ann, masks in zip(anns, kept):
            for seg, mask in zip(ann['segmentations'], masks):
                assert (seg is None) == (not mask.any())
                if seg is not None:
                    assert np.array_equal(_decode_rle(seg), mask)
        for track, masks in zip(tracks, visible):
            for t, mask in enumerate(masks):
                pose = track.trajectory.pose(t / (len(masks) - 1))
                full = object_mask(track.appearance, pose, *mask.shape)
                hidden_inside += bool(full.any() and not mask.any())
    assert hidden_inside > 0, 'no frame where an object is fully occluded'


def _boxes_overlap(a, b) -> bool:
    return (a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3]
            and b[1] < a[1] + a[3])


def test_ytvis_has_vis_dynamics(data):
    dataset = load(data['ytvis_train_json'])
    anns = dataset['annotations']
    # enter / leave: absent in some frames, present in others
    assert any(None in a['segmentations'] and any(
        s is not None for s in a['segmentations']) for a in anns)
    # overlap of two instances in one frame
    overlap = False
    for video in dataset['videos']:
        tracks = [a for a in anns if a['video_id'] == video['id']]
        for t in range(video['length']):
            boxes = [a['bboxes'][t] for a in tracks if a['bboxes'][t]]
            overlap |= any(
                _boxes_overlap(boxes[i], boxes[j])
                for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
    assert overlap
    # look-alikes: >= 2 instances of one category in one video
    per_video = {}
    for a in anns:
        per_video.setdefault(a['video_id'], []).append(a['category_id'])
    assert any(len(c) > len(set(c)) for c in per_video.values())
    # objects move: some instance's box centre travels several pixels
    travel = []
    for a in anns:
        centres = np.array([[b[0] + b[2] / 2, b[1] + b[3] / 2]
                            for b in a['bboxes'] if b is not None])
        travel.append(np.abs(centres.max(0) - centres.min(0)).max())
    assert max(travel) > 10
    # frames change over time
    video = dataset['videos'][0]
    first, last = (cv2.imread(osp.join(data['ytvis_root'], 'train',
                                       'JPEGImages', video['file_names'][i]))
                   for i in (0, -1))
    assert np.abs(first.astype(int) - last.astype(int)).mean() > 5


def test_video_sizes_and_lengths_follow_options(tmp_path):
    paths = make_synthetic_data(str(tmp_path), num_images=1,
                                num_val_images=0, num_videos=3,
                                num_val_videos=1, frames_min=5,
                                frames_max=6, image_size=(96, 64))
    videos = load(paths['ytvis_train_json'])['videos']
    assert all(5 <= v['length'] <= 6 for v in videos)
    assert all(80 <= v['width'] <= 112 and 53 <= v['height'] <= 75
               for v in videos)
    assert load(paths['coco_val_json'])['images'] == []


def test_uncompressed_rle_round_trip():
    rng = np.random.default_rng(0)
    for mask in (rng.random((7, 5)) > 0.5, np.ones((3, 4), bool),
                 np.zeros((3, 4), bool)):
        rle = encode_uncompressed_rle(mask)
        assert np.array_equal(_decode_rle(rle), mask)
    assert mask_bbox(np.pad(np.ones((2, 3), bool), 1)) == [1.0, 1.0, 3.0, 2.0]


def test_cli_writes_and_prints_counts(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_data_cli',
        osp.join(REPO, 'tools/misc/make_synthetic_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli')
    argv = ['--out', out, '--seed', '3', '--num-images', '2',
            '--num-val-images', '1', '--num-videos', '1',
            '--num-val-videos', '1', '--frames-min', '3', '--frames-max', '3',
            '--image-size', '64', '48']
    paths = cli.main(argv)
    printed = capsys.readouterr().out
    assert 'coco_train_json: images=2' in printed
    assert 'ytvis_train_json: videos=1, frames=3' in printed
    first = tree_digest(out)
    cli.main(argv)  # idempotent: same files again
    assert tree_digest(out) == first
    assert load(paths['coco_train_json'])['images'][0]['width'] <= 77


def _load_cli():
    """``tools/misc/make_synthetic_data.py`` as a module."""
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_data_cli',
        osp.join(REPO, 'tools/misc/make_synthetic_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


@pytest.mark.parametrize('args,message', [
    (['--jpeg-quality', '0'], '--jpeg-quality must be in 1..100, got 0'),
    (['--jpeg-quality', '101'], '--jpeg-quality must be in 1..100, got 101'),
    (['--num-images', '-1'], '--num-images must be >= 0, got -1'),
    (['--num-val-images', '-2'], '--num-val-images must be >= 0'),
    (['--num-videos', '-1'], '--num-videos must be >= 0'),
    (['--num-val-videos', '-1'], '--num-val-videos must be >= 0'),
    (['--frames-min', '0', '--frames-max', '3'],
     '--frames-min must be >= 1, got 0'),
    (['--frames-min', '5', '--frames-max', '4'],
     '--frames-min (5) must be <= --frames-max (4)'),
    (['--image-size', '0', '48'], '--image-size W H must be positive'),
    (['--image-size', '64', '-8'], '--image-size W H must be positive'),
    (['--max-objects', '0'], '--max-objects must be >= 1, got 0'),
    (['--max-tracks', '1'], '--max-tracks must be >= 2, got 1'),
    (['--seed', '-1'], '--seed must be >= 0, got -1'),
])
def test_cli_rejects_bad_arguments(tmp_path, capsys, args, message):
    out = tmp_path / 'cli'
    with pytest.raises(SystemExit) as info:
        _load_cli().main(['--out', str(out), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert 'usage:' in err and message in err
    assert not out.exists()  # nothing was written


def test_cli_accepts_edge_values(tmp_path):
    args = _load_cli().parse_args([
        '--out', str(tmp_path), '--jpeg-quality', '1', '--num-images', '0',
        '--frames-min', '1', '--frames-max', '1', '--max-tracks', '2',
        '--max-objects', '1', '--image-size', '1', '1'
    ])
    assert args.jpeg_quality == 1 and args.frames_max == 1


def test_mask_bbox_is_the_tight_box():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = rng.integers(1, 30, 2)
        mask = rng.random((h, w)) > rng.random()
        if mask.any():
            assert mask_bbox(mask) == [float(v) for v in bbox_of_mask(mask)]
    # a run crossing a column boundary (pycocotools' special case)
    mask = np.zeros((5, 4), bool)
    mask[3:, 0] = mask[:2, 1] = True
    assert mask_bbox(mask) == [0.0, 0.0, 2.0, 5.0]


def test_lookalike_subset(tmp_path):
    """The occlusion-heavy subset holds the held-out videos that start with
    look-alike tracks (2-3 of one class), with all their annotations."""
    from mmvis_pretrain.datasets.synthetic import write_lookalike_subset
    paths = make_synthetic_data(str(tmp_path), seed=0, num_images=1,
                                num_val_images=0, num_videos=0,
                                num_val_videos=7)
    path = write_lookalike_subset(paths['ytvis_root'], 'valid')
    full, subset = load(paths['ytvis_valid_json']), load(path)
    assert [v['id'] for v in subset['videos']] == [1, 4, 7]
    assert subset['annotations'] == [
        a for a in full['annotations'] if a['video_id'] in (1, 4, 7)]
    assert subset['categories'] == full['categories']
    for vid in (1, 4, 7):
        cats = [a['category_id'] for a in subset['annotations']
                if a['video_id'] == vid]
        # the look-alikes: one class at least twice
        assert max(cats.count(c) for c in cats) >= 2, (vid, cats)
