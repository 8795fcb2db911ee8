"""Splitting a raw YouTube-VIS / OVIS JSON by video."""
import json
import runpy
from pathlib import Path

import pytest

from mmvis_pretrain.datasets.vis_json import (COCOVID, RAW,
                                              VISAnnotationError,
                                              validate_vis_json)
from mmvis_pretrain.datasets.vis_split import (num_val_videos,
                                               split_vis_file,
                                               split_vis_json)

TOOL = Path(__file__).parents[2] / 'tools' / 'dataset_converters' / \
    'split_vis.py'


def raw_json(num_videos: int = 20) -> dict:
    """``num_videos`` videos of 2 frames, two tracks in every third."""
    videos, anns = [], []
    for vid in range(1, num_videos + 1):
        videos.append(dict(id=vid, width=64, height=48, length=2,
                           file_names=[f'v{vid}/0.jpg', f'v{vid}/1.jpg']))
        for _ in range(2 if vid % 3 == 0 else 1):
            anns.append(dict(id=len(anns) + 1, video_id=vid, category_id=1,
                             iscrowd=0, bboxes=[[0, 0, 4, 4], None],
                             segmentations=[[[0, 0, 4, 0, 4, 4]], None],
                             areas=[8.0, None]))
    return dict(info={'year': 2019}, licenses=[{'id': 1}],
                categories=[dict(id=1, name='person')], videos=videos,
                annotations=anns)


def ids(part: dict) -> list:
    """Video ids of a part."""
    return [v['id'] for v in part['videos']]


def test_same_seed_same_split():
    a = split_vis_json(raw_json(), num_val=5, seed=3)
    b = split_vis_json(raw_json(), num_val=5, seed=3)
    assert a == b


def test_different_seed_differs():
    _, val1 = split_vis_json(raw_json(), num_val=5, seed=1)
    _, val2 = split_vis_json(raw_json(), num_val=5, seed=2)
    assert set(ids(val1)) != set(ids(val2))


def test_partition_and_annotations_follow_video():
    data = raw_json()
    train, val = split_vis_json(data, num_val=6, seed=42)
    assert len(ids(val)) == 6
    assert not set(ids(train)) & set(ids(val))
    assert sorted(ids(train) + ids(val)) == ids(data)
    for part in (train, val):
        assert {a['video_id'] for a in part['annotations']} <= set(ids(part))
        assert part['categories'] == data['categories']
        assert part['info'] == data['info']
        assert part['licenses'] == data['licenses']
        validate_vis_json(part)
    all_anns = sorted(train['annotations'] + val['annotations'],
                      key=lambda a: a['id'])
    assert all_anns == data['annotations']


def test_val_ratio_and_bounds():
    assert num_val_videos(20, val_ratio=0.25) == 5
    assert num_val_videos(5, val_ratio=0.01) == 1
    assert num_val_videos(20) == 2
    with pytest.raises(ValueError):
        num_val_videos(20, num_val=21)
    with pytest.raises(ValueError):
        num_val_videos(20, num_val=2, val_ratio=0.1)


def test_null_annotations_stay_null():
    data = raw_json(4)
    data['annotations'] = None
    train, val = split_vis_json(data, num_val=1)
    assert train['annotations'] is None and val['annotations'] is None


def test_cocovid_split():
    data = dict(categories=[dict(id=1, name='a')],
                videos=[dict(id=1), dict(id=2)],
                images=[dict(id=i, video_id=1 + i % 2, frame_id=0,
                             file_name=f'{i}.jpg', height=8, width=8)
                        for i in range(1, 5)],
                annotations=[dict(id=1, image_id=3, category_id=1,
                                  bbox=[0, 0, 2, 2], instance_id=1)])
    train, val = split_vis_json(data, COCOVID, num_val=1, seed=0)
    for part in (train, val):
        vids = set(ids(part))
        assert {i['video_id'] for i in part['images']} == vids
        img_ids = {i['id'] for i in part['images']}
        assert {a['image_id'] for a in part['annotations']} <= img_ids
    assert len(train['annotations']) + len(val['annotations']) == 1


def test_split_file_rejects_invalid(tmp_path):
    data = raw_json(3)
    data['annotations'][0]['video_id'] = 77
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    with pytest.raises(VISAnnotationError, match='bad.json'):
        split_vis_file(str(path), str(tmp_path / 'a.json'),
                       str(tmp_path / 'b.json'), num_val=1)


def test_cli(tmp_path, capsys):
    src = tmp_path / 'train.json'
    src.write_text(json.dumps(raw_json()))
    out_train, out_val = tmp_path / 'out' / 'a.json', tmp_path / 'b.json'
    main = runpy.run_path(str(TOOL))['main']
    main([str(src), '--out-train', str(out_train), '--out-val',
          str(out_val), '--num-val', '4', '--seed', '7'])
    printed = capsys.readouterr().out
    assert '4 videos' in printed and '16 videos' in printed
    train = json.loads(out_train.read_text())
    val = json.loads(out_val.read_text())
    assert (train, val) == split_vis_json(raw_json(), RAW, num_val=4, seed=7)
