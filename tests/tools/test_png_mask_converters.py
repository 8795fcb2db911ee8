"""tools/dataset_converters/png_masks_to_ytvis.py and ytvis_to_png_masks.py
(mmvis_pretrain.datasets.converters.png_masks): per-frame instance-id PNGs
(DAVIS, MOTS, CVAT MOTS PNG) <-> raw YouTube-VIS JSON."""
import json
import os

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest
from PIL import Image

from mmvis_pretrain.datasets.converters.id_png import (natural_key,
                                                       read_id_png,
                                                       voc_palette)
from mmvis_pretrain.datasets.vis_json import validate_vis_json
from mmvis_pretrain.structures import decode_rle
from tool_loader import load_tool

to_ytvis = load_tool('tools/dataset_converters/png_masks_to_ytvis.py')
to_pngs = load_tool('tools/dataset_converters/ytvis_to_png_masks.py')

H, W = 36, 40


# ------------------------------------------------------------------ helpers
def palette_png(path, ids: np.ndarray) -> None:
    """A DAVIS-style palette ('P') PNG: palette index = instance id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(ids.astype(np.uint8))
    img.putpalette(voc_palette())
    assert img.mode == 'P'
    img.save(path)


def gray16_png(path, ids: np.ndarray) -> None:
    """A 16-bit grey PNG (MOTS)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), ids.astype(np.uint16))


def jpg(path, height=H, width=W) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))


def davis_id_maps():
    """Two videos of 3 frames: ``bear`` (instances 1, 2; 2 absent in frame
    1) and ``car`` (instances 1, 3); a void (255) border in every frame."""
    maps = {}
    for video, ids in (('bear', (1, 2)), ('car', (1, 3))):
        frames = []
        for t in range(3):
            m = np.zeros((H, W), np.uint8)
            m[2:12, 3 + t:15 + t] = ids[0]
            if not (video == 'bear' and t == 1):
                m[18:30, 20:34] = ids[1]
            m[0, :] = 255  # void
            m[11, 3 + t:15 + t] = 255  # void on the object's edge
            frames.append(m)
        maps[video] = frames
    return maps


def make_davis(root, maps=None, frames=True):
    """``root/Annotations/<video>/0000t.png`` (+ ``JPEGImages``)."""
    maps = maps or davis_id_maps()
    for video, frames_ in maps.items():
        for t, m in enumerate(frames_):
            palette_png(root / 'Annotations' / video / f'{t:05d}.png', m)
            if frames:
                jpg(root / 'JPEGImages' / video / f'{t:05d}.jpg',
                    *m.shape)
    return root / 'Annotations', root / 'JPEGImages'


def write_json(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def run(tool, argv, capsys):
    """``(exit status, stdout, stderr)`` of a tool's main."""
    rc = tool.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def run_error(tool, argv, capsys, *names, outputs=()):
    """Run a tool that must fail: one ``error:`` line on stderr naming
    ``names``, exit status 1, no ``outputs`` left (nor temporaries)."""
    rc, out, err = run(tool, argv, capsys)
    assert rc == 1, (out, err)
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith('error: ')]
    assert len(errors) == 1 and 'Traceback' not in err, err
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    for path in outputs:
        assert not os.path.lexists(path)
        assert not [p for p in os.listdir(os.path.dirname(path))
                    if p.startswith('.')], 'a temporary was left'
    return errors[0]


def masks_of(ann: dict) -> list:
    """Per frame the decoded (H, W) bool mask of a track, None if absent."""
    return [None if s is None else decode_rle([s])[0]
            for s in ann['segmentations']]


