"""Bad input to the video loaders: masks that are not of their frame's size,
training sets that end up empty, undecodable frames (issue "nothing
silently wrong", rows of docs/reliability.md)."""
import copy

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_pretrain.datasets import VISAnnotationError, VISDataset
from mmvis_pretrain.datasets.vis_json import load_vis_json
from test_vis_dataset import _scope  # noqa: F401 (autouse: registry scope)
from test_vis_dataset import (CLASSES, TRAIN_PIPELINE, H, W, box_mask, build,
                              to_cocovid, uncompressed_rle, write, ytvis_json)


def mask_2x() -> np.ndarray:
    """:func:`box_mask` at twice the video's resolution."""
    return np.kron(box_mask(), np.ones((2, 2), np.uint8))


def compressed(mask: np.ndarray, size=None) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=size or list(rle['size']),
                counts=rle['counts'].decode())


def expect_load_error(tmp_path, data, *fragments, **kwargs):
    with pytest.raises(VISAnnotationError) as info:
        build(tmp_path, data, pipeline=[], **kwargs)
    msg = str(info.value)
    assert str(tmp_path / 'ann.json') in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_one_track_at_twice_the_size_fails_at_load(tmp_path):
    # the measured case: a track whose RLEs are at 2x the video size
    data = ytvis_json()
    rle = uncompressed_rle(mask_2x())
    rle['size'] = [2 * H, 2 * W]
    data['annotations'][1]['segmentations'] = [rle] * 4
    expect_load_error(tmp_path, data, 'video id=1', 'annotation id=12',
                      "'segmentations'[0] (frame 0, 'v1/00000.jpg')",
                      "RLE 'size' [96, 128] is not the frame's [height, "
                      'width] = [48, 64]')


@pytest.mark.parametrize('mask_check', ['lazy', 'eager'])
def test_compressed_at_twice_the_size_fails_at_load(tmp_path, mask_check):
    data = ytvis_json()
    data['annotations'][2]['segmentations'] = [compressed(mask_2x())] * 3
    expect_load_error(tmp_path, data, 'video id=2', 'annotation id=13',
                      "RLE 'size' [96, 128]", mask_check=mask_check)


def test_every_mask_at_another_size_fails_at_load(tmp_path):
    # all masks drawn for 3x frames: polygons leave the frame (a small
    # polygon near the origin cannot tell; see docs/reliability.md), RLEs
    # have the wrong size
    data = ytvis_json()
    for ann in data['annotations']:
        segs = ann['segmentations']
        for t, seg in enumerate(segs):
            if isinstance(seg, list):
                segs[t] = [[3 * v for v in poly] for poly in seg]
            elif seg is not None:
                segs[t] = dict(size=[2 * H, 2 * W],
                               counts=uncompressed_rle(mask_2x())['counts'])
    expect_load_error(tmp_path, data, 'video id=1', 'annotation id=11',
                      "'segmentations'[0]", 'polygon reaches x in [12, 72], '
                      'y in [18, 48]', 'outside the 64 x 48')
    for ann in data['annotations']:  # only the RLEs wrong
        ann['segmentations'] = [
            s if isinstance(s, dict) or s is None else
            [[v / 3 for v in poly] for poly in s]
            for s in ann['segmentations']]
    expect_load_error(tmp_path, data, 'annotation id=12', "RLE 'size' "
                      '[96, 128] is not the frame\'s [height, width] = '
                      '[48, 64]')


def test_uncompressed_counts_of_another_size(tmp_path):
    data = ytvis_json()
    rle = uncompressed_rle(mask_2x())
    rle['size'] = [H, W]  # labelled with the right size, counts for 2x
    data['annotations'][1]['segmentations'][2] = rle
    expect_load_error(tmp_path, data, 'annotation id=12',
                      "'segmentations'[2] (frame 2, 'v1/00002.jpg')",
                      "uncompressed RLE 'counts' cover 12288 pixels, the "
                      'frame has 48 x 64 = 3072')


def test_compressed_counts_of_another_size_eager(tmp_path):
    data = ytvis_json()
    data['annotations'][2]['segmentations'][1] = compressed(
        mask_2x(), size=[H, W])
    expect_load_error(tmp_path, data, 'video id=2', 'annotation id=13',
                      "'segmentations'[1] (frame 1, 'v2/00001.jpg')",
                      "compressed RLE 'counts' cover 12288 pixels",
                      mask_check='eager')


