"""Mask checks shared by the loaders and the evaluation: compressed RLE
run totals (against pycocotools) and the size / polygon / counts rules."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_pretrain.structures import (POLYGON_TOLERANCE, SegmentationChecker,
                                       compressed_rle_problems,
                                       compressed_rle_totals,
                                       describe_compressed_rle,
                                       segmentation_problem)
from mmvis_pretrain.structures import compressed_rle as compressed_rle_module


def encode(mask: np.ndarray) -> str:
    return mask_utils.encode(np.asfortranarray(mask.astype(
        np.uint8)))['counts'].decode('ascii')


def test_totals_match_pycocotools_on_random_masks():
    rng = np.random.default_rng(0)
    counts, pixels, areas = [], [], []
    for i in range(200):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        mask = rng.random((h, w)) < rng.random()
        if i % 7 == 0:
            mask[:] = i % 2  # one run (all 0) or a zero run then all 1
        counts.append(encode(mask) if i % 2 else encode(mask).encode())
        pixels.append(h * w)
        areas.append(int(mask.sum()))
    totals, valid = compressed_rle_totals(counts)
    assert valid.all()
    assert totals.tolist() == pixels
    assert compressed_rle_problems(counts, pixels).size == 0


def test_chunks_give_the_same_totals(monkeypatch):
    rng = np.random.default_rng(1)
    counts = [encode(rng.random((20, 30)) < .3) for _ in range(50)]
    whole = compressed_rle_totals(counts)
    monkeypatch.setattr(compressed_rle_module, 'CHUNK_CHARS', 7)
    chunked = compressed_rle_totals(counts)
    assert whole[0].tolist() == chunked[0].tolist() == [600] * 50
    assert whole[1].all() and chunked[1].all()


def test_malformed_strings():
    good = encode(np.ones((17, 13), bool))
    counts = [good, good[:-1] + 'o', 'é', '', '0' * 8 + '1', '\x01',
              'oooooooo0', good]
    totals, valid = compressed_rle_totals(counts)
    # truncated group, non-ASCII, char below '0', a run of 8 groups
    assert valid.tolist() == [True, False, False, True, True, False, False,
                              True]
    assert totals[0] == totals[-1] == 17 * 13
    assert totals[3] == 0 and totals[4] == 1


def test_negative_run_is_invalid():
    # run 3 is stored as a delta to run 1: a delta below -run1 is negative
    rle = mask_utils.frPyObjects(
        dict(size=[4, 4], counts=[2, 3, 1, 10]), 4, 4)
    text = rle['counts'].decode()
    assert compressed_rle_totals([text])[1][0]
    # decrement the last run by making its delta hugely negative: '0' + sign
    bad = text[:-1] + chr(48 + 0x10)  # value -16 relative to run 1
    totals, valid = compressed_rle_totals([bad])
    assert not valid[0]


@pytest.mark.parametrize('shape,size,expect', [
    ((8, 6), [8, 6], ''),
    ((15, 9), [8, 6], 'cover 135 pixels, the frame has 8 x 6 = 48'),
    ((4, 6), [8, 6], 'cover 24 pixels, the frame has 8 x 6 = 48'),
])
def test_describe_compressed_rle(shape, size, expect):
    text = encode(np.ones(shape, bool))
    got = describe_compressed_rle(text, *size)
    assert got.endswith(expect) and bool(got) == bool(expect)


def test_segmentation_problem_rules():
    h, w = 10, 20
    ok_rle = dict(size=[h, w], counts=encode(np.zeros((h, w), bool)))
    assert segmentation_problem(ok_rle, h, w) is None
    assert segmentation_problem(dict(size=[h, w], counts=[h * w]), h, w) \
        is None
    assert "is not the frame's [height, width] = [10, 20]" in \
        segmentation_problem(dict(ok_rle, size=[2 * h, 2 * w]), h, w)
    assert 'cover 199 pixels' in segmentation_problem(
        dict(size=[h, w], counts=[100, 99]), h, w)
    assert 'non-negative ints' in segmentation_problem(
        dict(size=[h, w], counts=[250, -50]), h, w)
    assert 'non-negative ints' in segmentation_problem(
        dict(size=[h, w], counts=[100.5, 99.5]), h, w)
    inside = [[0, 0, w, 0, w, h]]
    assert segmentation_problem(inside, h, w) is None
    tol = POLYGON_TOLERANCE
    assert segmentation_problem([[-tol, 0, w + tol, 0, w, h + tol]], h,
                                w) is None
    msg = segmentation_problem([[0, 0, 2 * w, 0, 2 * w, 2 * h]], h, w)
    assert 'outside the 20 x 10 (width x height) frame' in msg
    assert 'at least 3 points' in segmentation_problem([[0, 0, 1, 1]], h, w)
    assert segmentation_problem([[0, 0, 1, 1]], h, w,
                                min_polygon_points=2) is None
    assert 'must be finite' in segmentation_problem(
        [[0, 0, float('nan'), 1, 2, 2]], h, w)


def test_checker_names_the_first_bad_mask_in_a_batch():
    h, w = 6, 7
    good = dict(size=[h, w], counts=encode(np.ones((h, w), bool)))
    bad = dict(size=[h, w], counts=encode(np.ones((h + 1, w), bool)))
    failures = []

    def fail(where, problem):
        failures.append((where, problem))
        raise ValueError(f'{where}: {problem}')

    checker = SegmentationChecker(fail)
    for where, seg in (('a', good), ('b', bad), ('c', good), ('d', bad)):
        checker.add(seg, h, w, where)
    assert not failures  # compressed counts are decoded in finish()
    with pytest.raises(ValueError, match=r'^b: compressed RLE .* cover 49 '
                       r'pixels.*\(2 such masks in all\)'):
        checker.finish()
    lazy = SegmentationChecker(fail, decode_compressed=False)
    lazy.add(bad, h, w, 'e')
    lazy.finish()  # nothing queued
    with pytest.raises(ValueError, match="^f: RLE 'size'"):
        lazy.add(dict(bad, size=[h, w + 1]), h, w, 'f')