# -------------------------------------------------------------- conversion
def test_davis_conversion(tmp_path, capsys):
    masks, frames = make_davis(tmp_path)
    classes = write_json(tmp_path / 'classes.json', {
        'bear/1': 'bear', 'bear/2': 'person', '1': 'car', '3': 'person'})
    out = tmp_path / 'out' / 'davis.json'
    rc, printed, err = run(to_ytvis, [masks, '--out', out, '--frames-root',
                                      frames, '--classes', classes], capsys)
    assert rc == 0, err
    assert '2 videos, 6 frames, 4 instances, 3 categories' in printed
    data = json.loads(out.read_text())
    assert validate_vis_json(data, str(out), img_root=str(frames)) == 'raw'
    assert data['categories'] == [dict(id=1, name='bear'),
                                  dict(id=2, name='person'),
                                  dict(id=3, name='car')]
    assert [(v['id'], v['name'], v['width'], v['height'], v['length'])
            for v in data['videos']] == [(1, 'bear', W, H, 3),
                                         (2, 'car', W, H, 3)]
    assert data['videos'][1]['file_names'] == [
        'car/00000.jpg', 'car/00001.jpg', 'car/00002.jpg']
    anns = data['annotations']
    assert [(a['id'], a['video_id'], a['category_id'], a['iscrowd'])
            for a in anns] == [(1, 1, 1, 0), (2, 1, 2, 0), (3, 2, 3, 0),
                               (4, 2, 2, 0)]
    maps = davis_id_maps()
    for ann, (video, value) in zip(anns, [('bear', 1), ('bear', 2),
                                          ('car', 1), ('car', 3)]):
        for t, (mask, seg) in enumerate(zip(masks_of(ann),
                                            ann['segmentations'])):
            expected = maps[video][t] == value
            if not expected.any():
                assert mask is None and ann['bboxes'][t] is None and \
                    ann['areas'][t] is None
                continue
            assert isinstance(seg['counts'], str) and seg['size'] == [H, W]
            assert np.array_equal(mask, expected)
            ys, xs = np.nonzero(expected)
            assert ann['bboxes'][t] == [xs.min(), ys.min(),
                                        xs.max() - xs.min() + 1,
                                        ys.max() - ys.min() + 1]
            assert ann['areas'][t] == expected.sum()
    # instance 2 of bear is absent in frame 1
    assert anns[1]['segmentations'][1] is None


def test_youtube_vos_meta_json(tmp_path, capsys):
    """A YouTube-VOS meta.json is a class map too."""
    masks, _ = make_davis(tmp_path, frames=False)
    meta = write_json(tmp_path / 'meta.json', {'videos': {
        'bear': {'objects': {'1': {'category': 'bear', 'frames': ['00000']},
                             '2': {'category': 'person', 'frames': []}}},
        'car': {'objects': {'1': {'category': 'sedan', 'frames': []},
                            '3': {'category': 'person', 'frames': []}}}}})
    out = tmp_path / 'vos.json'
    assert run(to_ytvis, [masks, '--out', out, '--classes', meta],
               capsys)[0] == 0
    data = json.loads(out.read_text())
    assert [c['name'] for c in data['categories']] == ['bear', 'person',
                                                       'sedan']
    assert [a['category_id'] for a in data['annotations']] == [1, 2, 3, 2]


