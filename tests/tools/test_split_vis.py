"""Splitting a raw YouTube-VIS / OVIS JSON by video."""
import json
import runpy
from pathlib import Path

import pytest

from mmvis_pretrain.datasets.vis_json import (COCOVID, RAW,
                                              VISAnnotationError,
                                              validate_vis_json)
from mmvis_pretrain.datasets.vis_split import (SplitSizeError,
                                               num_val_videos,
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


# ------------------------------------------------------------------ golden
def test_golden_split_seed_42():
    """Pins the shuffle: a change of it (or of its input order) shows here."""
    train, val = split_vis_json(raw_json(20), num_val=5, seed=42)
    assert ids(val) == [5, 6, 10, 15, 20]
    assert ids(train) == [1, 2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18,
                          19]
    # default val_ratio 0.1 -> 2 videos, the first two of the same shuffle
    _, val = split_vis_json(raw_json(20), seed=42)
    assert ids(val) == [6, 20]


def test_golden_split_non_contiguous_ids(tmp_path, capsys):
    data = raw_json(8)
    for i, video in enumerate(data['videos']):
        video['id'] = 10 * (i + 1)
    for ann in data['annotations']:
        ann['video_id'] *= 10
    src = tmp_path / 'in.json'
    src.write_text(json.dumps(data))
    main = runpy.run_path(str(TOOL))['main']
    main([str(src), '--out-train', str(tmp_path / 't.json'), '--out-val',
          str(tmp_path / 'v.json'), '--num-val', '3'])  # default seed 42
    assert ids(json.loads((tmp_path / 'v.json').read_text())) == [40, 50, 70]


# -------------------------------------------------------- CLI argument errors
def run_cli_error(tmp_path, capsys, *args, out_train='a.json',
                  out_val='b.json', num_videos=20):
    """Run the tool with bad arguments; return argparse's error text."""
    src = tmp_path / 'train.json'
    src.write_text(json.dumps(raw_json(num_videos)))
    main = runpy.run_path(str(TOOL))['main']
    argv = [str(src), '--out-train', str(tmp_path / out_train),
            '--out-val', str(tmp_path / out_val), *args]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2  # argparse's usage error
    err = capsys.readouterr().err
    assert 'usage:' in err and 'Traceback' not in err
    assert json.loads(src.read_text()) == raw_json(num_videos)
    for out in (out_train, out_val):
        assert out == src.name or not (tmp_path / out).exists()
    return err


def test_cli_same_output_paths(tmp_path, capsys):
    err = run_cli_error(tmp_path, capsys, out_train='x.json',
                        out_val='x.json')
    assert '--out-train and --out-val are the same file' in err
    err = run_cli_error(tmp_path, capsys, out_train='x.json',
                        out_val='sub/../x.json')
    assert 'same file' in err


def test_cli_output_is_input(tmp_path, capsys):
    err = run_cli_error(tmp_path, capsys, out_val='train.json')
    assert '--out-val' in err and 'input file' in err


@pytest.mark.parametrize('num_val,fragment', [
    ('-1', '--num-val must be >= 1, got -1'),
    ('0', '--num-val must be >= 1, got 0'),
    ('20', 'num_val must be an int in [1, 19] (the input has 20 videos), '
     'got 20'),
    ('25', 'got 25'),
])
def test_cli_bad_num_val(tmp_path, capsys, num_val, fragment):
    err = run_cli_error(tmp_path, capsys, '--num-val', num_val)
    assert fragment in err


@pytest.mark.parametrize('ratio', ['0', '1', '-0.5', '1.5', 'nan'])
def test_cli_bad_val_ratio(tmp_path, capsys, ratio):
    err = run_cli_error(tmp_path, capsys, '--val-ratio', ratio)
    assert '--val-ratio must be in (0, 1)' in err


def test_cli_single_video_cannot_be_split(tmp_path, capsys):
    err = run_cli_error(tmp_path, capsys, num_videos=1)
    assert 'cannot split 1 video(s)' in err


def test_num_val_videos_errors():
    for kwargs in (dict(num_val=20), dict(num_val=-1), dict(num_val=0),
                   dict(num_val=2.0), dict(val_ratio=0.0),
                   dict(val_ratio=1.0)):
        with pytest.raises(SplitSizeError):
            num_val_videos(20, **kwargs)
    # a ratio never empties a part
    assert num_val_videos(2, val_ratio=0.9) == 1
    assert num_val_videos(3, val_ratio=0.01) == 1


# ------------------------------------------------- CocoVID without video_id
def test_cocovid_image_without_video_id_is_an_error(tmp_path):
    data = dict(categories=[dict(id=1, name='a')],
                videos=[dict(id=1), dict(id=2)],
                images=[dict(id=i, video_id=1 + i % 2, frame_id=0,
                             file_name=f'{i}.jpg', height=8, width=8)
                        for i in range(1, 5)],
                annotations=[])
    del data['images'][2]['video_id']
    del data['images'][3]['video_id']
    assert validate_vis_json(data) == COCOVID  # fine for a dataset ...
    with pytest.raises(VISAnnotationError) as info:
        split_vis_json(data, COCOVID, num_val=1)  # ... but not for a split
    assert "image id=3 ('3.jpg') has no 'video_id'" in str(info.value)
    assert '2 such images' in str(info.value)
    path = tmp_path / 'cocovid.json'
    path.write_text(json.dumps(data))
    with pytest.raises(VISAnnotationError, match='cocovid.json.*image id=3'):
        split_vis_file(str(path), str(tmp_path / 'a.json'),
                       str(tmp_path / 'b.json'), num_val=1)
