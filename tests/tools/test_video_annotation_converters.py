"""CVAT for video / labelme / CocoVID -> raw YouTube-VIS 2019 converters.

Every input is made here (tiny XML / JSON strings, frames of a few pixels);
every output is loaded by the package's dataset (``mmvis_pretrain.
VISDataset`` through the registry, scoped: another test leaks ``mmdet`` as
the default scope).
"""
import base64
import io
import json
import runpy
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_util
import pytest
from PIL import Image

from mmvis_pretrain.datasets.converters.cvat_video import cvat_rle_to_mask
from mmvis_pretrain.datasets.vis_json import validate_vis_json
from mmvis_pretrain.registry import DATASETS

TOOLS = Path(__file__).parents[2] / 'tools' / 'dataset_converters'
H, W = 6, 8  # frame height, width


@pytest.fixture(scope='module', autouse=True)
def _logger():
    """A current mmengine logger made outside ``capsys``: the datasets log
    their counts to it, and one made during a test would keep writing to
    that test's closed capture stream."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance('test_video_annotation_converters')


def tool_main(name: str):
    """The ``main`` of a converter script."""
    return runpy.run_path(str(TOOLS / name))['main']


def run(name: str, argv, capsys):
    """Run a tool; returns ``(exit status, stdout, stderr)``."""
    code = tool_main(name)([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_error(name: str, argv, capsys, out_json: Path) -> str:
    """Run a tool on bad input: exit 1, one ``error:`` line, no output."""
    code, _, err = run(name, [*argv, '--out', out_json], capsys)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert 'Traceback' not in err
    assert not out_json.exists()
    assert not [p for p in out_json.parent.iterdir()
                if p.name.startswith(f'.{out_json.stem}.')]
    return lines[0]


def decode(seg: dict) -> np.ndarray:
    """``(H, W)`` bool of a compressed RLE."""
    assert isinstance(seg['counts'], str)
    return mask_util.decode(seg).astype(bool)


def build_dataset(ann_file: Path, img_root: Path, check_files: bool = True):
    """The package's generic dataset over ``ann_file`` (test mode)."""
    return DATASETS.build(
        dict(type='mmvis_pretrain.VISDataset', ann_file=str(ann_file),
             data_prefix=dict(img_path=str(img_root)), test_mode=True,
             check_files=check_files, pipeline=[]))


def dataset_counts(ds) -> tuple:
    """``(videos, frames, frame-instances, distinct instance ids)``."""
    frames = [f for i in range(len(ds)) for f in ds.get_data_info(i)['images']]
    insts = [inst for f in frames for inst in f['instances']]
    return (len(ds), len(frames), len(insts),
            len({inst['instance_id'] for inst in insts}))


def write_frames(folder: Path, names, size=(H, W)):
    """Black PNG frames."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(folder / name)


# ==========================================================================
# CVAT for video 1.1
# ==========================================================================
CVAT_TOOL = 'cvat_video_to_ytvis.py'


def cvat_xml(tracks: str, size: int = 3, extra_meta: str = '',
             original_size: bool = True, labels=('person', 'car'),
             source: str = 'clip.mp4') -> str:
    """A CVAT for video 1.1 export of a ``size``-frame ``W x H`` video."""
    label_xml = ''.join(f'<label><name>{n}</name><type>any</type>'
                        '<attributes></attributes></label>' for n in labels)
    orig = (f'<original_size><width>{W}</width><height>{H}</height>'
            '</original_size>') if original_size else ''
    src = f'<source>{source}</source>' if source else ''
    return f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id><name>clip task</name><size>{size}</size>
      <mode>interpolation</mode><overlap>5</overlap>
      {extra_meta}
      <labels>{label_xml}</labels>
      {orig}
      {src}
    </task>
    <dumped>2024-01-01</dumped>
  </meta>
  {tracks}
</annotations>
"""


# car mask: the 3 x 2 box at left=4, top=1, rows "011", "110" (row-major)
CAR_RLE = '1, 4, 1'   # background 1, foreground 4, background 1
CAR_MASK = np.zeros((H, W), bool)
CAR_MASK[1, 5:7] = True
CAR_MASK[2, 4:6] = True

TRACKS = """
  <track id="0" label="person" source="manual">
    <polygon frame="0" keyframe="1" outside="0" occluded="0"
             points="1.00,1.00;4.00,1.00;4.00,4.00;1.00,4.00" z_order="0">
      <attribute name="pose">standing</attribute>
    </polygon>
    <polygon frame="1" keyframe="0" outside="0" occluded="0"
             points="2.00,1.00;5.00,1.00;5.00,4.00;2.00,4.00" z_order="0"/>
    <polygon frame="2" keyframe="1" outside="1" occluded="0"
             points="2.00,1.00;5.00,1.00;5.00,4.00;2.00,4.00" z_order="0"/>
  </track>
  <track id="1" label="car" source="manual">
    <mask frame="0" keyframe="1" outside="0" occluded="0" rle="{rle}"
          left="4" top="1" width="3" height="2" z_order="0"/>
    <mask frame="2" keyframe="1" outside="0" occluded="1" rle="{rle}"
          left="4" top="1" width="3" height="2" z_order="0"/>
  </track>
  <track id="2" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1"
         xbr="3" ybr="3" z_order="0"/>
  </track>
""".replace('{rle}', CAR_RLE)


