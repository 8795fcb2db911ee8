"""Tests of ``demo/video_demo.py``.

* a scripted online VIS model (``ScriptedTracksVIS``: hand-made
  ``pred_track_instances`` per frame) on an .mp4 and on a frame folder with
  odd names: the MP4 (frame count, size, fps, mask colours), the id PNGs and
  the tracks JSON are checked exactly;
* mmdet's MaskTrackRCNN (shrunk, random weights, saved as a checkpoint) on
  an .mp4: the outputs are well-formed and agree with each other;
* bad input and faults: an .mp4 whose second half is corrupt, a frame
  folder with a corrupt JPEG (with and without ``--skip-bad-frames``),
  unusable output paths, a run interrupted half-way: no partial output, a
  previous output left untouched, an error naming the frame / argument.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'apis'))
from vis_demo_helpers import (CLASSES, SCRIPT, H, W,  # noqa: E402
                              ScriptedTracksVIS, damage_jpeg, damage_mp4,
                              make_frames, rect_mask, save_random_checkpoint,
                              scripted_config, tiny_masktrack_config)

from mmvis_pretrain.apis import Mp4Writer  # noqa: E402
from mmvis_pretrain.datasets.converters.id_png import \
    read_id_png  # noqa: E402
from mmvis_pretrain.evaluation.functional.results_io import \
    load_results  # noqa: E402
from mmvis_pretrain.visualization import instance_color  # noqa: E402

#: Output ids of the scripted model's track ids (first appearance order;
#: id 5 never scores above 0.3).
OUT_IDS = {0: 1, 7: 2, 9: 3}


def _load_script(relpath, name):
    """A script of the repository (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


video_demo = _load_script('demo/video_demo.py', 'video_demo_under_test')


def _write_mp4(path, frames_bgr, fps):
    with Mp4Writer(path, fps, H, W) as writer:
        for frame in frames_bgr:
            writer.write(frame[..., ::-1])
    return str(path)


def _read_mp4(path):
    """(frames BGR, fps, width, height) of a video file."""
    cap = cv2.VideoCapture(str(path))
    info = (cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return (frames, ) + info


def _decode(rle):
    assert rle['size'] == [H, W] and isinstance(rle['counts'], str)
    return mask_util.decode(
        dict(size=rle['size'], counts=rle['counts'].encode())).astype(bool)


@pytest.fixture
def scripted(tmp_path):
    """(config file, checkpoint file) of the scripted model."""
    config = str(tmp_path / 'scripted_vis.py')
    scripted_config(scale=(48, 32)).dump(config)
    checkpoint = str(tmp_path / 'scripted_vis.pth')
    torch.save(
        dict(state_dict={},
             meta=dict(dataset_meta=dict(classes=list(CLASSES)))),
        checkpoint)
    return config, checkpoint


def _expected_ids(t):
    """Hand-rule id map of frame ``t``: instances above 0.3, painted in
    ascending score order (the higher score wins overlaps)."""
    rows = sorted((r for r in SCRIPT[t] if r[2] > 0.3), key=lambda r: r[2])
    ids = np.zeros((H, W), dtype=np.uint16)
    for track_id, _, _, box in rows:
        ids[rect_mask(box)] = OUT_IDS[track_id]
    return ids


def _check_scripted_outputs(out, png_dir, json_file, fps, frame_names):
    frames, out_fps, width, height = _read_mp4(out)
    assert (len(frames), out_fps, width, height) == (6, fps, W, H)

    for t in range(6):
        path = osp.join(png_dir, f'{t:06d}.png')
        assert Image.open(path).mode == 'P'  # ids <= 254: palette (auto)
        ids = read_id_png(path)
        assert ids.shape == (H, W)
        assert np.array_equal(ids, _expected_ids(t)), t
    # spot checks of the rules
    ids2 = read_id_png(osp.join(png_dir, '000002.png'))
    assert ids2[25, 20] == 1  # id 0 (0.9) over id 9 (0.5)
    assert ids2[35, 20] == 3  # id 9 alone
    assert ids2[55, 5] == 0  # id 5 (score 0.1) is dropped
    ids4 = read_id_png(osp.join(png_dir, '000004.png'))
    assert ids4[40, 86] == 2  # the second piece of id 7

    # --json: the official results of the video (every track, no score
    # threshold, the model's track ids) and a header
    data = json.loads(open(json_file).read())
    video = data['video']
    assert (video['id'], video['length'], video['height'],
            video['width']) == (1, 6, H, W)
    assert video['fps'] == fps and video['file_names'] == frame_names
    assert video['skipped_frames'] == []
    assert data['categories'] == [dict(id=i + 1, name=c)
                                  for i, c in enumerate(CLASSES)]
    results = {r['track_id']: r for r in data['results']}
    assert sorted(results) == [0, 5, 7, 9]
    heads = {
        i: {k: v for k, v in r.items() if k != 'segmentations'}
        for i, r in results.items()
    }
    assert heads[0] == dict(video_id=1, category_id=2, category='car',
                            score=pytest.approx(0.9), track_id=0)
    # label / score of the last appearance (frame 5), merged frame 4
    assert heads[7] == dict(video_id=1, category_id=5, category='bird',
                            score=pytest.approx(0.8), track_id=7)
    assert heads[9] == dict(video_id=1, category_id=6, category='horse',
                            score=pytest.approx(0.5), track_id=9)
    assert heads[5]['score'] == pytest.approx(0.1)  # below --score-thr
    for raw, result in results.items():
        segs = result['segmentations']
        assert len(segs) == 6
        for t, rle in enumerate(segs):
            boxes = [r[3] for r in SCRIPT[t] if r[0] == raw]
            if not boxes:
                assert rle is None
                continue
            expected = np.any([rect_mask(b) for b in boxes], axis=0)
            assert np.array_equal(_decode(rle), expected), (raw, t)
    return frames


def test_demo_scripted_model_on_mp4(tmp_path, scripted):
    config, checkpoint = scripted
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(6), fps=12)
    out = tmp_path / 'out' / 'drawn.mp4'
    summary = video_demo.main([
        video, config, checkpoint, '--out', str(out), '--png-dir',
        str(tmp_path / 'ids'), '--json', str(tmp_path / 'tracks.json'),
        '--device', 'cpu'
    ])
    assert (summary['frames'], summary['tracks']) == (6, 3)
    _check_scripted_outputs(out, tmp_path / 'ids', tmp_path / 'tracks.json',
                            12.0, None)


def test_demo_frame_folder_with_odd_names(tmp_path, scripted):
    """Frames v_1.png, v_2.PNG, v_9.jpg, v_10.png, v_11.jpeg, v_100.bmp
    (natural order) of flat grey 40, 60, ... 140, plus files to ignore."""
    config, checkpoint = scripted
    folder = tmp_path / 'my frames'
    folder.mkdir()
    names = ['v_100.bmp', 'v_9.jpg', 'v_1.png', 'v_11.jpeg', 'v_2.PNG',
             'v_10.png']
    order = ['v_1.png', 'v_2.PNG', 'v_9.jpg', 'v_10.png', 'v_11.jpeg',
             'v_100.bmp']
    greys = [40 + 20 * t for t in range(6)]
    for name in names:
        grey = greys[order.index(name)]
        cv2.imwrite(str(folder / name), np.full((H, W, 3), grey, np.uint8))
    (folder / 'Thumbs.db').write_bytes(b'\0\1')
    (folder / 'notes.txt').write_text('not a frame')

    out = tmp_path / 'drawn.mp4'
    summary = video_demo.main([
        str(folder), config, checkpoint, '--out', str(out), '--png-dir',
        str(tmp_path / 'ids'), '--json', str(tmp_path / 'tracks.json'),
        '--fps', '10', '--score-thr', '0.3'
    ])
    assert summary['frames'] == 6
    frames = _check_scripted_outputs(
        out, tmp_path / 'ids', tmp_path / 'tracks.json', 10.0,
        [str(folder / name) for name in order])

    for t, frame in enumerate(frames):
        # background untouched, frames in natural order
        assert abs(int(frame[60, 50].mean()) - greys[t]) <= 6
        # inside track 1 (bottom rows of its box, away from the label and
        # the contour): the same colour, blended half / half, in every frame
        # but frame 2, where track 3 covers these rows too
        if t == 2:
            continue
        x1 = 4 + 4 * t
        patch = frame[22:26, x1 + 4:x1 + 16].reshape(-1, 3).mean(axis=0)
        expected = 0.5 * greys[t] + 0.5 * np.array(instance_color(1)[::-1])
        assert np.abs(patch - expected).max() < 12, (t, patch, expected)
    # track 2 has its own colour (frames 1, 2, 4, 5)
    patch = frames[1][42:47, 66:76].reshape(-1, 3).mean(axis=0)
    expected = 0.5 * greys[1] + 0.5 * np.array(instance_color(2)[::-1])
    assert np.abs(patch - expected).max() < 12


def test_demo_masktrack_rcnn_on_mp4(tmp_path):
    """mmdet's MaskTrackRCNN, randomly initialised: its low-score
    detections (score threshold 0) go through every output."""
    cfg = tiny_masktrack_config(scale=(48, 32))
    config = str(tmp_path / 'masktrack_tiny.py')
    cfg.dump(config)
    checkpoint = save_random_checkpoint(cfg, str(tmp_path / 'random.pth'))
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(6), fps=25)
    out, png_dir, json_file = (tmp_path / 'out.mp4', tmp_path / 'ids',
                               tmp_path / 'tracks.json')
    summary = video_demo.main([
        video, config, checkpoint, '--out', str(out), '--png-dir',
        str(png_dir), '--json', str(json_file), '--score-thr', '0',
        '--png-format', '16bit'
    ])
    frames, fps, width, height = _read_mp4(out)
    assert (len(frames), fps, width, height) == (6, 25.0, W, H)

    data = json.loads(json_file.read_text())
    results = data['results']
    assert len(results) >= summary['tracks'] > 0  # --score-thr 0
    png_ids = set()
    for t in range(6):
        ids = cv2.imread(str(png_dir / f'{t:06d}.png'), cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint16 and ids.shape == (H, W)
        png_ids |= set(np.unique(ids).tolist()) - {0}
        masks = [np.zeros((H, W), bool) if r['segmentations'][t] is None
                 else _decode(r['segmentations'][t]) for r in results]
        union = np.any(masks, axis=0) if masks else np.zeros((H, W), bool)
        # the PNG shows tracks only inside the results' masks, and every
        # mask pixel belongs to some track
        assert not (ids != 0)[~union].any()
        assert (ids[union] != 0).all()
    assert len(png_ids) == summary['tracks']
    names = {c['id']: c['name'] for c in data['categories']}
    for result in results:
        assert len(result['segmentations']) == 6
        assert result['category'] == names[result['category_id']]
        assert 0 <= result['score'] <= 1


def _frame_result(**fields):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample()
    sample.pred_track_instances = InstanceData(**fields)
    return sample


def test_frame_instances_filters_and_validates():
    from mmdet.structures.mask import BitmapMasks
    masks = np.stack([rect_mask((0, 0, 8, 8)), rect_mask((10, 10, 20, 30))])
    result = _frame_result(
        instances_id=torch.tensor([4, 0]), labels=torch.tensor([2, 1]),
        scores=torch.tensor([0.2, 0.7]),
        masks=BitmapMasks(masks.astype(np.uint8), H, W))
    inst = video_demo.frame_instances(result, H, W, score_thr=0.3)
    assert inst['track_ids'].tolist() == [0] and inst['labels'].tolist() == [1]
    assert inst['scores'].tolist() == [pytest.approx(0.7)]
    assert inst['masks'].dtype == bool and np.array_equal(inst['masks'][0],
                                                          masks[1])
    assert inst['bboxes'] is None
    # a flat empty mask tensor is accepted for no instances
    empty = _frame_result(
        instances_id=torch.zeros(0, dtype=torch.long),
        labels=torch.zeros(0, dtype=torch.long), scores=torch.zeros(0),
        masks=torch.zeros(0, dtype=torch.bool))
    assert video_demo.frame_instances(empty, H, W, 0.3)['masks'].shape == (
        0, H, W)
    # ... also with the CTVIS class scores, flat and empty (a frame without
    # any track of an online Mask2Former; it crashed the demo)
    empty.pred_track_instances.class_scores = torch.zeros(0)
    assert video_demo.frame_instances(empty, H, W, 0.3)[
        'class_scores'].shape[0] == 0
    with pytest.raises(ValueError, match=r'masks have shape \(2, 32, 48\), '
                       r'expected \(2, 64, 96\)'):
        video_demo.frame_instances(
            _frame_result(instances_id=torch.tensor([1, 2]),
                          labels=torch.tensor([0, 0]),
                          scores=torch.tensor([0.9, 0.9]),
                          masks=torch.zeros(2, 32, 48, dtype=torch.bool)),
            H, W, 0.3)
    with pytest.raises(ValueError, match=r"lack \['instances_id'\]"):
        video_demo.frame_instances(
            _frame_result(labels=torch.tensor([0]), scores=torch.tensor([1.]),
                          masks=torch.zeros(1, H, W, dtype=torch.bool)),
            H, W, 0.3)


def test_demo_cli_help_and_errors(tmp_path, scripted):
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'demo', 'video_demo.py'), '--help'],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for text in ('INPUT', 'glob', '--png-dir', '--json', '--score-thr',
                 '--fps', 'natural order', '0 =\n'):
        assert text.replace('\n', '') in proc.stdout.replace('\n', ''), text
    config, checkpoint = scripted
    with pytest.raises(FileNotFoundError, match='no_such_video.mp4'):
        video_demo.main([str(tmp_path / 'no_such_video.mp4'), config,
                         checkpoint, '--out', str(tmp_path / 'o.mp4')])
    with pytest.raises(SystemExit):
        video_demo.parse_args(['in.mp4', config, checkpoint])  # no --out
    if not torch.cuda.is_available():
        video = _write_mp4(tmp_path / 'in.mp4', make_frames(2), fps=5)
        with pytest.raises(RuntimeError, match='CUDA is not available'):
            video_demo.main([video, config, checkpoint, '--out',
                             str(tmp_path / 'o.mp4'), '--device', 'cuda:0'])


