"""Tests of ``mmvis_pretrain.apis.video_sources`` and ``video_writers``:
frame sources (video file, folder, glob), natural sort, the MP4 / id-PNG /
tracks-JSON writers, undecodable frames (error or skipped), output path
checks and outputs staged in temporaries."""
import json
import os
import os.path as osp
import stat
import sys
import warnings

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest
from PIL import Image

from mmvis_pretrain.apis import (DEFAULT_FPS, IdPngWriter,
                                 ImageSequenceSource, Mp4Writer, TrackIdMap,
                                 TracksJsonWriter, VideoFileSource, encode_rle,
                                 natural_sorted, open_frame_source)
from mmvis_pretrain.apis.video_sources import FrameDecodeError
from mmvis_pretrain.datasets.converters.id_png import read_id_png
from mmvis_pretrain.apis.staged_outputs import (
    OutputPathError, StagedOutputs, check_output_file, check_output_folder)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_demo_helpers import damage_jpeg, damage_mp4  # noqa: E402

H, W = 64, 96


def _flat(value, height=H, width=W):
    """A flat BGR frame of grey ``value``."""
    return np.full((height, width, 3), value, dtype=np.uint8)


def _write(path, image):
    assert cv2.imwrite(str(path), image)
    return str(path)


def _rect(box, height=H, width=W):
    mask = np.zeros((height, width), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return mask


def _decode(rle):
    return mask_util.decode(
        dict(size=rle['size'], counts=rle['counts'].encode())).astype(bool)


# --------------------------------------------------------------------------
# natural sort
# --------------------------------------------------------------------------
def test_natural_sort_orders_digit_runs_by_value():
    names = ['f10.jpg', 'f2.jpg', 'F1.jpg', 'f1.png', 'a.jpg', 'f02.jpg']
    assert natural_sorted(names) == [
        'a.jpg', 'F1.jpg', 'f1.png', 'f02.jpg', 'f2.jpg', 'f10.jpg'
    ]
    assert natural_sorted(['img_10_a', 'img_9_b', 'img_9_a', '100', '20']) \
        == ['20', '100', 'img_9_a', 'img_9_b', 'img_10_a']
    # plain sorting would put frame_10 first
    assert natural_sorted(['v/frame_10.png', 'v/frame_9.png']) == [
        'v/frame_9.png', 'v/frame_10.png'
    ]


# --------------------------------------------------------------------------
# video files
# --------------------------------------------------------------------------
def _moving_square_rgb(num):
    """RGB frames with a white 16x16 square at x = 8 + 8t on grey 60."""
    frames = []
    for t in range(num):
        frame = np.full((H, W, 3), 60, dtype=np.uint8)
        frame[24:40, 8 + 8 * t:24 + 8 * t] = 255
        frames.append(frame)
    return frames


def test_mp4_round_trip(tmp_path):
    path = tmp_path / 'sub' / 'clip.mp4'
    frames = _moving_square_rgb(7)
    with Mp4Writer(path, 12, H, W) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.num_frames == 7

    source = open_frame_source(path)
    assert isinstance(source, VideoFileSource)
    assert (len(source), source.size, source.fps) == (7, (H, W), 12.0)
    assert source.frame_names is None
    decoded = list(source)
    assert len(decoded) == 7 and len(list(source)) == 7  # iterable twice
    for t, (frame, expected) in enumerate(zip(decoded, frames)):
        assert frame.dtype == np.uint8 and frame.shape == (H, W, 3)
        # BGR of a grey / white frame == RGB; lossy codec: small error
        assert np.abs(frame.astype(int) - expected).mean() < 4
        columns = np.nonzero(frame[32, :, 0] > 160)[0]
        assert abs(columns.mean() - (15.5 + 8 * t)) < 1.5
    assert open_frame_source(path, fps=5).fps == 5.0


def test_mp4_writer_pads_odd_sizes_and_checks_frames(tmp_path):
    path = tmp_path / 'odd.mp4'
    with Mp4Writer(path, 10, 63, 95) as writer:
        writer.write(np.full((63, 95, 3), 200, dtype=np.uint8))
        with pytest.raises(ValueError, match=r'expected \(63, 95, 3\)'):
            writer.write(np.zeros((64, 96, 3), dtype=np.uint8))
    source = open_frame_source(path)
    assert (len(source), source.size) == (1, (64, 96))
    frame = next(iter(source))
    assert abs(int(frame[30, 40, 0]) - 200) < 8  # content (lossy codec)
    assert frame[63, 40, 0] < 40 and frame[30, 95, 0] < 40  # padded black


def test_mp4_writer_error_when_opencv_cannot_open(tmp_path):
    with pytest.raises(OSError, match='cannot open .*out.nosuchformat'):
        Mp4Writer(tmp_path / 'out.nosuchformat', 10, H, W)
    with pytest.raises(ValueError, match='fps must be a positive'):
        Mp4Writer(tmp_path / 'out.mp4', 0, H, W)


def test_unreadable_video_file(tmp_path):
    path = tmp_path / 'broken.mp4'
    path.write_text('not a video')
    with pytest.raises(OSError, match='cannot open the video .*broken.mp4'):
        open_frame_source(path)


# --------------------------------------------------------------------------
# frame folders and glob patterns
# --------------------------------------------------------------------------
@pytest.fixture
def frame_dir(tmp_path):
    """f1.jpg (grey 10), f2.png (20), f10.jpg (30) + files to ignore."""
    folder = tmp_path / 'frames'
    folder.mkdir()
    _write(folder / 'f10.jpg', _flat(30))
    _write(folder / 'f2.png', _flat(20))
    _write(folder / 'f1.jpg', _flat(10))
    (folder / 'notes.txt').write_text('ignored')
    (folder / '.f0.jpg').write_bytes(b'hidden, ignored')
    (folder / 'sub').mkdir()
    _write(folder / 'sub' / 'f3.png', _flat(40))  # not in the folder itself
    return folder


def test_folder_source_natural_order(frame_dir):
    source = open_frame_source(frame_dir)
    assert isinstance(source, ImageSequenceSource)
    assert [os.path.basename(n) for n in source.frame_names] == [
        'f1.jpg', 'f2.png', 'f10.jpg'
    ]
    assert (len(source), source.size, source.fps) == (3, (H, W), DEFAULT_FPS)
    assert DEFAULT_FPS == 25.0
    means = [float(frame.mean()) for frame in source]
    assert np.allclose(means, [10, 20, 30], atol=1.5)
    assert open_frame_source(frame_dir, fps=7.5).fps == 7.5


def test_glob_source(frame_dir):
    source = open_frame_source(str(frame_dir / 'f*'))
    assert [os.path.basename(n) for n in source.frame_names] == [
        'f1.jpg', 'f2.png', 'f10.jpg'
    ]
    source = open_frame_source(str(frame_dir / '**' / '*.png'))
    assert [os.path.basename(n) for n in source.frame_names] == [
        'f2.png', 'f3.png'
    ]
    assert [int(f.mean()) for f in source] == [20, 40]
    single = open_frame_source(frame_dir / 'f2.png')  # an image: 1 frame
    assert (len(single), single.fps) == (1, DEFAULT_FPS)


def test_source_errors(tmp_path, frame_dir):
    with pytest.raises(FileNotFoundError, match='nothing_here.mp4'):
        open_frame_source(tmp_path / 'nothing_here.mp4')
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.md').write_text('x')
    with pytest.raises(ValueError, match='empty holds no image files'):
        open_frame_source(empty)
    with pytest.raises(ValueError, match='no image files match'):
        open_frame_source(str(tmp_path / '*.jpg'))
    with pytest.raises(ValueError, match='fps must be a positive'):
        open_frame_source(frame_dir, fps=0)


def test_unreadable_frames_are_named(tmp_path):
    folder = tmp_path / 'bad_header'
    folder.mkdir()
    _write(folder / '1.png', _flat(10))
    (folder / '2.jpg').write_bytes(b'garbage, not a jpeg')
    with pytest.raises(OSError, match=r'cannot read the image .*2\.jpg '
                       r'\(frame 1 of .*bad_header\)'):
        open_frame_source(folder)

    folder = tmp_path / 'truncated'
    folder.mkdir()
    _write(folder / '1.png', _flat(10))
    data = open(_write(folder / '2.png', np.random.default_rng(0).integers(
        0, 255, (H, W, 3), dtype=np.uint8)), 'rb').read()
    (folder / '2.png').write_bytes(data[:len(data) // 2])  # header intact
    source = open_frame_source(folder)
    frames = iter(source)
    assert next(frames).mean() == 10
    with pytest.raises(OSError, match=r'cannot decode frame 1: .*2\.png'):
        next(frames)


def test_frames_of_different_sizes(tmp_path):
    folder = tmp_path / 'sizes'
    folder.mkdir()
    _write(folder / 'a1.png', _flat(10))
    _write(folder / 'a2.png', _flat(10, width=80))
    with pytest.raises(ValueError, match=r'different sizes: .*a1\.png is '
                       r'64x96 but .*a2\.png is 64x80'):
        open_frame_source(folder)


def test_exif_rotated_jpeg_has_its_decoded_size(tmp_path):
    """A 64-wide, 96-high JPEG with EXIF orientation 6 decodes (OpenCV) to
    96x64, like the PNG beside it: no size error."""
    from PIL import Image
    folder = tmp_path / 'exif'
    folder.mkdir()
    _write(folder / 'a1.png', _flat(10))
    image = Image.fromarray(np.full((W, H, 3), 50, dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    image.save(folder / 'a2.jpg', exif=exif.tobytes())
    source = open_frame_source(folder)
    assert source.size == (H, W)
    assert [f.shape for f in source] == [(H, W, 3), (H, W, 3)]


# --------------------------------------------------------------------------
# output ids and writers
# --------------------------------------------------------------------------
def test_track_id_map_first_appearance_order():
    id_map = TrackIdMap()
    assert id_map([7, 0, 7]).tolist() == [1, 2, 1]
    assert id_map(np.array([3, 0])).tolist() == [3, 2]
    assert id_map([]).tolist() == []
    assert len(id_map) == 3 and id_map.mapping == {7: 1, 0: 2, 3: 3}


def test_id_png_writer(tmp_path):
    masks = np.stack([_rect((10, 10, 50, 40)), _rect((30, 20, 90, 60))])
    writer = IdPngWriter(tmp_path / 'ids', H, W)  # 'auto'
    # id 300 scores higher: it wins the overlap; an id over 254 makes the
    # frame a 16-bit PNG
    path = writer.write(4, masks, [3, 300], scores=[0.5, 0.9])
    assert path.name == '000004.png'
    assert Image.open(path).mode == 'I;16'
    ids = read_id_png(path)
    assert ids.shape == (H, W)
    expected = np.zeros((H, W), dtype=np.int64)
    expected[10:40, 10:50] = 3
    expected[20:60, 30:90] = 300
    assert np.array_equal(ids, expected)
    # lower score for 300: 3 wins the overlap
    ids = writer.id_map(masks, [3, 300], scores=[0.9, 0.5])
    assert ids[25, 40] == 3 and ids[50, 80] == 300 and ids[0, 0] == 0
    # ids up to 254: a palette PNG, coloured in a viewer (VOC colours),
    # the ids as palette indices
    path = writer.write(6, masks, [1, 2], scores=[0.5, 0.9])
    img = Image.open(path)
    assert img.mode == 'P'
    rgb = np.array(img.convert('RGB'))
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[15, 15].tolist() == [128, 0, 0]  # id 1
    assert rgb[50, 80].tolist() == [0, 128, 0]  # id 2
    assert np.array_equal(read_id_png(path),
                          np.where(expected == 300, 2,
                                   np.where(expected == 3, 1, 0)))
    # no instances: all background
    path = writer.write(5, np.zeros((0, H, W), bool), [])
    assert not read_id_png(path).any()

    palette = IdPngWriter(tmp_path / 'pal', H, W, png_format='palette')
    path = palette.write(0, masks[:1], [254])
    assert Image.open(path).mode == 'P' and read_id_png(path)[20, 20] == 254
    with pytest.raises(ValueError, match=r"ids \[255, 300\] do not fit a "
                       r"palette id PNG \(1..254; 0 is background\); use "
                       r"png_format='auto'"):
        palette.write(1, masks, [255, 300])
    sixteen = IdPngWriter(tmp_path / '16', H, W, png_format='16bit')
    path = sixteen.write(0, masks[:1], [5])
    assert Image.open(path).mode == 'I;16' and read_id_png(path)[20, 20] == 5
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[20, 20] == 5
    with pytest.raises(ValueError, match='png_format must be one of'):
        IdPngWriter(tmp_path / 'x', H, W, png_format='8')
    with pytest.raises(ValueError, match=r'ids \[70000\] do not fit'):
        writer.write(1, masks[:1], [70000])
    with pytest.raises(ValueError, match=r'ids \[0\] do not fit'):
        writer.write(1, masks[:1], [0])
    with pytest.raises(ValueError, match=r'masks must have shape \(1, 64, '
                       r'96\), got \(1, 32, 96\)'):
        writer.write(1, masks[:1, :32], [1])


def test_encode_rle_round_trip():
    masks = np.stack([_rect((0, 0, 5, 7)), _rect((90, 60, 96, 64))])
    rles = encode_rle(masks)
    assert [r['size'] for r in rles] == [[H, W], [H, W]]
    assert all(isinstance(r['counts'], str) for r in rles)
    assert all(np.array_equal(_decode(r), m) for r, m in zip(rles, masks))
    assert encode_rle(np.zeros((0, H, W), bool)) == []


def test_tracks_json_writer(tmp_path):
    path = tmp_path / 'out' / 'tracks.json'
    writer = TracksJsonWriter(path, 4, H, W, classes=('person', 'dog'),
                              fps=12.0, video='in.mp4',
                              frame_names=['a', 'b', 'c', 'd'])
    a0, a1 = _rect((0, 0, 10, 10)), _rect((2, 0, 12, 10))
    b1, b1_extra, b3 = (_rect((50, 30, 60, 40)), _rect((70, 30, 80, 40)),
                        _rect((52, 30, 62, 40)))
    writer.add_frame(0, [1], [0], [0.9], a0[None], track_ids=[0])
    # id 2 is reported twice in frame 1: masks merged, best score kept
    writer.add_frame(1, [1, 2, 2], [0, 1, 0], [0.8, 0.6, 0.4],
                     np.stack([a1, b1, b1_extra]), track_ids=[0, 7, 7])
    writer.add_frame(2, [], [], [], np.zeros((0, H, W), bool))
    writer.add_frame(3, [2], [0], [0.7], b3[None], track_ids=[7])
    with pytest.raises(ValueError, match='frames must increase'):
        writer.add_frame(3, [], [], [], np.zeros((0, H, W), bool))
    assert writer.num_tracks == 2
    writer.close()

    data = json.loads(path.read_text())
    assert data['video'] == dict(
        id=1, name='in.mp4', file_names=['a', 'b', 'c', 'd'], length=4,
        height=H, width=W, fps=12.0, skipped_frames=[])
    assert data['categories'] == [dict(id=1, name='person'),
                                  dict(id=2, name='dog')]
    one, two = sorted(data['results'], key=lambda r: r['track_id'])
    assert {k: v for k, v in one.items() if k != 'segmentations'} == dict(
        video_id=1, category_id=1, category='person', score=0.8,
        track_id=1)
    # label / score of the last appearance (frame 3), not of frame 1
    assert {k: v for k, v in two.items() if k != 'segmentations'} == dict(
        video_id=1, category_id=1, category='person', score=0.7,
        track_id=2)
    for track in (one, two):
        assert len(track['segmentations']) == 4
        for rle in track['segmentations']:
            assert rle is None or (rle['size'] == [H, W]
                                   and isinstance(rle['counts'], str))
    seg1, seg2 = one['segmentations'], two['segmentations']
    assert seg1[2] is None and seg1[3] is None
    assert seg2[0] is None and seg2[2] is None
    assert np.array_equal(_decode(seg1[0]), a0)
    assert np.array_equal(_decode(seg1[1]), a1)
    assert np.array_equal(_decode(seg2[1]), b1 | b1_extra)
    assert np.array_equal(_decode(seg2[3]), b3)


def test_tracks_json_writer_class_scores_give_pairs(tmp_path):
    """CTVIS's rule: a track with class_scores gives its best (track,
    class) pairs, as VISMetric does (one implementation)."""
    path = tmp_path / 'pairs.json'
    with TracksJsonWriter(path, 1, H, W, classes=('person', 'dog'),
                          video_id=7) as writer:
        writer.add_frame(0, [1, 2], [0, 1], [.8, .5],
                         np.stack([_rect((0, 0, 4, 4)), _rect((8, 8, 12, 12))]),
                         class_scores=np.array([[.8, .3], [.1, .5]]))
    results = json.loads(path.read_text())['results']
    assert [(r['video_id'], r['track_id'], r['category'], r['score'])
            for r in results] == [(7, 1, 'person', .8), (7, 2, 'dog', .5)]


def test_tracks_json_writer_failures(tmp_path):
    path = tmp_path / 'aborted.json'
    with pytest.raises(RuntimeError, match='boom'):
        with TracksJsonWriter(path, 2, H, W) as writer:
            writer.add_frame(0, [1], [0], [0.5], _rect((0, 0, 4, 4))[None])
            raise RuntimeError('boom')
    assert not path.exists()  # no half-written result
    writer = TracksJsonWriter(tmp_path / 'x.json', 2, H, W)
    with pytest.raises(ValueError, match=r'frames must increase, < 2'):
        writer.add_frame(2, [], [], [], np.zeros((0, H, W), bool))
    with pytest.raises(ValueError, match=r'frame 0: masks must have shape'):
        writer.add_frame(0, [1], [0], [0.5], np.zeros((1, 8, 8), bool))
    with pytest.raises(ValueError, match='differ in length'):
        writer.add_frame(1, [1, 2], [0], [0.5], np.zeros((2, H, W), bool))
    writer.close()
    assert json.loads((tmp_path / 'x.json').read_text())['results'] == []


# --------------------------------------------------------------------------
# undecodable frames: an error, or skipped and counted
# --------------------------------------------------------------------------
def _damaged_mp4(tmp_path):
    """8 frames, data zeroed from the middle of frame 3: 0-3 decode (3
    damaged, silently), 4-7 do not."""
    path = tmp_path / 'good.mp4'
    with Mp4Writer(path, 12, H, W) as writer:
        for frame in _moving_square_rgb(8):
            writer.write(frame)
    return damage_mp4(str(path), str(tmp_path / 'bad.mp4'), first_frame=3)


def test_video_file_undecodable_frames(tmp_path):
    source = open_frame_source(_damaged_mp4(tmp_path))
    assert len(source) == 8  # the container's tables are intact
    frames = iter(source)
    for _ in range(4):
        next(frames)
    with pytest.raises(FrameDecodeError,
                       match=r'bad\.mp4: cannot decode frame 4 \(the '
                       r'container reports 8 frames\)') as info:
        next(frames)
    assert (info.value.index, info.value.name) == (4, source.path)
    assert isinstance(info.value, OSError)  # as before

    skipped = []
    decoded = list(source.iter_frames(skip_bad_frames=True, skipped=skipped))
    assert [index for index, _ in decoded] == [0, 1, 2, 3]
    assert [e.index for e in skipped] == [4, 5, 6, 7]
    assert all(isinstance(e, FrameDecodeError) for e in skipped)
    # the strict iteration is unchanged by a skipping one
    with pytest.raises(FrameDecodeError, match='frame 4'):
        list(source.iter_frames())


def test_frame_folder_undecodable_frames(tmp_path):
    """A PNG cut short (header reads, pixels do not) and a file that is no
    image at all: strict, the first fails when reached and the second when
    the folder is opened (both name the file and the frame); skipping, both
    are left out and reported."""
    folder = tmp_path / 'frames'
    folder.mkdir()
    for t in range(5):
        _write(folder / f'{t}.png', _flat(10 * t + 10))
    damage_jpeg(str(folder / '1.png'))  # works for any format: cut short
    source = open_frame_source(folder)
    frames = source.iter_frames()
    assert next(frames)[0] == 0
    with pytest.raises(FrameDecodeError, match=r'cannot decode frame 1: '
                       r'.*1\.png') as info:
        next(frames)
    assert info.value.index == 1

    (folder / '3.png').write_bytes(b'no image')
    with pytest.raises(FrameDecodeError, match=r'cannot read the image .*'
                       r'3\.png \(frame 3 of .*frames\)'):
        open_frame_source(folder)
    source = open_frame_source(folder, skip_bad_frames=True)
    assert len(source) == 5 and source.size == (H, W)
    skipped = []
    decoded = list(source.iter_frames(skip_bad_frames=True, skipped=skipped))
    assert [t for t, _ in decoded] == [0, 2, 4]
    assert [int(f.mean()) for _, f in decoded] == [10, 30, 50]
    assert [(e.index, osp.basename(e.name)) for e in skipped] == [
        (1, '1.png'), (3, '3.png')]
    with pytest.raises(FrameDecodeError, match='frame 1'):
        list(source)  # a plain iteration still fails at the first one

    for t in (0, 1, 2, 4):  # no header left to read
        (folder / f'{t}.png').write_bytes(b'no image')
    with pytest.raises(ValueError,
                       match=r'frames: none of its 5 image files can be read'):
        open_frame_source(folder, skip_bad_frames=True)


class _FakeCapture:
    """cv2.VideoCapture stand-in: ``reads`` is a list of (ok, timestamp in
    ms) for 4 frames at 10 fps."""

    reads = []

    def __init__(self, path):
        self._reads = list(type(self).reads)
        self._msec = 0.0

    def isOpened(self):
        return True

    def get(self, prop):
        import cv2
        return {cv2.CAP_PROP_FRAME_COUNT: 4, cv2.CAP_PROP_FRAME_WIDTH: W,
                cv2.CAP_PROP_FRAME_HEIGHT: H, cv2.CAP_PROP_FPS: 10.0,
                cv2.CAP_PROP_POS_MSEC: self._msec}[prop]

    def read(self):
        ok, self._msec = self._reads.pop(0)
        return ok, (_flat(int(self._msec) // 10) if ok else None)

    def release(self):
        pass


def test_video_file_read_positions_after_a_failure(monkeypatch):
    """OpenCV may consume damaged data of several frames in one read() and
    return a later frame: the source then warns that the skipped indices
    are read positions (the decoded frame's timestamp names its real
    frame); with timestamps that agree, it says nothing."""
    from mmvis_pretrain.apis import video_sources
    monkeypatch.setattr(video_sources.cv2, 'VideoCapture', _FakeCapture)
    _FakeCapture.reads = [(True, 0.0), (False, 0.0), (True, 300.0),
                          (False, 0.0)]
    source = video_sources.VideoFileSource('fake.mp4')
    skipped = []
    with pytest.warns(UserWarning, match=r'fake\.mp4: the frame read at '
                      r'position 2 has the timestamp of frame 3 \(0\.3 s '
                      r'at 10 fps\)'):
        decoded = list(source.iter_frames(True, skipped))
    assert [t for t, _ in decoded] == [0, 2]
    assert [e.index for e in skipped] == [1, 3]

    _FakeCapture.reads = [(True, 0.0), (False, 0.0), (True, 200.0),
                          (True, 300.0)]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert [t for t, _ in source.iter_frames(True, [])] == [0, 2, 3]


# --------------------------------------------------------------------------
# output paths and staged outputs
# --------------------------------------------------------------------------
def test_check_output_paths(tmp_path):
    (tmp_path / 'file').write_text('x')
    (tmp_path / 'dir.mp4').mkdir()
    assert check_output_file(tmp_path / 'new' / 'deeper' / 'o.mp4', '--out',
                             ('.mp4', )) == tmp_path / 'new/deeper/o.mp4'
    assert check_output_file(tmp_path / 'O.MP4', '--out', ('.mp4', ))
    errors = [
        (lambda: check_output_file(tmp_path / 'o.avi', '--out', ('.mp4', )),
         r'^--out .*o\.avi: unsupported extension \.avi \(use \.mp4\)$'),
        (lambda: check_output_file(tmp_path / 'dir.mp4', '--out'),
         r'^--out .*dir\.mp4: is a folder$'),
        (lambda: check_output_file(tmp_path / 'file' / 'x' / 't.json',
                                   '--json'),
         r'^--json .*t\.json: cannot be written: .*file is a file, not a '
         r'folder$'),
        (lambda: check_output_folder(tmp_path / 'file', '--png-dir'),
         r'^--png-dir .*file: is a file$'),
        (lambda: check_output_file(tmp_path, '--json'), 'is a folder'),
    ]
    for call, message in errors:
        with pytest.raises(OutputPathError, match=message):
            call()
    assert issubclass(OutputPathError, ValueError)

    ids = tmp_path / 'ids'
    ids.mkdir()
    assert check_output_folder(ids, '--png-dir') == ids  # empty
    (ids / '000000.png').write_bytes(b'')
    (ids / '000017.png').write_bytes(b'')
    assert check_output_folder(ids, '--png-dir') == ids  # an earlier run's
    (ids / 'sub').mkdir()
    (ids / 'a.png').write_bytes(b'')
    with pytest.raises(OutputPathError, match=r'not id PNGs of an earlier '
                       r'run \(a\.png, sub\)'):
        check_output_folder(ids, '--png-dir')


def test_check_output_paths_read_only_folder(tmp_path, monkeypatch):
    """A folder without write permission is refused (as root, which may
    write anyway, the permission answer is stubbed)."""
    folder = tmp_path / 'ro'
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:
        from mmvis_pretrain.apis import staged_outputs as video_writers
        real_access = os.access
        monkeypatch.setattr(
            video_writers.os, 'access', lambda path, mode: False if str(
                path) == str(folder) else real_access(path, mode))
    try:
        with pytest.raises(OutputPathError, match=r'^--json .*t\.json: '
                           r'cannot be written: the folder .*ro is not '
                           r'writable$'):
            check_output_file(folder / 'sub' / 't.json', '--json')
    finally:
        folder.chmod(stat.S_IRWXU)


def test_staged_outputs_commit(tmp_path):
    out, ids = tmp_path / 'new' / 'o.mp4', tmp_path / 'ids'
    ids.mkdir()
    (ids / '000009.png').write_bytes(b'old run')  # replaced as a whole
    stage = StagedOutputs()
    tmp_out, tmp_ids = stage.file(out), stage.folder(ids)
    assert tmp_out.parent == out.parent and tmp_out.suffix == '.mp4'
    assert tmp_out.name.startswith('.') and tmp_ids.parent == ids.parent
    tmp_out.write_bytes(b'video')
    (tmp_ids / '000000.png').write_bytes(b'new')
    assert not out.exists() and (ids / '000009.png').exists()
    stage.commit()
    assert out.read_bytes() == b'video'
    assert os.listdir(ids) == ['000000.png']
    assert sorted(os.listdir(tmp_path)) == ['ids', 'new']
    assert os.listdir(out.parent) == ['o.mp4']
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(ids.stat().st_mode) == 0o777 & ~umask


def test_staged_outputs_discard(tmp_path):
    """Discarding removes the temporaries and the folders made for them;
    the existing outputs are untouched."""
    out = tmp_path / 'o.mp4'
    out.write_bytes(b'previous')
    with pytest.raises(RuntimeError, match='boom'):
        with StagedOutputs() as stage:
            stage.file(out).write_bytes(b'partial')
            folder = stage.folder(tmp_path / 'a' / 'b' / 'ids')
            (folder / '000000.png').write_bytes(b'partial')
            stage.file(tmp_path / 'a' / 't.json')
            raise RuntimeError('boom')
    assert os.listdir(tmp_path) == ['o.mp4']
    assert out.read_bytes() == b'previous'


def test_tracks_json_writer_skipped_frames(tmp_path):
    path = tmp_path / 't.json'
    with TracksJsonWriter(path, 4, H, W) as writer:
        writer.add_frame(0, [1], [0], [0.5], _rect((0, 0, 4, 4))[None])
        writer.skip_frame(1)
        writer.skip_frame(2)
        with pytest.raises(ValueError, match='frames must increase'):
            writer.skip_frame(2)
        writer.add_frame(3, [1], [0], [0.5], _rect((0, 0, 4, 4))[None])
    data = json.loads(path.read_text())
    assert data['video']['skipped_frames'] == [1, 2]
    assert data['video']['length'] == 4
    track = data['results'][0]
    assert track['segmentations'][1:3] == [None, None]
    assert [s is not None for s in track['segmentations']] == [
        True, False, False, True]
