"""The evaluation checks every mask before pycocotools sees it: RLE size,
compressed and uncompressed run totals, polygons inside the frame (rows of
docs/reliability.md)."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_pretrain.evaluation.functional import evaluate_vis

H, W = 12, 16


def compressed(h, w, size=(H, W)) -> dict:
    mask = np.zeros((h, w), np.uint8, order='F')
    mask[2:6, 3:9] = 1
    rle = mask_utils.encode(mask)
    return dict(size=list(size), counts=rle['counts'].decode())


def gt_and_results():
    good = compressed(H, W)
    gt = dict(
        videos=[dict(id=1, height=H, width=W, length=2)],
        categories=[dict(id=1, name='cat')],
        annotations=[dict(id=1, video_id=1, category_id=1, iscrowd=0,
                          segmentations=[good, good], areas=[24, 24])])
    results = [dict(video_id=1, category_id=1, score=.9,
                    segmentations=[good, good])]
    return gt, results


def test_intact_input_scores_one():
    gt, results = gt_and_results()
    assert evaluate_vis(gt, results)['AP'] == pytest.approx(1.0)


@pytest.mark.parametrize('shape,pixels', [((H + 7, W + 3), 19 * 19),
                                          ((H - 2, W), 10 * W)])
def test_result_counts_of_another_size(shape, pixels):
    gt, results = gt_and_results()
    results[0]['segmentations'][1] = compressed(*shape)
    with pytest.raises(ValueError) as info:
        evaluate_vis(gt, results)
    assert str(info.value) == (
        f"result #0 (video 1), frame 1: compressed RLE 'counts' cover "
        f'{pixels} pixels, the frame has {H} x {W} = {H * W}')


def test_gt_counts_of_another_size():
    gt, results = gt_and_results()
    gt['annotations'][0]['segmentations'][0] = compressed(H + 7, W + 3)
    with pytest.raises(ValueError, match=r'^ground-truth annotation id=1 '
                       r"\(video 1\), frame 0: compressed RLE 'counts' cover "
                       '361 pixels'):
        evaluate_vis(gt, results)


def test_gt_polygon_outside_the_frame():
    gt, results = gt_and_results()
    gt['annotations'][0]['segmentations'][0] = [[0, 0, 3 * W, 0, 3 * W,
                                                 3 * H]]
    with pytest.raises(ValueError, match=r'frame 0: polygon reaches x in '
                       r'\[0, 48\], y in \[0, 36\], outside the 16 x 12'):
        evaluate_vis(gt, results)