def test_compressed_counts_of_another_size_lazy(tmp_path):
    # lazily: the load succeeds, the first fetch of the video fails before
    # pycocotools decodes anything
    data = ytvis_json()
    data['annotations'][2]['segmentations'][1] = compressed(
        mask_2x(), size=[H, W])
    ds = build(tmp_path, data, pipeline=TRAIN_PIPELINE)
    videos = [ds.get_data_info(i)['video_id'] for i in range(len(ds))]
    ds[videos.index(1)]  # an intact video loads
    with pytest.raises(VISAnnotationError) as info:
        ds[videos.index(2)]
    msg = str(info.value)
    for fragment in (str(tmp_path / 'ann.json'), 'video id=2',
                     'instance_id=13', "frame 1 ('", 'v2/00001.jpg',
                     "compressed RLE 'counts' cover 12288 pixels"):
        assert fragment in msg, msg


def test_cocovid_mask_size_checked(tmp_path):
    data = to_cocovid(ytvis_json())
    data['annotations'][0]['segmentation'] = dict(
        size=[2 * H, 2 * W], counts=uncompressed_rle(mask_2x())['counts'])
    path = write(tmp_path, data)['ann_file']
    with pytest.raises(VISAnnotationError, match=r"annotation id=.*'segment"
                       r"ation': RLE 'size' \[96, 128\] is not the frame's"):
        load_vis_json(path)


@pytest.mark.parametrize('annotations', ['empty', 'missing', 'null'])
def test_training_set_without_annotations(tmp_path, annotations):
    data = ytvis_json()
    if annotations == 'empty':
        data['annotations'] = []
    elif annotations == 'missing':
        del data['annotations']
    else:
        data['annotations'] = None
    expect_load_error(tmp_path, data, 'the training set is empty',
                      f"'annotations' is {annotations}", 'valid.json')
    # the same file loads for inference
    assert len(build(tmp_path, data, pipeline=[], test_mode=True)) == 3


def test_training_set_without_the_classes(tmp_path):
    expect_load_error(tmp_path, ytvis_json(), 'the training set is empty',
                      "none of its 4 annotations is of the dataset's classes"
                      " ['bird']", metainfo=dict(classes=('bird', )))


def test_training_set_emptied_by_min_size(tmp_path):
    expect_load_error(tmp_path, ytvis_json(), 'filter_cfg.min_size=64 '
                      'removed every frame', 'largest frame is 48 px',
                      filter_cfg=dict(filter_empty_gt=True, min_size=64))


def test_training_set_emptied_by_filter_empty_gt(tmp_path):
    data = ytvis_json()
    for ann in data['annotations']:
        ann['areas'] = [0 if a is not None else None for a in ann['areas']]
    expect_load_error(tmp_path, data, 'filter_empty_gt removed every frame')


def test_corrupt_frame_names_video_and_frame(tmp_path):
    data = ytvis_json()
    cfg = write(tmp_path, data)
    frame = tmp_path / 'frames' / 'v2' / '00001.jpg'
    frame.write_bytes(frame.read_bytes()[:20])  # truncated JPEG
    ds = VISDataset(**cfg, metainfo=dict(classes=CLASSES),
                    pipeline=copy.deepcopy(TRAIN_PIPELINE))
    videos = [ds.get_data_info(i)['video_id'] for i in range(len(ds))]
    with pytest.raises(Exception) as info:
        for _ in range(20):  # the reference frame is random: hit frame 1
            ds[videos.index(2)]
    text = str(info.value) + '\n'.join(getattr(info.value, '__notes__', []))
    assert 'failed to load image' in text
    assert "while loading frame 1 ('" in text and 'v2/00001.jpg' in text
    assert 'video id=2' in text and str(tmp_path / 'ann.json') in text


def test_mask_check_must_be_known(tmp_path):
    with pytest.raises(ValueError, match="mask_check must be one of "
                       r"\('lazy', 'eager'\), got 'always'"):
        build(tmp_path, ytvis_json(), pipeline=[], mask_check='always')