def test_demo_online_mask2former_on_synthetic_frames(tmp_path, synthetic_root):
    """The package's own online VIS model (tiny MSTM config, random weights,
    thresholds 0 so that tracks exist) on a synthetic validation video given
    as a frame folder."""
    import glob

    from mmengine.config import Config
    config = osp.join(REPO, 'configs', 'online_vis',
                      'online-mask2former-mstm_tiny_1xb2-300it_'
                      'synthetic-vis.py')
    cfg = Config.fromfile(config)
    cfg.model.tracker.update(det_score_thr=0.0, new_track_thr=0.0)
    cfg_file = str(tmp_path / 'online_tiny.py')
    cfg.dump(cfg_file)
    checkpoint = save_random_checkpoint(
        cfg, str(tmp_path / 'random.pth'),
        classes=('person', 'car', 'dog', 'cat', 'bird', 'horse'))
    videos = sorted(glob.glob(osp.join(synthetic_root, 'ytvis', 'valid',
                                       'JPEGImages', '*')))
    frames_dir = videos[0]
    names = sorted(glob.glob(osp.join(frames_dir, '*')))
    first = cv2.imread(names[0])
    out, json_file = tmp_path / 'out.mp4', tmp_path / 'tracks.json'
    summary = video_demo.main([
        frames_dir, cfg_file, checkpoint, '--out', str(out), '--json',
        str(json_file), '--score-thr', '0', '--fps', '5', '--device', 'cpu'
    ])
    frames, fps, width, height = _read_mp4(out)
    assert (len(frames), fps) == (len(names), 5.0)
    assert (height, width) == first.shape[:2]
    tracks = json.loads(json_file.read_text())['results']
    assert len(tracks) >= summary['tracks'] > 0
    for track in tracks:
        assert len(track['segmentations']) == len(names)
        for rle in track['segmentations']:
            if rle is not None:
                assert rle['size'] == list(first.shape[:2])


