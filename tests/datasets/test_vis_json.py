"""Reading and validation of raw YouTube-VIS / OVIS and CocoVID JSON."""
import copy
import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmvis_pretrain.datasets.vis_json import (COCOVID, RAW, VISAnnotationError,
                                              detect_format, load_vis_json,
                                              read_json, validate_vis_json,
                                              video_frames)

H, W = 48, 64


def raw_video(vid: int, name: str, length: int) -> dict:
    """A raw YouTube-VIS video entry."""
    return dict(id=vid, width=W, height=H, length=length,
                file_names=[f'{name}/{i:05d}.jpg' for i in range(length)])


def raw_track(aid: int, vid: int, cat: int, length: int,
              absent=()) -> dict:
    """A raw instance track with a polygon per frame (None where absent)."""
    box = [4.0, 6.0, 20.0, 10.0]
    poly = [[4.0, 6.0, 24.0, 6.0, 24.0, 16.0, 4.0, 16.0]]
    frames = [f not in absent for f in range(length)]
    return dict(id=aid, video_id=vid, category_id=cat, iscrowd=0,
                height=H, width=W, length=length,
                bboxes=[box if p else None for p in frames],
                segmentations=[poly if p else None for p in frames],
                areas=[200.0 if p else None for p in frames])


def raw_json() -> dict:
    """Two videos, two categories, three tracks."""
    return dict(
        info={'description': 'tiny'},
        licenses=[],
        categories=[dict(id=1, name='person'), dict(id=2, name='dog')],
        videos=[raw_video(1, 'vid_a', 3), raw_video(2, 'vid_b', 2)],
        annotations=[
            raw_track(1, 1, 1, 3, absent=(1, )),
            raw_track(2, 1, 2, 3),
            raw_track(3, 2, 1, 2)
        ])


def dump(tmp_path, data, name='ann.json') -> str:
    """Write ``data`` as JSON under ``tmp_path``."""
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def write_frames(root, data) -> None:
    """Write a black JPEG for every frame of a raw dict."""
    for video in data['videos']:
        for name in video['file_names']:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.zeros((H, W, 3), np.uint8))


def expect_error(tmp_path, data, *fragments, img_root=None):
    """Load ``data`` from a file and check the error names everything."""
    path = dump(tmp_path, data)
    with pytest.raises(VISAnnotationError) as info:
        load_vis_json(path, img_root=img_root)
    msg = str(info.value)
    assert path in msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_error_is_value_error():
    assert issubclass(VISAnnotationError, ValueError)


def test_valid_raw_loads(tmp_path):
    data, fmt = load_vis_json(dump(tmp_path, raw_json()))
    assert fmt == RAW
    assert len(data['videos']) == 2