def polygon_mask(poly) -> np.ndarray:
    rle = mask_util.frPyObjects([poly], H, W)[0]
    return mask_util.decode(rle).astype(bool)


def test_cvat_rle_is_row_major_background_first():
    """The example mask of CVAT's XML format doc (13 x 15 box)."""
    rle = ('3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, '
           '12, 2, 11, 3, 9, 5, 7, 7, 5, 3')
    mask = cvat_rle_to_mask(rle, 2, 1, 13, 15, 20, 16, 'doc')
    box = mask[1:16, 2:15].astype(int)
    assert mask.sum() == box.sum() == 195 - (3 + 7 + 5 + 3 + 2 + 2 + 1 + 1
                                             + 1 + 1 + 2 + 3 + 5 + 7 + 3)
    assert box[0].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert box[1].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert box[7].all() and box[8].all()
    assert box[14].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
    # counts that stop short leave the rest of the box background
    short = cvat_rle_to_mask('0, 2', 0, 0, 3, 2, 2, 3, 'x')
    assert short.astype(int).tolist() == [[1, 1, 0], [0, 0, 0]]


def test_cvat_tracks_polygons_masks_outside(tmp_path, capsys):
    xml = tmp_path / 'task.xml'
    xml.write_text(cvat_xml(TRACKS))
    out = tmp_path / 'ann' / 'train.json'
    code, stdout, err = run(CVAT_TOOL, [xml, '--out', out], capsys)
    assert code == 0, err
    assert 'skipped 1 <box>' in err and 'task.xml' in err
    assert '1 videos, 3 frames, 2 tracks, 4 frame masks' in stdout
    data = json.loads(out.read_text())
    assert validate_vis_json(data, str(out)) == 'raw'
    video, = data['videos']
    assert video == dict(id=1, width=W, height=H, length=3, file_names=[
        'clip/frame_000000.png', 'clip/frame_000001.png',
        'clip/frame_000002.png'])
    assert data['categories'] == [dict(id=1, name='person'),
                                  dict(id=2, name='car')]
    person, car = data['annotations']
    assert (person['id'], person['category_id'], person['iscrowd']) == \
        (1, 1, 0)
    assert (car['id'], car['category_id']) == (2, 2)
    # outside="1" on frame 2: absent
    assert person['segmentations'][2] is None
    assert person['bboxes'][2] is None and person['areas'][2] is None
    # the interpolated (keyframe="0") frame is converted as exported
    np.testing.assert_array_equal(decode(person['segmentations'][0]),
                                  polygon_mask([1, 1, 4, 1, 4, 4, 1, 4]))
    np.testing.assert_array_equal(decode(person['segmentations'][1]),
                                  polygon_mask([2, 1, 5, 1, 5, 4, 2, 4]))
    # no element on frame 1: absent
    assert car['segmentations'][1] is None
    for frame in (0, 2):
        np.testing.assert_array_equal(decode(car['segmentations'][frame]),
                                      CAR_MASK)
        assert car['bboxes'][frame] == [4.0, 1.0, 3.0, 2.0]
        assert car['areas'][frame] == 4.0
    seg = person['segmentations'][0]
    assert person['bboxes'][0] == list(mask_util.toBbox(seg))
    assert person['areas'][0] == float(mask_util.area(seg))
    ds = build_dataset(out, tmp_path / 'frames', check_files=False)
    assert dataset_counts(ds) == (1, 3, 4, 2)
    assert ds.metainfo['classes'] == ('person', 'car')


def test_cvat_keyframes_only(tmp_path, capsys):
    xml = tmp_path / 'task.xml'
    xml.write_text(cvat_xml(TRACKS))
    out = tmp_path / 'k.json'
    code, _, err = run(CVAT_TOOL, [xml, '--out', out, '--keyframes-only'],
                       capsys)
    assert code == 0, err
    person = json.loads(out.read_text())['annotations'][0]
    assert person['segmentations'][0] is not None
    assert person['segmentations'][1:] == [None, None]


def test_cvat_frames_dir_and_size_from_frames(tmp_path, capsys):
    """No <original_size> (an image task): the size of the first frame."""
    frames = tmp_path / 'JPEGImages' / 'walk'
    write_frames(frames, ['b.png', 'a.png', 'c.png'])
    (frames / 'notes.txt').write_text('not a frame')
    xml = tmp_path / 'walk.xml'
    xml.write_text(cvat_xml(TRACKS, original_size=False, source=''))
    out = tmp_path / 'walk.json'
    code, _, err = run(CVAT_TOOL, [xml, '--out', out, '--frames-dir',
                                   frames], capsys)
    assert code == 0, err
    video, = json.loads(out.read_text())['videos']
    assert video['file_names'] == ['walk/a.png', 'walk/b.png', 'walk/c.png']
    assert (video['height'], video['width']) == (H, W)
    ds = build_dataset(out, tmp_path / 'JPEGImages')  # frame files checked
    assert dataset_counts(ds) == (1, 3, 4, 2)