# --------------------------------------------------------------------------
# bad input and faults: no partial outputs
# --------------------------------------------------------------------------
def _tree(folder):
    """Every file and folder under ``folder`` (relative paths)."""
    out = set()
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            out.add(osp.relpath(osp.join(root, name), folder))
    return out


def _outputs(tmp_path):
    """--out, --png-dir and --json paths in ``tmp_path/results``."""
    results = tmp_path / 'results'
    return results / 'out.mp4', results / 'ids', results / 'tracks.json'


def _previous_output(out):
    """A good output of an earlier run at ``out``; returns its bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_mp4(out, make_frames(2, seed=3), fps=5)
    return out.read_bytes()


@pytest.fixture
def damaged_mp4(tmp_path):
    """An 8-frame .mp4 (12 fps) whose compressed data is zeroed from the
    middle of frame 3 on: frame 3 still decodes (damaged, without any
    error), frames 4-7 do not."""
    good = _write_mp4(tmp_path / 'good.mp4', make_frames(8), fps=12)
    return damage_mp4(good, str(tmp_path / 'in_bad.mp4'), first_frame=3)


def test_demo_corrupt_mp4_leaves_nothing(tmp_path, scripted, damaged_mp4,
                                         capsys):
    """(a) The run fails at frame 4 naming it and the input; no output is
    left (no 4-frame out.mp4, no PNGs, no JSON, no temporaries) and the
    out.mp4 of an earlier run is unchanged."""
    config, checkpoint = scripted
    out, png_dir, json_file = _outputs(tmp_path)
    previous = _previous_output(out)
    before = _tree(tmp_path)
    with pytest.raises(OSError, match=r'in_bad\.mp4: cannot decode frame 4 '
                       r'\(the container reports 8 frames\)'):
        video_demo.main([
            damaged_mp4, config, checkpoint, '--out', str(out), '--png-dir',
            str(png_dir), '--json', str(json_file)
        ])
    assert out.read_bytes() == previous
    assert not png_dir.exists() and not json_file.exists()
    assert _tree(tmp_path) == before  # no temporaries left either
    assert 'no output was written' in capsys.readouterr().err


def test_demo_corrupt_mp4_skip_bad_frames(tmp_path, scripted, damaged_mp4,
                                          capsys):
    """(b) --skip-bad-frames: frames 4-7 are skipped and reported; the model
    sees frames 0-3 as frame ids 0-3; the MP4 has the 4 decoded frames, the
    PNGs keep the source indices, the JSON has null at skipped frames and
    lists them; the earlier out.mp4 is replaced."""
    config, checkpoint = scripted
    out, png_dir, json_file = _outputs(tmp_path)
    previous = _previous_output(out)
    ScriptedTracksVIS.calls.clear()
    summary = video_demo.main([
        damaged_mp4, config, checkpoint, '--out', str(out), '--png-dir',
        str(png_dir), '--json', str(json_file), '--skip-bad-frames'
    ])
    printed = capsys.readouterr().out
    assert summary['skipped_frames'] == [4, 5, 6, 7]
    assert (summary['frames'], summary['source_frames']) == (4, 8)
    assert 'skipped 4 of 8 frames that could not be decoded: 4-7' in printed
    assert 'frame 3 (decoded just before an undecodable frame) may be ' \
        'damaged' in printed
    assert [call[0]['frame_id'] for call in ScriptedTracksVIS.calls] == [
        0, 1, 2, 3
    ]
    assert out.read_bytes() != previous
    frames, fps, width, height = _read_mp4(out)
    assert (len(frames), fps, width, height) == (4, 12.0, W, H)
    assert sorted(os.listdir(png_dir)) == [f'{t:06d}.png' for t in range(4)]
    data = json.loads(json_file.read_text())
    video = data['video']
    assert video['length'] == 8 and video['skipped_frames'] == [4, 5, 6, 7]
    for track in data['results']:
        assert len(track['segmentations']) == 8
        assert track['segmentations'][4:] == [None] * 4
    assert sorted(_tree(out.parent)) == sorted(
        ['out.mp4', 'ids', 'tracks.json'] +
        [osp.join('ids', f'{t:06d}.png') for t in range(4)])


def test_demo_unwritable_json_fails_before_the_model(tmp_path, scripted,
                                                     monkeypatch):
    """(c) A --json path whose parent is a regular file: an error naming
    --json and the path before the model is built; nothing written."""
    config, checkpoint = scripted
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(3), fps=5)
    blocker = tmp_path / 'not_a_folder'
    blocker.write_text('a file')

    def no_model(*args, **kwargs):
        raise AssertionError('the model must not be built')

    monkeypatch.setattr(video_demo, 'init_vis_model', no_model)
    out, png_dir, _ = _outputs(tmp_path)
    before = _tree(tmp_path)
    bad_json = blocker / 'tracks.json'
    with pytest.raises(ValueError,
                       match=r'--json .*not_a_folder/tracks\.json: '
                       r'.*not_a_folder is a file, not a folder'):
        video_demo.main([
            video, config, checkpoint, '--out', str(out), '--png-dir',
            str(png_dir), '--json', str(bad_json)
        ])
    assert _tree(tmp_path) == before  # no out.mp4, no PNG folder, no results/


def test_demo_output_path_checks(tmp_path, scripted, monkeypatch):
    """Every unusable output path fails before the model, naming the
    argument, and leaves the file system as it was."""
    config, checkpoint = scripted
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(3), fps=5)
    monkeypatch.setattr(video_demo, 'init_vis_model', None)  # never called
    (tmp_path / 'a_dir.mp4').mkdir()
    (tmp_path / 'a_file').write_text('x')
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / '000000.png').write_bytes(b'')
    (foreign / 'notes.txt').write_text('not ours')
    frames_dir = tmp_path / 'frames'
    frames_dir.mkdir()
    cv2.imwrite(str(frames_dir / '000000.png'), make_frames(1)[0])
    out = str(tmp_path / 'o.mp4')
    cases = [
        (['--out', str(tmp_path / 'o.avi')],
         r'--out .*o\.avi: unsupported extension \.avi \(use \.mp4\)'),
        (['--out', str(tmp_path / 'a_dir.mp4')],
         r'--out .*a_dir\.mp4: is a folder'),
        (['--out', str(tmp_path / 'a_file' / 'o.mp4')],
         r'--out .*a_file is a file, not a folder'),
        (['--out', out, '--png-dir', str(tmp_path / 'a_file')],
         r'--png-dir .*a_file: is a file'),
        (['--out', out, '--png-dir', str(foreign)],
         r'--png-dir .*foreign: holds files that are not id PNGs of an '
         r'earlier run \(notes\.txt\)'),
        (['--out', out, '--json', str(tmp_path / 'a_dir.mp4')],
         r'--json .*a_dir\.mp4: is a folder'),
        (['--out', out, '--json', out], r'--json .*o\.mp4: is also --out'),
        (['--out', video], r'--out .*in\.mp4: is the input'),
    ]
    before = _tree(tmp_path)
    for extra, message in cases:
        with pytest.raises(ValueError, match=message):
            video_demo.main([video, config, checkpoint] + extra)
        assert _tree(tmp_path) == before, extra
    # a frame folder of 000000.png ... is an input, never a --png-dir
    with pytest.raises(ValueError, match=r'--png-dir .*frames: is the input'):
        video_demo.main([str(frames_dir), config, checkpoint, '--out', out,
                         '--png-dir', str(frames_dir)])
    assert _tree(tmp_path) == before


def test_demo_cli_output_error_exit_code(tmp_path, scripted):
    """Run as a script: exit code 2, a one-line error naming --json, no
    traceback, nothing written."""
    config, checkpoint = scripted
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(2), fps=5)
    (tmp_path / 'blocker').write_text('a file')
    before = _tree(tmp_path)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'demo', 'video_demo.py'), video,
         config, checkpoint, '--out', str(tmp_path / 'o.mp4'), '--json',
         str(tmp_path / 'blocker' / 't.json'), '--device', 'cpu'],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert 'error: --json' in proc.stderr and 'blocker' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert _tree(tmp_path) == before


@pytest.mark.parametrize('damage', ['pixels', 'header'])
def test_demo_frame_folder_with_corrupt_jpeg(tmp_path, scripted, damage,
                                             capsys):
    """(d) f4.jpg (frame 3 of 6) is corrupt: its pixels do not decode (the
    run fails at frame 3, after the model has seen frames 0-2) or its
    header does not read (the run fails when the folder is opened). The
    error names the file and the frame; nothing is written. With
    --skip-bad-frames the run succeeds without frame 3."""
    config, checkpoint = scripted
    folder = tmp_path / 'frames'
    folder.mkdir()
    for t, frame in enumerate(make_frames(6)):
        cv2.imwrite(str(folder / f'f{t + 1}.jpg'), frame)
    bad = folder / 'f4.jpg'
    if damage == 'pixels':
        damage_jpeg(str(bad))
    else:
        bad.write_bytes(b'this is no JPEG')
    out, png_dir, json_file = _outputs(tmp_path)
    args = [str(folder), config, checkpoint, '--out', str(out), '--png-dir',
            str(png_dir), '--json', str(json_file)]
    before = _tree(tmp_path)
    message = (r'cannot decode frame 3: .*f4\.jpg' if damage == 'pixels' else
               r'cannot read the image .*f4\.jpg \(frame 3 of ')
    ScriptedTracksVIS.calls.clear()
    with pytest.raises(OSError, match=message):
        video_demo.main(args)
    assert len(ScriptedTracksVIS.calls) == (3 if damage == 'pixels' else 0)
    assert _tree(tmp_path) == before
    assert 'no output was written' in capsys.readouterr().err

    ScriptedTracksVIS.calls.clear()
    summary = video_demo.main(args + ['--skip-bad-frames'])
    assert 'skipped 1 of 6 frames that could not be decoded: 3' in \
        capsys.readouterr().out
    assert (summary['frames'], summary['skipped_frames']) == (5, [3])
    # the model sees the 5 good frames as one video, in order
    assert [(c[0]['frame_id'], osp.basename(c[0]['img_path']))
            for c in ScriptedTracksVIS.calls] == [
                (0, 'f1.jpg'), (1, 'f2.jpg'), (2, 'f3.jpg'), (3, 'f5.jpg'),
                (4, 'f6.jpg')]
    assert len(_read_mp4(out)[0]) == 5
    assert sorted(os.listdir(png_dir)) == [
        f'{t:06d}.png' for t in (0, 1, 2, 4, 5)]
    data = json.loads(json_file.read_text())
    video = data['video']
    assert video['skipped_frames'] == [3] and video['length'] == 6
    assert [osp.basename(n) for n in video['file_names']] == [
        f'f{t}.jpg' for t in range(1, 7)]
    for track in data['results']:
        assert track['segmentations'][3] is None


def test_demo_interrupted_run_leaves_previous_outputs(tmp_path, scripted,
                                                      monkeypatch, capsys):
    """A KeyboardInterrupt half-way (frame 2 of 6): temporaries removed, the
    outputs of an earlier run (MP4, PNG folder, JSON) unchanged."""
    config, checkpoint = scripted
    video = _write_mp4(tmp_path / 'in.mp4', make_frames(6), fps=12)
    out, png_dir, json_file = _outputs(tmp_path)
    args = [video, config, checkpoint, '--out', str(out), '--png-dir',
            str(png_dir), '--json', str(json_file)]
    video_demo.main(args)  # a good earlier run
    before = {p: (tmp_path / p).read_bytes() for p in _tree(tmp_path)
              if (tmp_path / p).is_file()}
    tree = _tree(tmp_path)

    real = video_demo.frame_instances
    seen = []

    def interrupt(*args, **kwargs):
        seen.append(1)
        if len(seen) == 3:  # frame 2
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(video_demo, 'frame_instances', interrupt)
    capsys.readouterr()
    with pytest.raises(KeyboardInterrupt):
        video_demo.main(args)
    assert _tree(tmp_path) == tree
    assert {p: (tmp_path / p).read_bytes() for p in before} == before
    assert 'no output was written' in capsys.readouterr().err


def test_demo_json_scored_by_eval_vis_equals_the_test_tool(tmp_path,
                                                           synthetic_root):
    """The demo's --json on one synthetic validation video, scored by
    eval_vis.py, gives exactly tools/test.py's metric on that video, and its
    results are tools/test.py's submission (the same model, frames from a
    folder vs. the test data set)."""
    import glob
    import zipfile

    from mmengine.config import Config

    from mmvis_pretrain.datasets import SYNTHETIC_CLASSES
    ytvis = osp.join(synthetic_root, 'ytvis')
    gt = json.load(open(osp.join(ytvis, 'valid.json')))
    video = gt['videos'][0]
    one = dict(gt, videos=[video], annotations=[
        a for a in gt['annotations'] if a['video_id'] == video['id']])
    gt_file = tmp_path / 'one_video.json'
    gt_file.write_text(json.dumps(one))
    config = osp.join(REPO, 'configs', 'online_vis',
                      'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')
    cfg = Config.fromfile(config)
    cfg.model.tracker.update(det_score_thr=0.0, new_track_thr=0.0)
    cfg_file = str(tmp_path / 'online_tiny.py')
    cfg.dump(cfg_file)
    checkpoint = save_random_checkpoint(cfg, str(tmp_path / 'random.pth'),
                                        classes=SYNTHETIC_CLASSES)
    # tools/test.py on the one-video annotation file: its metric, then its
    # submission (a format-only run)
    test_tool = _load_script('tools/test.py', 'test_tool_for_demo')
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={ytvis}/',
               f'test_dataloader.dataset.ann_file={gt_file}',
               f'test_evaluator.ann_file={gt_file}']
    metrics = test_tool.main([cfg_file, checkpoint, '--work-dir',
                              str(tmp_path / 'test'), *options])
    test_tool.main([cfg_file, checkpoint, '--work-dir', str(tmp_path / 'test'),
                    '--submission', str(tmp_path / 'sub'), *options])
    with zipfile.ZipFile(tmp_path / 'sub' / 'submission.zip') as archive:
        submitted = json.loads(archive.read('results.json'))
    assert submitted, 'thresholds 0: the random model must output tracks'
    # the demo on the video's frame folder
    frames_dir = osp.join(ytvis, 'valid', 'JPEGImages',
                          osp.dirname(video['file_names'][0]))
    assert len(glob.glob(osp.join(frames_dir, '*'))) == video['length']
    demo_json = tmp_path / 'demo.json'
    video_demo.main([
        frames_dir, cfg_file, checkpoint, '--out', str(tmp_path / 'o.mp4'),
        '--json', str(demo_json), '--video-id', str(video['id']),
        '--device', 'cpu'])
    eval_vis = _load_script('tools/analysis_tools/eval_vis.py',
                            'eval_vis_for_demo')
    assert eval_vis.main([str(gt_file), str(demo_json), '--out',
                          str(tmp_path / 'm.json')]) == 0
    scored = json.loads((tmp_path / 'm.json').read_text())
    for key in ('AP', 'AP50', 'AP75', 'AR1', 'AR10', 'AR100'):
        assert scored[key] == pytest.approx(metrics[f'vis/{key}'],
                                            abs=1e-12), key
    # the same results, category ids mapped to the ground truth's
    demo = load_results(str(demo_json), one)

    def key(r):
        return (r['video_id'], r['category_id'], round(r['score'], 6),
                json.dumps(r['segmentations'], sort_keys=True))

    assert sorted(map(key, demo)) == sorted(map(key, submitted))
