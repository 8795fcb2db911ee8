"""Tests of ``mmvis_pretrain.apis.video_sources`` and ``video_writers``:
frame sources (video file, folder, glob), natural sort, the MP4 / id-PNG /
tracks-JSON writers."""
import json
import os

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest

from mmvis_pretrain.apis import (DEFAULT_FPS, IdPngWriter,
                                 ImageSequenceSource, Mp4Writer, TrackIdMap,
                                 TracksJsonWriter, VideoFileSource, encode_rle,
                                 natural_sorted, open_frame_source)

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
    with pytest.raises(OSError, match=r'cannot read the image .*2\.jpg'):
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
    writer = IdPngWriter(tmp_path / 'ids', H, W)
    # id 300 scores higher: it wins the overlap
    path = writer.write(4, masks, [3, 300], scores=[0.5, 0.9])
    assert path.name == '000004.png'
    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert ids.dtype == np.uint16 and ids.shape == (H, W)
    expected = np.zeros((H, W), dtype=np.uint16)
    expected[10:40, 10:50] = 3
    expected[20:60, 30:90] = 300
    assert np.array_equal(ids, expected)
    # lower score for 300: 3 wins the overlap
    ids = writer.id_map(masks, [3, 300], scores=[0.9, 0.5])
    assert ids[25, 40] == 3 and ids[50, 80] == 300 and ids[0, 0] == 0
    # no instances: all background
    path = writer.write(5, np.zeros((0, H, W), bool), [])
    assert not cv2.imread(str(path), cv2.IMREAD_UNCHANGED).any()

    writer8 = IdPngWriter(tmp_path / 'ids8', H, W, bit_depth=8)
    path = writer8.write(0, masks[:1], [255])
    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert ids.dtype == np.uint8 and ids[20, 20] == 255
    with pytest.raises(ValueError, match=r'ids \[300\] do not fit a 8-bit'):
        writer8.write(1, masks, [3, 300])
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
    assert {k: v for k, v in data.items() if k != 'tracks'} == dict(
        video='in.mp4', height=H, width=W, fps=12.0, num_frames=4,
        classes=['person', 'dog'], frame_names=['a', 'b', 'c', 'd'])
    one, two = data['tracks']
    assert {k: v for k, v in one.items() if k != 'segmentations'} == dict(
        id=1, track_id=0, label=0, category='person', score=0.8,
        first_frame=0, last_frame=1, num_frames=2)
    # label / score of the last appearance (frame 3), not of frame 1
    assert {k: v for k, v in two.items() if k != 'segmentations'} == dict(
        id=2, track_id=7, label=0, category='person', score=0.7,
        first_frame=1, last_frame=3, num_frames=2)
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
    assert json.loads((tmp_path / 'x.json').read_text())['tracks'] == []