def test_cvat_two_videos_start_frame_and_step(tmp_path, capsys):
    """Frame numbers start_frame + i * step; one XML per video."""
    stepped = """
  <track id="0" label="car" source="manual">
    <polygon frame="12" keyframe="1" outside="0" occluded="0"
             points="0,0;3,0;3,3" z_order="0"/>
  </track>"""
    a, b = tmp_path / 'a.xml', tmp_path / 'b.xml'
    a.write_text(cvat_xml(TRACKS, source='first.mp4'))
    b.write_text(cvat_xml(
        stepped, extra_meta='<start_frame>10</start_frame><stop_frame>15'
        '</stop_frame><frame_filter>step=2</frame_filter>',
        labels=('car', 'dog'), source='second.avi'))
    out = tmp_path / 'two.json'
    code, _, err = run(CVAT_TOOL, [a, b, '--out', out], capsys)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert [v['id'] for v in data['videos']] == [1, 2]
    assert data['videos'][1]['file_names'] == [
        'second/frame_000010.png', 'second/frame_000012.png',
        'second/frame_000014.png']
    assert [c['name'] for c in data['categories']] == ['person', 'car',
                                                      'dog']
    last = data['annotations'][-1]
    assert (last['id'], last['video_id'], last['category_id']) == (3, 2, 2)
    assert [s is not None for s in last['segmentations']] == [False, True,
                                                             False]
    ds = build_dataset(out, tmp_path, check_files=False)
    assert dataset_counts(ds) == (2, 6, 5, 3)
    # the same frame names twice (same <source>) are refused
    b.write_text(cvat_xml('', source='first.mp4'))
    msg = run_error(CVAT_TOOL, [a, b], capsys, tmp_path / 'dup.json')
    assert 'b.xml' in msg and 'a.xml' in msg and '--frames-dir' in msg


def test_cvat_shape_outside_the_frame_is_null(tmp_path, capsys):
    xml = tmp_path / 'task.xml'
    xml.write_text(cvat_xml(
        '<track id="0" label="car"><polygon frame="1" keyframe="1" '
        'outside="0" points="20,20;30,20;30,30"/></track>'))
    out = tmp_path / 'o.json'
    code, stdout, err = run(CVAT_TOOL, [xml, '--out', out], capsys)
    assert code == 0
    assert '1 <polygon> / <mask> shapes cover no pixel of the frame' in err
    assert '0 tracks' in stdout  # a track without any mask is dropped
    assert json.loads(out.read_text())['annotations'] == []


def test_cvat_classes_fix_ids(tmp_path, capsys):
    xml = tmp_path / 'task.xml'
    xml.write_text(cvat_xml(TRACKS))
    out = tmp_path / 'c.json'
    code, _, err = run(CVAT_TOOL, [xml, '--out', out, '--classes',
                                   'car,truck,person'], capsys)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert [c['name'] for c in data['categories']] == ['car', 'truck',
                                                      'person']
    assert [a['category_id'] for a in data['annotations']] == [3, 1]
    msg = run_error(CVAT_TOOL, [xml, '--classes', 'car'], capsys,
                    tmp_path / 'd.json')
    assert "task.xml, track id='0'" in msg
    assert "label 'person' is not one of --classes (car)" in msg


def mask_track(rle='1, 3, 2', left=4, top=1, width=3, height=2, frame=1):
    return (f'<track id="5" label="car"><mask frame="{frame}" keyframe="1" '
            f'outside="0" occluded="0" rle="{rle}" left="{left}" '
            f'top="{top}" width="{width}" height="{height}"/></track>')


@pytest.mark.parametrize('xml_text,fragments', [
    ('<annotations><meta><task><size>3', ['malformed XML']),
    (cvat_xml(mask_track(rle='1, 3, 9')),
     ["track id='5', frame 1, <mask>",
      'rle counts cover 13 pixels, the mask box has 3 x 2 = 6']),
    (cvat_xml(mask_track(left=7)),
     ["track id='5', frame 1, <mask>", 'mask box left=7 top=1 width=3 '
      'height=2 leaves the 8 x 6 (width x height) frame']),
    (cvat_xml(mask_track(rle='1, x')), ['rle is not comma-separated']),
    (cvat_xml('<track id="3" label="person"><polygon frame="0" '
              'keyframe="1" outside="0" points="1,1;2,2"/></track>'),
     ["track id='3', frame 0, <polygon>", 'a polygon needs at least 3 '
      'points']),
    (cvat_xml(mask_track(frame=3)),
     ["track id='5', frame 3, <mask>", 'frame 3 is not a frame of the '
      'task (3 frames from 0 in steps of 1)']),
    (cvat_xml('<track id="4" label="car">'
              + mask_track()[len('<track id="5" label="car">'):-8]
              + mask_track()[len('<track id="5" label="car">'):-8]
              + '</track>'),
     ["track id='4', frame 1, <mask>", 'already has a <mask> on this '
      'frame']),
    (cvat_xml('', original_size=False),
     ['no <original_size>', 'give --frames-dir']),
    ('<annotations><meta><project><name>p</name></project></meta>'
     '</annotations>', ['a project export', 'export each task']),
    (cvat_xml('<image id="0" name="a.jpg" width="8" height="6"/>'),
     ['"CVAT for images" export']),
    ('<annotations><meta><task><size>x</size></task></meta></annotations>',
     ['<size> must be an integer']),
    ('<annotations><meta><task><size>2</size><frame_filter>every 2'
     '</frame_filter></task></meta></annotations>',
     ["<frame_filter> 'every 2' is not \"step=N\""]),
    ('<annotations><track id="0" label="a"/></annotations>',
     ['<track> before <meta>']),
    ('<root/>', ['the root element is <root>']),
])
def test_cvat_bad_input_names_the_file(tmp_path, capsys, xml_text,
                                       fragments):
    xml = tmp_path / 'bad_task.xml'
    xml.write_text(xml_text)
    msg = run_error(CVAT_TOOL, [xml], capsys, tmp_path / 'out.json')
    assert f'error: {xml}' in msg
    for fragment in fragments:
        assert fragment in msg