def test_malformed_json_names_file(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"videos": [1, 2,')
    with pytest.raises(VISAnnotationError, match='broken.json'):
        read_json(str(path))


def test_top_level_must_be_object(tmp_path):
    expect_error(tmp_path, [1, 2], 'JSON object')


def test_missing_videos_key(tmp_path):
    data = raw_json()
    del data['videos']
    expect_error(tmp_path, data, "'videos'")


def test_missing_categories_key(tmp_path):
    data = raw_json()
    del data['categories']
    expect_error(tmp_path, data, 'categories')


def test_length_mismatch_names_video(tmp_path):
    data = raw_json()
    data['videos'][1]['length'] = 5
    expect_error(tmp_path, data, 'video id=2', 'vid_b/00000.jpg', "'length'")


@pytest.mark.parametrize('key', ['segmentations', 'bboxes', 'areas'])
def test_track_list_length_mismatch(tmp_path, key):
    data = raw_json()
    data['annotations'][2][key].append(None)
    expect_error(tmp_path, data, 'video id=2', 'vid_b/00000.jpg', key,
                 'annotation id=3')


def test_unknown_video_id(tmp_path):
    data = raw_json()
    data['annotations'][0]['video_id'] = 99
    expect_error(tmp_path, data, 'video_id=99', 'annotation id=1')


def test_unknown_category_names_video(tmp_path):
    data = raw_json()
    data['annotations'][1]['category_id'] = 7
    expect_error(tmp_path, data, 'category_id=7', 'video id=1',
                 'vid_a/00000.jpg')


def test_duplicate_video_ids(tmp_path):
    data = raw_json()
    data['videos'][1]['id'] = 1
    expect_error(tmp_path, data, 'duplicate video id', 'vid_b/00000.jpg',
                 'vid_a/00000.jpg')


def test_duplicate_annotation_ids(tmp_path):
    data = raw_json()
    data['annotations'][1]['id'] = 1
    expect_error(tmp_path, data, 'duplicate annotation ids')


def test_annotation_id_zero_rejected(tmp_path):
    data = raw_json()
    data['annotations'][0]['id'] = 0
    expect_error(tmp_path, data, 'annotation id=0', '>= 1')


def test_missing_frame_file_names_path_and_video(tmp_path):
    data = raw_json()
    root = tmp_path / 'frames'
    write_frames(root, data)
    (root / 'vid_b' / '00001.jpg').unlink()
    msg = expect_error(tmp_path, data, 'video id=2', img_root=str(root))
    assert str(root / 'vid_b' / '00001.jpg') in msg


def test_frames_present_pass(tmp_path):
    data = raw_json()
    write_frames(tmp_path / 'frames', data)
    load_vis_json(dump(tmp_path, data), img_root=str(tmp_path / 'frames'))


@pytest.mark.parametrize('null', ['none', 'missing'])
def test_no_annotations_is_valid(tmp_path, null):
    data = raw_json()
    if null == 'none':
        data['annotations'] = None
    else:
        del data['annotations']
    _, fmt = load_vis_json(dump(tmp_path, data))
    assert fmt == RAW
    frames = video_frames(data, fmt)
    assert all(not f['anns'] for v in frames for f in v['frames'])


def test_video_frames_raw():
    data = raw_json()
    data['annotations'][0]['occlusion'] = [0, None, 2]
    videos = video_frames(data, RAW)
    assert [v['video_id'] for v in videos] == [1, 2]
    frames = [f for v in videos for f in v['frames']]
    assert [f['img_id'] for f in frames] == [1, 2, 3, 4, 5]
    assert [f['frame_id'] for f in frames] == [0, 1, 2, 0, 1]
    # track 1 is absent in frame 1
    assert [a['instance_id'] for a in frames[1]['anns']] == [2]
    assert frames[2]['anns'][0]['extra'] == {'occlusion': 2}
    assert frames[0]['anns'][0]['bbox'] == [4.0, 6.0, 20.0, 10.0]


def to_cocovid(data: dict) -> dict:
    """Convert a raw dict like mmdet's youtubevis2coco (raw ids kept)."""
    images, anns, img_id = [], [], 1
    for video in data['videos']:
        for frame_id, name in enumerate(video['file_names']):
            images.append(dict(id=img_id, file_name=name, height=H, width=W,
                               frame_id=frame_id, video_id=video['id']))
            for t in data.get('annotations') or []:
                if t['video_id'] != video['id'] or \
                        t['bboxes'][frame_id] is None:
                    continue
                anns.append(dict(
                    id=len(anns) + 1, video_id=video['id'], image_id=img_id,
                    category_id=t['category_id'], instance_id=t['id'],
                    bbox=t['bboxes'][frame_id],
                    segmentation=t['segmentations'][frame_id],
                    area=t['areas'][frame_id], iscrowd=t['iscrowd']))
            img_id += 1
    videos = [dict(id=v['id'], name=v['file_names'][0].split('/')[0],
                   width=W, height=H) for v in data['videos']]
    return dict(categories=copy.deepcopy(data['categories']), videos=videos,
                images=images, annotations=anns)


def test_cocovid_detected_and_valid(tmp_path):
    data = to_cocovid(raw_json())
    assert detect_format(data) == COCOVID
    assert validate_vis_json(data, 'x.json') == COCOVID
    videos = video_frames(data, COCOVID)
    assert [len(v['frames']) for v in videos] == [3, 2]
    assert videos[0]['frames'][1]['anns'][0]['instance_id'] == 2


def test_cocovid_errors(tmp_path):
    data = to_cocovid(raw_json())
    data['annotations'][0]['image_id'] = 999
    expect_error(tmp_path, data, 'image_id=999')
    data = to_cocovid(raw_json())
    data['annotations'][-1]['category_id'] = 9
    expect_error(tmp_path, data, 'category_id=9', 'video id=2', "'vid_b'")
    data = to_cocovid(raw_json())
    data['images'][0]['video_id'] = 42
    expect_error(tmp_path, data, 'video_id=42')


def test_cocovid_missing_frame(tmp_path):
    data = to_cocovid(raw_json())
    write_frames(tmp_path / 'frames', raw_json())
    (tmp_path / 'frames' / 'vid_a' / '00002.jpg').unlink()
    expect_error(tmp_path, data, 'vid_a/00002.jpg', 'video id=1',
                 img_root=str(tmp_path / 'frames'))


# ------------------------------------------------------ boxes, names, lengths
@pytest.mark.parametrize('bbox', [[4.0, 6.0, 20.0], [4.0, 6.0, 20.0, '10'],
                                  [4.0, 6.0, 20.0, True], 7, {}])
def test_raw_bbox_not_four_numbers(tmp_path, bbox):
    data = raw_json()
    data['annotations'][2]['bboxes'][1] = bbox
    expect_error(tmp_path, data, 'video id=2', 'vid_b/00000.jpg',
                 'annotation id=3', "'bboxes'[1]", '4 numbers')


def test_cocovid_bbox_not_four_numbers(tmp_path):
    data = to_cocovid(raw_json())
    data['annotations'][-1]['bbox'] = [4.0, 6.0, 20.0]
    expect_error(tmp_path, data, 'video id=2', "'vid_b'", "'bbox'",
                 'vid_b/00001.jpg', '4 numbers')
    data['annotations'][-1]['bbox'] = [4.0, 6.0, 20.0, None]
    expect_error(tmp_path, data, 'video id=2', '4 numbers')


@pytest.mark.parametrize('name', [5, None, ['a.jpg'], ''])
def test_file_names_must_be_strings(tmp_path, name):
    data = raw_json()
    data['videos'][1]['file_names'][1] = name
    expect_error(tmp_path, data, 'video id=2', "'file_names'[1]",
                 'non-empty string', repr(name))


def test_cocovid_file_name_must_be_string(tmp_path):
    data = to_cocovid(raw_json())
    data['images'][3]['file_name'] = 12
    expect_error(tmp_path, data, 'image id=4', "'file_name'", 'video id=2')


@pytest.mark.parametrize('length', ['3', 3.0, None, True])
def test_length_must_be_int(tmp_path, length):
    data = raw_json()
    data['videos'][0]['length'] = length
    msg = expect_error(tmp_path, data, 'video id=1', "'length' must be an "
                       f'int, got {length!r}')
    assert 'but there are' not in msg


def test_length_mismatch_uses_repr(tmp_path):
    data = raw_json()
    data['videos'][0]['length'] = 4
    expect_error(tmp_path, data, "'length' is 4 but there are 3 'file_names'")


# ------------------------------------------------- boxes derived from masks
def _rle(compressed: bool) -> dict:
    """RLE of the box ``[4, 6, 20, 10]`` in an (H, W) frame."""
    mask = np.zeros((H, W), np.uint8)
    mask[6:16, 4:24] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    if compressed:
        return dict(size=rle['size'], counts=rle['counts'].decode())
    flat = mask.flatten(order='F')
    edges = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return dict(size=[H, W], counts=counts)


@pytest.mark.parametrize('seg', ['poly', 'rle', 'crle'])
@pytest.mark.parametrize('area', [None, 150.0])
def test_null_bbox_derived_from_segmentation(tmp_path, seg, area):
    data = raw_json()
    track = data['annotations'][1]
    if seg != 'poly':
        track['segmentations'][2] = _rle(seg == 'crle')
    track['bboxes'][2] = None
    track['areas'][2] = area
    data, fmt = load_vis_json(dump(tmp_path, data))
    frames = video_frames(data, fmt)[0]['frames']
    (ann, ) = [a for a in frames[2]['anns'] if a['instance_id'] == 2]
    assert ann['bbox'] == [4.0, 6.0, 20.0, 10.0]
    assert ann['area'] == (200.0 if area is None else area)
    assert ann['segmentation'] == track['segmentations'][2]


@pytest.mark.parametrize('seg', [[[1.0, 2.0, 3.0, 4.0]], [], 'abc',
                                 dict(counts=[1, 2]),
                                 dict(size=[H, W], counts=7)])
def test_null_bbox_with_bad_segmentation(tmp_path, seg):
    data = raw_json()
    data['annotations'][0]['bboxes'][2] = None
    data['annotations'][0]['segmentations'][2] = seg
    expect_error(tmp_path, data, 'video id=1', 'annotation id=1',
                 "'bboxes'[2] is null")