def test_void_is_background(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    out = tmp_path / 'd.json'
    assert run(to_ytvis, [masks, '--out', out], capsys)[0] == 0
    data = json.loads(out.read_text())
    # without --classes: one category 'object'; file names end in .jpg
    assert data['categories'] == [dict(id=1, name='object')]
    assert data['videos'][0]['file_names'][0] == 'bear/00000.jpg'
    assert len(data['annotations']) == 4
    union = np.zeros((H, W), bool)
    for ann in data['annotations'][:2]:  # bear
        union |= masks_of(ann)[0]
    void = davis_id_maps()['bear'][0] == 255
    assert not (union & void).any() and union.sum() > 0
    # --void none: 255 is an instance like any other
    assert run(to_ytvis, [masks, '--out', out, '--void', 'none'],
               capsys)[0] == 0
    anns = json.loads(out.read_text())['annotations']
    assert len(anns) == 6
    assert np.array_equal(masks_of(anns[2])[0], void)


def test_only_void_warns(tmp_path, capsys):
    """Binary 0 / 255 masks (DAVIS 2016) read with the default void."""
    m = np.zeros((H, W), np.uint8)
    m[4:20, 4:20] = 255
    palette_png(tmp_path / 'Ann' / 'blackswan' / '00000.png', m)
    rc, _, err = run(to_ytvis, [tmp_path / 'Ann', '--out',
                                tmp_path / 'o.json'], capsys)
    assert rc == 0
    assert 'warning:' in err and 'blackswan' in err and '--void none' in err
    assert json.loads((tmp_path / 'o.json').read_text())['annotations'] == []
    rc, _, err = run(to_ytvis, [tmp_path / 'Ann', '--out',
                                tmp_path / 'o.json', '--void', 'none'],
                     capsys)
    assert rc == 0 and not err
    assert len(json.loads((tmp_path / 'o.json').read_text())[
        'annotations']) == 1


def test_mots_16_bit(tmp_path, capsys):
    """MOTS: value = class * 1000 + instance, 10000 = ignore."""
    root = tmp_path / 'instances'
    for t in range(2):
        m = np.zeros((H, W), np.uint16)
        m[0:10, 0:10] = 2001        # pedestrian 1
        m[20:30, 0:10] = 1005       # car 5
        if t == 1:
            m[20:30, 20:30] = 2002  # pedestrian 2, second frame only
        m[30:, 30:] = 10000         # ignore region
        gray16_png(root / '0002' / f'{t:06d}.png', m)
        jpg(tmp_path / 'image_02' / '0002' / f'{t:06d}.png')
    out = tmp_path / 'mots.json'
    rc, printed, err = run(to_ytvis, [
        root, '--layout', 'mots', '--frames-root', tmp_path / 'image_02',
        '--out', out], capsys)
    assert rc == 0, err
    data = json.loads(out.read_text())
    validate_vis_json(data, img_root=str(tmp_path / 'image_02'))
    # default class names: KITTI MOTS car, pedestrian; ids = class ids
    assert data['categories'] == [dict(id=1, name='car'),
                                  dict(id=2, name='pedestrian')]
    assert data['videos'][0]['file_names'] == ['0002/000000.png',
                                               '0002/000001.png']
    anns = data['annotations']
    assert [a['category_id'] for a in anns] == [1, 2, 2]  # 1005, 2001, 2002
    assert anns[2]['segmentations'][0] is None
    for ann in anns:
        ignore = np.zeros((H, W), bool)
        ignore[30:, 30:] = True
        assert not (masks_of(ann)[1] & ignore).any()
    # a class id beyond the names names the PNG
    png = root / '0002' / '000001.png'
    m = read_id_png(png)
    m[0, 0] = 3001
    gray16_png(png, m)
    run_error(to_ytvis, [root, '--layout', 'mots', '--class-names', 'car',
                         'pedestrian', '--out', tmp_path / 'x.json'], capsys,
              png, 'class id(s) [3]', outputs=[tmp_path / 'x.json'])


def test_cvat_mots_export(tmp_path, capsys):
    """CVAT "MOTS PNG 1.0": <subset>/instances/*.png + labels.txt and
    <subset>/images/*.jpg; one subset is one video."""
    export = tmp_path / 'export'
    for subset, labels in (('default', 'cat\ndog\n'), ('walk', 'cat\ndog')):
        inst = export / subset / 'instances'
        for t in range(12):  # frame_2 before frame_10: natural order
            m = np.zeros((H, W), np.uint16)
            m[t:t + 5, 0:5] = 1001   # cat, track 1
            m[20:25, 20:25] = 2003   # dog, track 3
            gray16_png(inst / f'frame_{t}.png', m)
            jpg(export / subset / 'images' / f'frame_{t}.jpg')
        (inst / 'labels.txt').write_text(labels)
    out = tmp_path / 'cvat.json'
    rc, _, err = run(to_ytvis, [export, '--layout', 'cvat-mots',
                                '--frames-root', export, '--out', out],
                     capsys)
    assert rc == 0, err
    data = json.loads(out.read_text())
    validate_vis_json(data, img_root=str(export))
    assert data['categories'] == [dict(id=1, name='cat'),
                                  dict(id=2, name='dog')]
    assert [v['name'] for v in data['videos']] == ['default', 'walk']
    names = data['videos'][0]['file_names']
    assert names[:3] == ['default/images/frame_0.jpg',
                         'default/images/frame_1.jpg',
                         'default/images/frame_2.jpg']
    assert names[-1] == 'default/images/frame_11.jpg'
    cat = data['annotations'][0]
    assert cat['category_id'] == 1
    assert cat['bboxes'][10] == [0.0, 10.0, 5.0, 5.0]
    # no labels.txt and no --class-names
    labels = export / 'walk' / 'instances' / 'labels.txt'
    labels.unlink()
    run_error(to_ytvis, [export, '--layout', 'cvat-mots', '--out',
                         tmp_path / 'y.json'], capsys, labels, '--class-names')
    assert run(to_ytvis, [export, '--layout', 'cvat-mots', '--out',
                          tmp_path / 'y.json', '--class-names', 'cat',
                          'dog'], capsys)[0] == 0


def test_natural_order():
    names = ['f10.png', 'f2.png', 'f1.png', 'g.png']
    assert sorted(names, key=natural_key) == ['f1.png', 'f2.png', 'f10.png',
                                              'g.png']


# ----------------------------------------------------- the package's loader
def test_dataset_loads_the_output(tmp_path, capsys):
    from mmvis_pretrain.registry import DATASETS
    masks, frames = make_davis(tmp_path)
    classes = write_json(tmp_path / 'classes.json',
                         {'1': 'bear', '2': 'person', '3': 'person'})
    out = tmp_path / 'davis.json'
    assert run(to_ytvis, [masks, '--out', out, '--frames-root', frames,
                          '--classes', classes], capsys)[0] == 0
    # scoped types: another test may leave mmdet as the default scope, and
    # none may be set at all
    pipeline = [
        dict(type='mmdet.UniformRefFrameSample', num_ref_imgs=1,
             frame_range=1, filter_key_img=True),
        dict(type='mmdet.TransformBroadcaster', share_random_params=True,
             transforms=[dict(type='mmdet.LoadImageFromFile'),
                         dict(type='mmdet.LoadTrackAnnotations',
                              with_mask=True)]),
        dict(type='mmdet.PackTrackInputs')
    ]
    dataset = DATASETS.build(dict(
        type='mmvis_pretrain.VISDataset', ann_file=str(out),
        data_prefix=dict(img_path=str(frames)),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=pipeline))
    assert len(dataset) == 2
    assert dataset.metainfo['classes'] == ('bear', 'person')
    frame_instances = [[len(img['instances']) for img in
                        dataset.get_data_info(i)['images']]
                       for i in range(2)]
    assert frame_instances == [[2, 1, 2], [2, 2, 2]]
    ids = {i['instance_id'] for v in range(2)
           for img in dataset.get_data_info(v)['images']
           for i in img['instances']}
    assert ids == {1, 2, 3, 4}
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (2, 3, H, W)
    for frame in sample['data_samples'].video_data_samples:
        gt = frame.gt_instances
        assert gt.masks.masks.shape == (2, H, W)
        assert sorted(gt.labels.tolist()) == [0, 1]
        assert set(gt.instances_ids.tolist()) == {3, 4}


# ----------------------------------------------------------------- reverse
def ytvis_json() -> dict:
    """Two videos; compressed RLE, uncompressed RLE and polygons; an
    instance absent in a frame; no overlaps."""

    def rle(mask):
        enc = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
        return dict(size=[H, W], counts=enc['counts'].decode())

    def box(y0, y1, x0, x1):
        m = np.zeros((H, W), bool)
        m[y0:y1, x0:x1] = True
        return m

    uncompressed = box(20, 30, 2, 8)
    flat = uncompressed.flatten(order='F').astype(int)
    runs, value, n = [], 0, 0
    for p in flat:
        if p != value:
            runs.append(n)
            value, n = p, 0
        n += 1
    runs.append(n)
    videos = [
        dict(id=7, width=W, height=H, length=3,
             file_names=[f'0a1b2c/{t:05d}.jpg' for t in range(3)]),
        dict(id=9, width=W, height=H, length=2,
             file_names=['ffee/00000.jpg', 'ffee/00005.jpg'])]
    anns = [
        dict(id=11, video_id=7, category_id=3, iscrowd=0,
             segmentations=[rle(box(1, 9, 1, 9)), None,
                            rle(box(2, 10, 2, 10))],
             bboxes=[None] * 3, areas=[None] * 3),
        dict(id=12, video_id=7, category_id=1, iscrowd=0,
             segmentations=[dict(size=[H, W], counts=runs)] * 3,
             bboxes=[None] * 3, areas=[None] * 3),
        dict(id=20, video_id=9, category_id=1, iscrowd=0,
             segmentations=[[[10, 10, 30, 10, 30, 30, 10, 30]], None],
             bboxes=[[10, 10, 20, 20], None], areas=[400, None]),
        dict(id=21, video_id=9, category_id=3, iscrowd=0,
             segmentations=[None, rle(box(0, 5, 30, 40))],
             bboxes=[None, [30, 0, 10, 5]], areas=[None, 50]),
    ]
    return dict(categories=[dict(id=1, name='person'),
                            dict(id=2, name='unused'),
                            dict(id=3, name='dog')],
                videos=videos, annotations=anns)


def tracks(data: dict) -> dict:
    """Per video (by its first file name) the set of tracks: (category
    name, per-frame mask bytes / None), to compare files whose ids differ."""
    cats = {c['id']: c['name'] for c in data['categories']}
    h_w = {v['id']: (v['height'], v['width']) for v in data['videos']}
    out = {v['file_names'][0]: set() for v in data['videos']}
    first = {v['id']: v['file_names'][0] for v in data['videos']}
    for ann in data['annotations']:
        h, w = h_w[ann['video_id']]
        frames = []
        for seg in ann['segmentations']:
            if seg is None:
                frames.append(None)
                continue
            if isinstance(seg, list):
                seg = mask_util.merge(mask_util.frPyObjects(seg, h, w))
            elif isinstance(seg['counts'], list):
                seg = mask_util.frPyObjects(seg, h, w)
            frames.append(np.asarray(mask_util.decode(seg), bool).tobytes())
        out[first[ann['video_id']]].add(
            (cats[ann['category_id']], tuple(frames)))
    return out


def test_round_trip(tmp_path, capsys):
    src = write_json(tmp_path / 'in.json', ytvis_json())
    out_dir = tmp_path / 'pngs'
    rc, printed, err = run(to_pngs, [src, '--out', out_dir], capsys)
    assert rc == 0 and not err, err
    assert '2 videos, 5 frames, 4 instances' in printed
    assert sorted(os.listdir(out_dir)) == ['0a1b2c', 'classes.json', 'ffee']
    assert sorted(os.listdir(out_dir / 'ffee')) == ['00000.png', '00005.png']
    with Image.open(out_dir / 'ffee' / '00005.png') as img:
        assert img.mode == 'P'
    classes = json.loads((out_dir / 'classes.json').read_text())
    assert classes == {'0a1b2c/1': 'dog', '0a1b2c/2': 'person',
                       'ffee/1': 'person', 'ffee/2': 'dog'}
    back = tmp_path / 'back.json'
    rc, _, err = run(to_ytvis, [out_dir, '--out', back, '--classes',
                                out_dir / 'classes.json'], capsys)
    assert rc == 0, err
    data = json.loads(back.read_text())
    original = ytvis_json()
    assert [v['file_names'] for v in data['videos']] == \
        [v['file_names'] for v in original['videos']]
    assert tracks(data) == tracks(original)
    # the unused category is not kept (ids may be renumbered)
    assert {c['name'] for c in data['categories']} == {'dog', 'person'}


def test_round_trip_16_bit(tmp_path, capsys):
    """More than 254 instances: a 16-bit video; 255 (void) is skipped."""
    n = 300
    size = 20
    anns = []
    for i in range(n):
        m = np.zeros((size, size), np.uint8)
        m[i // size, i % size] = 1
        enc = mask_util.encode(np.asfortranarray(m))
        anns.append(dict(id=i + 1, video_id=1, category_id=1 + i % 2,
                         iscrowd=0, bboxes=[None], areas=[None],
                         segmentations=[dict(size=[size, size],
                                             counts=enc['counts'].decode())]))
    data = dict(categories=[dict(id=1, name='a'), dict(id=2, name='b')],
                videos=[dict(id=1, width=size, height=size, length=1,
                             file_names=['many/0.jpg'])],
                annotations=anns)
    src = write_json(tmp_path / 'in.json', data)
    out_dir = tmp_path / 'pngs'
    rc, printed, _ = run(to_pngs, [src, '--out', out_dir], capsys)
    assert rc == 0 and '1 video(s) as 16-bit PNGs' in printed
    ids = cv2.imread(str(out_dir / 'many' / '0.png'), cv2.IMREAD_UNCHANGED)
    assert ids.dtype == np.uint16
    assert 255 not in ids and ids.max() == n + 1
    back = tmp_path / 'back.json'
    assert run(to_ytvis, [out_dir, '--out', back, '--classes',
                          out_dir / 'classes.json'], capsys)[0] == 0
    assert tracks(json.loads(back.read_text())) == tracks(data)


def test_overlap(tmp_path, capsys):
    data = ytvis_json()
    # 12 (person) now covers part of 11 (dog) in every frame of video 7
    big = np.zeros((H, W), np.uint8)
    big[0:30, 0:8] = 1
    enc = mask_util.encode(np.asfortranarray(big))
    data['annotations'][1]['segmentations'] = [
        dict(size=[H, W], counts=enc['counts'].decode())] * 3
    src = write_json(tmp_path / 'overlap.json', data)
    # --on-overlap error: nothing written, the file, video, frame, ids named
    out_dir = tmp_path / 'pngs'
    msg = run_error(to_pngs, [src, '--out', out_dir, '--on-overlap',
                              'error'], capsys, src, outputs=[out_dir])
    assert 'video id=7' in msg and "frame 0 ('0a1b2c/00000.jpg')" in msg
    assert 'instances 11 and 12 overlap' in msg
    # default: the larger id (12) wins, a warning
    rc, printed, err = run(to_pngs, [src, '--out', out_dir], capsys)
    assert rc == 0 and 'overlaps on 2 frame(s)' in printed
    assert 'warning:' in err and 'video id=7' in err and \
        'instances 11 and 12' in err
    ids = read_id_png(out_dir / '0a1b2c' / '00000.png')
    assert (ids[1:9, 1:8] == 2).all() and (ids[1:9, 8] == 1).all()


def test_overlap_hiding_an_instance(tmp_path, capsys):
    data = ytvis_json()
    video9 = data['annotations'][3]  # id 21 covers all of id 20
    video9['segmentations'] = [data['annotations'][2]['segmentations'][0],
                               None]
    video9['bboxes'], video9['areas'] = [None, None], [None, None]
    src = write_json(tmp_path / 'in.json', data)
    rc, _, err = run(to_pngs, [src, '--out', tmp_path / 'o'], capsys)
    assert rc == 0 and 'instance(s) 20 are hidden' in err
    classes = json.loads((tmp_path / 'o' / 'classes.json').read_text())
    assert [k for k in classes if k.startswith('ffee/')] == ['ffee/2']


# ------------------------------------------------------------------ errors
def test_error_png_size_differs_within_video(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    bad = masks / 'car' / '00002.png'
    palette_png(bad, np.zeros((H + 2, W), np.uint8))
    out = tmp_path / 'o.json'
    msg = run_error(to_ytvis, [masks, '--out', out], capsys, bad,
                    outputs=[out])
    assert f'{W} x {H + 2}' in msg and '00000.png' in msg


def test_error_png_size_differs_from_frame(tmp_path, capsys):
    masks, frames = make_davis(tmp_path)
    frame = frames / 'bear' / '00001.jpg'
    jpg(frame, H, W + 4)
    out = tmp_path / 'o.json'
    msg = run_error(to_ytvis, [masks, '--out', out, '--frames-root', frames],
                    capsys, masks / 'bear' / '00001.png', frame,
                    outputs=[out])
    assert f'{W + 4} x {H}' in msg


def test_error_missing_frame(tmp_path, capsys):
    masks, frames = make_davis(tmp_path)
    (frames / 'car' / '00001.jpg').unlink()
    out = tmp_path / 'o.json'
    run_error(to_ytvis, [masks, '--out', out, '--frames-root', frames],
              capsys, masks / 'car' / '00001.png', frames / 'car' / '00001',
              outputs=[out])


@pytest.mark.parametrize('content', [b'not a png', b'\x89PNG\r\n\x1a\n\0\0'])
def test_error_unreadable_png(tmp_path, capsys, content):
    masks, _ = make_davis(tmp_path, frames=False)
    bad = masks / 'bear' / '00001.png'
    bad.write_bytes(content)
    out = tmp_path / 'o.json'
    msg = run_error(to_ytvis, [masks, '--out', out], capsys, bad,
                    outputs=[out])
    assert 'cannot read the PNG' in msg


def test_error_truncated_and_colour_png(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    bad = masks / 'bear' / '00002.png'
    bad.write_bytes(bad.read_bytes()[:60])
    out = tmp_path / 'o.json'
    run_error(to_ytvis, [masks, '--out', out], capsys, bad, outputs=[out])
    cv2.imwrite(str(bad), np.zeros((H, W, 3), np.uint8))
    msg = run_error(to_ytvis, [masks, '--out', out], capsys, bad,
                    outputs=[out])
    assert 'RGB' in msg


def test_error_video_folder_without_pngs(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    empty = masks / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    out = tmp_path / 'o.json'
    msg = run_error(to_ytvis, [masks, '--out', out], capsys, empty,
                    outputs=[out])
    assert 'no PNG masks' in msg
    # a masks folder without video folders
    run_error(to_ytvis, [empty, '--out', out], capsys, empty,
              'no video folders', outputs=[out])


def test_error_class_map_missing_instance(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    classes = write_json(tmp_path / 'classes.json',
                         {'1': 'animal', 'bear/2': 'person'})
    out = tmp_path / 'o.json'
    msg = run_error(to_ytvis, [masks, '--out', out, '--classes', classes],
                    capsys, classes, outputs=[out])
    assert "instance 3 of video 'car'" in msg
    assert str(masks / 'car' / '00000.png') in msg
    # --default-class names the rest
    assert run(to_ytvis, [masks, '--out', out, '--classes', classes,
                          '--default-class', 'thing'], capsys)[0] == 0
    data = json.loads(out.read_text())
    assert [c['name'] for c in data['categories']] == ['animal', 'person',
                                                       'thing']
    assert [a['category_id'] for a in data['annotations']] == [1, 2, 1, 3]


@pytest.mark.parametrize('text,fragment', [
    ('{"1": "a",', 'malformed JSON'),
    ('["a"]', 'a class map is a JSON object'),
    ('{"bear/x": "a"}', "key 'bear/x'"),
    ('{"1": ""}', 'non-empty string'),
])
def test_error_bad_class_map(tmp_path, capsys, text, fragment):
    masks, _ = make_davis(tmp_path, frames=False)
    classes = tmp_path / 'classes.json'
    classes.write_text(text)
    out = tmp_path / 'o.json'
    run_error(to_ytvis, [masks, '--out', out, '--classes', classes], capsys,
              classes, fragment, outputs=[out])


def test_error_malformed_json_reverse(tmp_path, capsys):
    src = tmp_path / 'bad.json'
    src.write_text('{"videos": [')
    out_dir = tmp_path / 'pngs'
    run_error(to_pngs, [src, '--out', out_dir], capsys, src,
              'malformed JSON', outputs=[out_dir])
    # valid JSON, invalid annotations: the loader's message
    data = ytvis_json()
    data['annotations'][0]['video_id'] = 99
    write_json(src, data)
    run_error(to_pngs, [src, '--out', out_dir], capsys, src,
              'unknown video_id=99', outputs=[out_dir])
    run_error(to_pngs, [tmp_path / 'missing.json', '--out', out_dir], capsys,
              tmp_path / 'missing.json', outputs=[out_dir])


def test_error_reverse_out_not_empty(tmp_path, capsys):
    src = write_json(tmp_path / 'in.json', ytvis_json())
    out_dir = tmp_path / 'pngs'
    out_dir.mkdir()
    (out_dir / 'keep.txt').write_text('mine')
    run_error(to_pngs, [src, '--out', out_dir], capsys, out_dir,
              'not empty')
    assert os.listdir(out_dir) == ['keep.txt']
    os.remove(out_dir / 'keep.txt')  # an empty folder is fine
    assert run(to_pngs, [src, '--out', out_dir], capsys)[0] == 0


def test_error_out_not_json_and_layout_options(tmp_path, capsys):
    masks, _ = make_davis(tmp_path, frames=False)
    run_error(to_ytvis, [masks, '--out', tmp_path / 'o.txt'], capsys,
              '--out', 'unsupported extension')
    for argv in (['--layout', 'mots', '--classes', 'c.json'],
                 ['--layout', 'cvat-mots', '--void', 'none'],
                 ['--class-names', 'a']):
        with pytest.raises(SystemExit) as info:
            to_ytvis.main([str(masks), '--out', str(tmp_path / 'o.json'),
                           *argv])
        assert info.value.code == 2
        assert 'only for --layout' in capsys.readouterr().err
    assert not (tmp_path / 'o.json').exists()