def test_cvat_frames_dir_count_mismatch(tmp_path, capsys):
    frames = tmp_path / 'clip'
    write_frames(frames, ['0.png', '1.png'])
    xml = tmp_path / 'task.xml'
    xml.write_text(cvat_xml(TRACKS))
    msg = run_error(CVAT_TOOL, [xml, '--frames-dir', frames], capsys,
                    tmp_path / 'out.json')
    assert f'{xml}: the task has 3 frames but --frames-dir {frames} has 2 '\
        'image files' in msg
    msg = run_error(CVAT_TOOL, [xml, xml, '--frames-dir', frames], capsys,
                    tmp_path / 'out.json')
    assert '--frames-dir: 1 given for 2 XML files' in msg
    msg = run_error(CVAT_TOOL, [tmp_path / 'missing.xml'], capsys,
                    tmp_path / 'out.json')
    assert 'missing.xml: cannot read' in msg


def test_cvat_failed_run_keeps_earlier_output(tmp_path, capsys):
    out = tmp_path / 'keep.json'
    out.write_text('{"earlier": 1}')
    bad = tmp_path / 'bad.xml'
    bad.write_text(cvat_xml(mask_track(rle='1, 3, 9')))
    code, _, err = run(CVAT_TOOL, [bad, '--out', out], capsys)
    assert code == 1 and 'bad.xml' in err
    assert out.read_text() == '{"earlier": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.xml',
                                                         'keep.json']


# ==========================================================================
# labelme
# ==========================================================================
LABELME_TOOL = 'labelme_to_ytvis.py'


def poly(label, points, group_id=1, shape_type='polygon', **extra):
    return dict(label=label, points=points, group_id=group_id,
                shape_type=shape_type, flags={}, **extra)


def png_b64(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode()


def write_labelme(folder: Path, frames, size=(H, W), images=True):
    """One labelme JSON (and PNG) per frame: ``frames`` = shape lists."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, shapes in enumerate(frames):
        image = f'{i:05d}.png'
        (folder / f'{i:05d}.json').write_text(json.dumps(dict(
            version='5.4.1', flags={}, shapes=shapes, imagePath=image,
            imageData=None, imageHeight=size[0], imageWidth=size[1])))
        if images:
            write_frames(folder, [image], size)


SQUARE = [[1, 1], [4, 1], [4, 4], [1, 4]]
SMALL = [[5, 3], [7, 3], [7, 5]]
DOG_MASK = np.array([[1, 1, 0], [0, 1, 1]], bool)


def labelme_video_a():
    """person 1 in all frames; person 2 (rectangle) on 0 and 2; dog 1 on
    frame 1 as two polygons; a circle; a line (skipped); a mask shape."""
    return [
        [poly('person', SQUARE), poly('person', [[6, 1], [7, 4]], 2,
                                      'rectangle'),
         poly('person', [[0, 5], [7, 5]], 3, 'line')],
        [poly('person', SQUARE), poly('dog', SMALL, 1),
         poly('dog', [[0, 0], [1, 0], [1, 1]], 1)],
        [poly('person', SQUARE), poly('person', [[6, 1], [7, 4]], 2,
                                      'rectangle'),
         poly('cat', [[2, 2], [4, 2]], 9, 'circle'),
         poly('dog', [[3, 4], [5, 5]], 1, 'mask', mask=png_b64(DOG_MASK))],
    ]


def test_labelme_videos(tmp_path, capsys):
    root = tmp_path / 'JPEGImages'
    write_labelme(root / 'vid_a', labelme_video_a())
    write_labelme(root / 'vid_b', [[poly('person', SQUARE, 4)]] * 2)
    out = tmp_path / 'labelme.json'
    code, stdout, err = run(LABELME_TOOL, [root / 'vid_a', root / 'vid_b',
                                           '--out', out], capsys)
    assert code == 0, err
    assert 'skipped shapes without area (1 line)' in err and 'vid_a' in err
    assert '2 videos, 5 frames, 5 tracks' in stdout
    data = json.loads(out.read_text())
    assert data['categories'] == [dict(id=1, name='cat'),
                                  dict(id=2, name='dog'),
                                  dict(id=3, name='person')]
    a, b = data['videos']
    assert a['file_names'] == ['vid_a/00000.png', 'vid_a/00001.png',
                               'vid_a/00002.png']
    assert (a['height'], a['width'], a['length']) == (H, W, 3)
    assert b['file_names'] == ['vid_b/00000.png', 'vid_b/00001.png']
    tracks = {(t['video_id'], t['category_id'], i): t
              for i, t in enumerate(data['annotations'])}
    assert [k[:2] for k in tracks] == [(1, 3), (1, 3), (1, 2), (1, 1),
                                       (2, 3)]
    person1, person2, dog, cat, person_b = data['annotations']
    assert [s is not None for s in person1['segmentations']] == [True] * 3
    assert [s is not None for s in person2['segmentations']] == \
        [True, False, True]
    square = polygon_mask([1, 1, 4, 1, 4, 4, 1, 4])
    np.testing.assert_array_equal(decode(person1['segmentations'][0]),
                                  square)
    np.testing.assert_array_equal(decode(person2['segmentations'][0]),
                                  polygon_mask([6, 1, 7, 1, 7, 4, 6, 4]))
    # two shapes of (dog, 1) on frame 1: one mask, their union
    np.testing.assert_array_equal(
        decode(dog['segmentations'][1]),
        polygon_mask([5, 3, 7, 3, 7, 5]) | polygon_mask([0, 0, 1, 0, 1, 1]))
    # the mask shape: its PNG at its first point
    expected = np.zeros((H, W), bool)
    expected[4:6, 3:6] = DOG_MASK
    np.testing.assert_array_equal(decode(dog['segmentations'][2]), expected)
    assert dog['bboxes'][2] == [3.0, 4.0, 3.0, 2.0]
    assert dog['areas'][2] == 4.0
    assert decode(cat['segmentations'][2]).sum() > 0
    ds = build_dataset(out, root)  # frame files checked
    assert dataset_counts(ds) == (2, 5, 10, 5)
    assert ds.metainfo['classes'] == ('cat', 'dog', 'person')


def test_labelme_missing_group_id(tmp_path, capsys):
    """Default: an error naming the file and the shape; 'order' matches
    ungrouped shapes by label and order within the frame."""
    left, right = [[0, 0], [2, 0], [2, 2]], [[5, 0], [7, 0], [7, 2]]
    folder = tmp_path / 'video'
    write_labelme(folder, [
        [poly('person', left, None), poly('person', right, None)],
        [poly('person', left, None), poly('person', right, None),
         poly('dog', SMALL, None)],
    ], images=False)
    msg = run_error(LABELME_TOOL, [folder], capsys, tmp_path / 'out.json')
    assert f"{folder / '00000.json'}, shape 0 ('person'): has no group_id" \
        in msg and '--missing-group-id order' in msg
    out = tmp_path / 'order.json'
    code, _, err = run(LABELME_TOOL, [folder, '--out', out,
                                      '--missing-group-id', 'order'], capsys)
    assert code == 0
    assert '5 shapes without group_id matched across frames by label and '\
        'order' in err
    first, second, dog = json.loads(out.read_text())['annotations']
    for track, shape in ((first, left), (second, right)):
        for seg in track['segmentations']:
            np.testing.assert_array_equal(
                decode(seg), polygon_mask(np.ravel(shape).tolist()))
    assert dog['segmentations'][0] is None
    ds = build_dataset(out, tmp_path, check_files=False)
    assert dataset_counts(ds) == (1, 2, 5, 3)


def test_labelme_classes_and_img_root(tmp_path, capsys):
    folder = tmp_path / 'data' / 'annotations' / 'clip'
    (tmp_path / 'data' / 'frames').mkdir(parents=True)
    folder.mkdir(parents=True)
    for i in range(2):
        (folder / f'{i}.json').write_text(json.dumps(dict(
            shapes=[poly('person', SQUARE, 1)],
            imagePath=f'..\\..\\frames\\clip_{i}.png',  # written on Windows
            imageHeight=H, imageWidth=W)))
    out = tmp_path / 'root.json'
    code, _, err = run(LABELME_TOOL, [
        folder, '--out', out, '--img-root', tmp_path / 'data',
        '--classes', 'dog,person'], capsys)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data['videos'][0]['file_names'] == ['frames/clip_0.png',
                                               'frames/clip_1.png']
    assert data['categories'] == [dict(id=1, name='dog'),
                                  dict(id=2, name='person')]
    # the default root (the folder's parent) does not hold ../../frames
    msg = run_error(LABELME_TOOL, [folder], capsys, tmp_path / 'o.json')
    assert f"{folder / '0.json'}: 'imagePath'" in msg
    assert 'lies outside the image root' in msg
    msg = run_error(LABELME_TOOL, [folder, '--img-root', tmp_path / 'data',
                                   '--classes', 'dog'], capsys,
                    tmp_path / 'o.json')
    assert f"{folder / '0.json'}: label 'person' is not one of --classes" \
        in msg


@pytest.mark.parametrize('frames,bad_file,fragments', [
    ([[poly('person', SQUARE)], 'not json'], '00001.json',
     ['malformed JSON']),
    ([[poly('person', SQUARE)], [poly('person', [[1, 1], [2, 2]])]],
     '00001.json', ["shape 0 ('person')", 'a polygon needs at least 3 '
                    'points, got 2']),
    ([[poly('person', SQUARE, shape_type='cuboid')]], '00000.json',
     ["shape 0 ('person')", "unknown shape_type 'cuboid'"]),
    ([[poly('person', SQUARE, group_id='a')]], '00000.json',
     ["'group_id' must be an int or null, got 'a'"]),
    ([[poly('person', 'x')]], '00000.json',
     ["'points' must be [[x, y], ...] numbers"]),
    ([[poly('', SQUARE)]], '00000.json', ["shape 0: 'label' must be a "
                                          'non-empty string']),
    ([[poly('person', [[1, 1], [2, 2]], shape_type='rectangle')],
      [poly('dog', [[0, 0]], shape_type='mask', mask='!!')]],
     '00001.json', ["shape 0 ('dog')", "'mask' is not a base64 PNG"]),
    ([[poly('dog', [[7, 5], [8, 6]], shape_type='mask',
            mask=png_b64(DOG_MASK))]],
     '00000.json', ['the 3 x 2 mask at x=7, y=5 leaves the 8 x 6']),
])
def test_labelme_bad_input_names_the_file(tmp_path, capsys, frames,
                                          bad_file, fragments):
    folder = tmp_path / 'video'
    write_labelme(folder, [f if isinstance(f, list) else [] for f in frames],
                  images=False)
    for i, frame in enumerate(frames):
        if isinstance(frame, str):
            (folder / f'{i:05d}.json').write_text(frame)
    msg = run_error(LABELME_TOOL, [folder], capsys, tmp_path / 'out.json')
    assert f'error: {folder / bad_file}' in msg
    for fragment in fragments:
        assert fragment in msg


def test_labelme_bad_frame_size_and_folders(tmp_path, capsys):
    folder = tmp_path / 'video'
    write_labelme(folder, [[poly('person', SQUARE)]] * 2, images=False)
    data = json.loads((folder / '00001.json').read_text())
    data['imageHeight'] = 12
    (folder / '00001.json').write_text(json.dumps(data))
    msg = run_error(LABELME_TOOL, [folder], capsys, tmp_path / 'out.json')
    assert f"{folder / '00001.json'}: imageHeight x imageWidth 12 x 8 " \
        f"differs from the 6 x 8 of {folder / '00000.json'}" in msg
    data['imageHeight'] = None
    (folder / '00001.json').write_text(json.dumps(data))
    msg = run_error(LABELME_TOOL, [folder], capsys, tmp_path / 'out.json')
    assert f"{folder / '00001.json'}: 'imageHeight' must be a positive int"\
        in msg
    empty = tmp_path / 'empty'
    empty.mkdir()
    msg = run_error(LABELME_TOOL, [empty], capsys, tmp_path / 'out.json')
    assert msg == f'error: {empty}: no labelme *.json files'
    msg = run_error(LABELME_TOOL, [tmp_path / 'nope'], capsys,
                    tmp_path / 'out.json')
    assert f"{tmp_path / 'nope'}: cannot list the folder" in msg
    # --out inside a video folder would be read as a frame next time
    code, _, err = run(LABELME_TOOL, [folder, '--out', folder / 'a.json'],
                       capsys)
    assert code == 1
    assert err.strip() == (f"error: --out {folder / 'a.json'}: lies in the "
                           f'video folder {folder}; write it elsewhere')
    # the same frames twice
    write_labelme(tmp_path / 'v2', [[poly('person', SQUARE)]], images=False)
    msg = run_error(LABELME_TOOL, [tmp_path / 'v2', tmp_path / 'v2'],
                    capsys, tmp_path / 'out.json')
    assert "its frame 'v2/00000.png' is also a frame of" in msg


# ==========================================================================
# CocoVID (mmdet's youtubevis2coco.py) -> raw
# ==========================================================================
COCOVID_TOOL = 'cocovid_to_ytvis.py'


def rle(mask: np.ndarray) -> dict:
    enc = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=enc['size'], counts=enc['counts'].decode())


def raw_fixture() -> dict:
    """Two videos of 3 frames; tracks with RLE and polygons and a gap."""
    box = np.zeros((H, W), bool)
    box[1:3, 2:6] = True
    tri = [[1.0, 1.0, 5.0, 1.0, 5.0, 4.0]]

    def track(ann_id, vid, cat, segs, iscrowd=0):
        bboxes = [None if s is None else
                  [float(v) for v in mask_util.toBbox(
                      s if isinstance(s, dict) else
                      mask_util.merge(mask_util.frPyObjects(s, H, W)))]
                  for s in segs]
        areas = [None if s is None else float(mask_util.area(
            s if isinstance(s, dict) else
            mask_util.merge(mask_util.frPyObjects(s, H, W)))) for s in segs]
        return dict(id=ann_id, video_id=vid, category_id=cat,
                    iscrowd=iscrowd, segmentations=segs, bboxes=bboxes,
                    areas=areas, height=H, width=W, length=1)

    return dict(
        info=dict(description='tiny'), licenses=[],
        categories=[dict(supercategory='object', id=1, name='person'),
                    dict(supercategory='object', id=2, name='dog')],
        videos=[dict(id=v, width=W, height=H, length=3,
                     file_names=[f'vid{v}/{i:05d}.jpg' for i in range(3)],
                     license=1, coco_url='', flickr_url='',
                     date_captured=None) for v in (1, 2)],
        annotations=[
            track(1, 1, 1, [rle(box), None, rle(box)]),
            track(2, 1, 2, [None, tri, tri]),
            track(3, 2, 1, [tri, tri, None], iscrowd=1),
            track(4, 2, 2, [rle(box), rle(box), rle(box)]),
        ])


def mmdet_convert_vis():
    """``convert_vis`` of the installed mmdet's youtubevis2coco.py."""
    import mmdet
    script = Path(mmdet.__file__).parent / '.mim' / 'tools' / \
        'dataset_converters' / 'youtubevis2coco.py'
    if not script.exists():
        pytest.skip(f'{script} is not installed')
    return runpy.run_path(str(script))['convert_vis']


RAW_VIDEO_KEYS = ('id', 'width', 'height', 'length', 'file_names')
RAW_TRACK_KEYS = ('video_id', 'category_id', 'iscrowd', 'segmentations',
                  'bboxes', 'areas')


def test_cocovid_round_trip_through_mmdet(tmp_path, capsys):
    raw = raw_fixture()
    (tmp_path / 'train.json').write_text(json.dumps(raw))
    mmdet_convert_vis()(str(tmp_path), str(tmp_path / 'coco'), '2019',
                        'train')
    capsys.readouterr()
    cocovid = tmp_path / 'coco' / 'youtube_vis_2019_train.json'
    assert 'images' in json.loads(cocovid.read_text())
    out = tmp_path / 'back.json'
    code, stdout, err = run(COCOVID_TOOL, [cocovid, '--out', out], capsys)
    assert code == 0, err
    assert err == ''
    assert '2 videos, 6 frames, 4 tracks, 9 frame masks' in stdout
    back = json.loads(out.read_text())
    assert back['categories'] == raw['categories']
    assert [{k: v[k] for k in RAW_VIDEO_KEYS} for v in back['videos']] == \
        [{k: v[k] for k in RAW_VIDEO_KEYS} for v in raw['videos']]
    assert [{k: a[k] for k in RAW_TRACK_KEYS} for a in back['annotations']] \
        == [{k: a[k] for k in RAW_TRACK_KEYS} for a in raw['annotations']]
    assert [a['id'] for a in back['annotations']] == [1, 2, 3, 4]
    ds_raw = build_dataset(tmp_path / 'train.json', tmp_path, False)
    ds_back = build_dataset(out, tmp_path, False)
    assert dataset_counts(ds_back) == dataset_counts(ds_raw) == (2, 6, 9, 4)
    assert ds_back.get_data_info(1) == ds_raw.get_data_info(1)


def test_cocovid_valid_split_without_annotations(tmp_path, capsys):
    raw = raw_fixture()
    raw['annotations'] = None
    (tmp_path / 'valid.json').write_text(json.dumps(raw))
    mmdet_convert_vis()(str(tmp_path), str(tmp_path), '2019', 'valid')
    capsys.readouterr()
    cocovid = tmp_path / 'youtube_vis_2019_valid.json'
    assert 'annotations' not in json.loads(cocovid.read_text())
    out = tmp_path / 'valid_raw.json'
    code, _, err = run(COCOVID_TOOL, [cocovid, '--out', out], capsys)
    assert code == 0, err
    back = json.loads(out.read_text())
    assert back['annotations'] is None
    assert [v['file_names'] for v in back['videos']] == \
        [v['file_names'] for v in raw['videos']]
    assert dataset_counts(build_dataset(out, tmp_path, False)) == \
        (2, 6, 0, 0)


def cocovid_fixture() -> dict:
    """A hand-made CocoVID file: frame_ids out of file order, string
    instance ids, one annotation without a segmentation."""
    images = [dict(id=10 + i, video_id=5, frame_id=f, file_name=f'v/{f}.jpg',
                   height=H, width=W) for i, f in enumerate([2, 0, 1])]
    seg = [[1.0, 1.0, 4.0, 1.0, 4.0, 4.0]]
    anns = [
        dict(id=1, image_id=11, video_id=5, instance_id='b', category_id=1,
             bbox=[1, 1, 3, 3], segmentation=seg, iscrowd=0),
        dict(id=2, image_id=10, video_id=5, instance_id='b', category_id=1,
             bbox=[1, 1, 3, 3], area=4.5, segmentation=seg, iscrowd=0),
        dict(id=3, image_id=11, video_id=5, instance_id='a', category_id=1,
             bbox=[0, 0, 2, 2], area=4.0, segmentation=[], iscrowd=0),
    ]
    return dict(categories=[dict(id=1, name='person')],
                videos=[dict(id=5, name='v')], images=images,
                annotations=anns)


def test_cocovid_hand_made(tmp_path, capsys):
    src = tmp_path / 'cocovid.json'
    src.write_text(json.dumps(cocovid_fixture()))
    out = tmp_path / 'raw.json'
    code, _, err = run(COCOVID_TOOL, [src, '--out', out], capsys)
    assert code == 0
    assert '1 annotations have no segmentation' in err
    data = json.loads(out.read_text())
    assert data['videos'] == [dict(id=5, width=W, height=H, length=3,
                                   file_names=['v/0.jpg', 'v/1.jpg',
                                               'v/2.jpg'])]
    a, b = data['annotations']  # first frame 0, then instance id
    assert (a['id'], b['id']) == (1, 2)
    assert a['segmentations'] == [None] * 3 and a['bboxes'][0] == [0, 0, 2,
                                                                   2]
    assert b['segmentations'][0] is not None and b['segmentations'][1] is None
    assert b['areas'][2] == 4.5
    seg = mask_util.merge(mask_util.frPyObjects(
        [[1.0, 1.0, 4.0, 1.0, 4.0, 4.0]], H, W))
    assert b['areas'][0] == float(mask_util.area(seg))  # derived
    ds = build_dataset(out, tmp_path, False)
    assert dataset_counts(ds) == (1, 3, 2, 1)


def _edit(data, what):
    if what == 'no_video_id':
        del data['images'][1]['video_id']
    elif what == 'same_frame_id':
        data['images'][1]['frame_id'] = 2
    elif what == 'no_frame_id':
        data['images'][2]['frame_id'] = None
    elif what == 'category_changes':
        data['categories'].append(dict(id=2, name='dog'))
        data['annotations'][1]['category_id'] = 2
    elif what == 'no_instance_id':
        del data['annotations'][2]['instance_id']
    elif what == 'two_on_a_frame':
        data['annotations'][2]['instance_id'] = 'b'
    elif what == 'frame_size':
        data['images'][2]['height'] = 12
    elif what == 'empty_video':
        data['videos'].append(dict(id=6, name='w'))
    elif what == 'already_raw':
        return raw_fixture()
    elif what == 'unknown_image':
        data['annotations'][0]['image_id'] = 99
    return data


@pytest.mark.parametrize('what,fragments', [
    ('no_video_id', ["image id=11 ('v/0.jpg') has no 'video_id'"]),
    ('same_frame_id', ["images id=10 ('v/2.jpg') and id=11 ('v/0.jpg') of "
                       'video_id=5 have the same frame_id 2']),
    ('no_frame_id', ["image id=12 ('v/1.jpg'): 'frame_id' must be an int"]),
    ('category_changes', ["annotation id=2 (image id=10, 'v/2.jpg'): "
                          "instance_id='b' has category_id 2 here but 1"]),
    ('no_instance_id', ["annotation id=3 (image id=11, 'v/0.jpg') has no "
                        "'instance_id'"]),
    ('two_on_a_frame', ["annotation id=3", "instance_id='b' has two "
                        'annotations on this frame (also annotation id=1)']),
    ('frame_size', ["video id=5 (name 'v'): image id=12 ('v/1.jpg') is "
                    '12 x 8 but image id=11']),
    ('empty_video', ["video id=6 (name 'w'): has no images"]),
    ('already_raw', ['is already a raw YouTube-VIS file']),
    ('unknown_image', ['annotation id=1 refers to unknown image_id=99']),
])
def test_cocovid_bad_input_names_the_file(tmp_path, capsys, what,
                                          fragments):
    src = tmp_path / 'in_cocovid.json'
    src.write_text(json.dumps(_edit(cocovid_fixture(), what)))
    msg = run_error(COCOVID_TOOL, [src], capsys, tmp_path / 'out.json')
    assert f'error: {src}' in msg
    for fragment in fragments:
        assert fragment in msg


def test_cocovid_io_errors(tmp_path, capsys):
    src = tmp_path / 'cv.json'
    src.write_text('{"videos": [')
    msg = run_error(COCOVID_TOOL, [src], capsys, tmp_path / 'out.json')
    assert msg.startswith(f'error: {src}: malformed JSON')
    msg = run_error(COCOVID_TOOL, [tmp_path / 'none.json'], capsys,
                    tmp_path / 'out.json')
    assert 'none.json: cannot read' in msg
    src.write_text(json.dumps(cocovid_fixture()))
    code, _, err = run(COCOVID_TOOL, [src, '--out', src], capsys)
    assert code == 1 and f'--out {src}: is the input file' in err
    assert json.loads(src.read_text()) == cocovid_fixture()
    code, _, err = run(COCOVID_TOOL, [src, '--out', tmp_path / 'x.txt'],
                       capsys)
    assert code == 1 and 'unsupported extension .txt' in err
