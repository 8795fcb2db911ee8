"""``mmvis_pretrain.structures.mask_ops`` against pycocotools / mmdet /
``F.interpolate`` on random masks, and the mask NMS edge cases."""
import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.utils import aligned_bilinear
from mmdet.structures.mask import BitmapMasks, mask2bbox

from mmvis_pretrain.models.layers import mask_nms
from mmvis_pretrain.models.trackers.stmask_tracker import mask_iou
from mmvis_pretrain.structures import (decode_rle, encode_rle, mask_boxes,
                                       mask_iou_matrix,
                                       resize_masks_to_original)


def random_masks(num, h, w, seed=0, empty=(1, )):
    """Blobs, single pixels, border pixels, a full mask and empty masks."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((num, h, w), bool)
    for i in range(num):
        kind = i % 5
        if kind == 0:
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            y1, x1 = rng.integers(y0, h) + 1, rng.integers(x0, w) + 1
            masks[i, y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < .7
        elif kind == 1:
            masks[i] = rng.random((h, w)) < rng.random() * .2
        elif kind == 2:
            masks[i, rng.integers(0, h), rng.integers(0, w)] = True
        elif kind == 3:
            masks[i, h - 1, :] = masks[i, :, w - 1] = True
        else:
            masks[i] = True
    for i in empty:
        if i < num:
            masks[i] = False
    return masks


def coco_rles(masks):
    """pycocotools' RLEs, one ``encode`` per mask."""
    return [
        mask_util.encode(np.asfortranarray(m.astype(np.uint8)))
        for m in masks
    ]


# --------------------------------------------------------------------------
# RLE
# --------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(3))
@pytest.mark.parametrize(
    'kind', ['bool', 'uint8', 'float', 'torch', 'torch-float', 'bitmap',
             'column-major'])
def test_encode_equals_pycocotools_and_round_trips(seed, kind):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 40, 2)
    masks = random_masks(7, h, w, seed=seed)
    expected = [
        dict(size=[int(h), int(w)], counts=r['counts'].decode('ascii'))
        for r in coco_rles(masks)
    ]
    given = {
        'bool': lambda: masks,
        'uint8': lambda: masks.astype(np.uint8) * 3,  # nonzero = foreground
        'float': lambda: masks * rng.uniform(.1, 2., masks.shape),
        'torch': lambda: torch.from_numpy(masks),
        'torch-float': lambda: torch.from_numpy(masks.astype(np.float32)),
        'bitmap': lambda: BitmapMasks(masks, h, w),
        'column-major': lambda: decode_rle(expected),
    }[kind]()
    rles = encode_rle(given)
    assert rles == expected
    assert all(isinstance(r['counts'], str) for r in rles)
    decoded = decode_rle(rles)
    assert decoded.dtype == np.bool_ and decoded.shape == masks.shape
    np.testing.assert_array_equal(decoded, masks)


def test_encode_accelerator_path_on_cpu_tensors():
    """The transpose that accelerator tensors get before the copy."""
    from mmvis_pretrain.structures.mask_ops import _fortran_on_device
    masks = random_masks(5, 13, 7, seed=2)
    for given in (torch.from_numpy(masks), torch.from_numpy(masks * 2.5)):
        fortran = _fortran_on_device(given)
        assert fortran.flags.f_contiguous and fortran.dtype == np.uint8
        np.testing.assert_array_equal(fortran, masks.transpose(1, 2, 0))
    with pytest.raises(ValueError, match=r'\(M, H, W\)'):
        _fortran_on_device(torch.zeros(3, 4))


def test_encode_decode_empty_and_other_rle_forms():
    assert encode_rle(np.zeros((0, 5, 6), bool)) == []
    assert encode_rle(torch.zeros(0, 5, 6, dtype=torch.bool)) == []
    assert decode_rle([], shape=(5, 6)).shape == (0, 5, 6)
    with pytest.raises(ValueError, match='shape is needed'):
        decode_rle([])
    with pytest.raises(ValueError, match=r'\(M, H, W\)'):
        encode_rle(np.zeros((5, 6), bool))
    masks = random_masks(4, 9, 11, seed=5)
    rles = encode_rle(masks)
    # bytes counts (pycocotools' own) and uncompressed RLEs decode as well
    as_bytes = [dict(r, counts=r['counts'].encode()) for r in rles]
    np.testing.assert_array_equal(decode_rle(as_bytes), masks)
    flat = masks[2].ravel(order='F').astype(int)
    change = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.r_[0, change, flat.size]).tolist()
    uncompressed = dict(size=[9, 11], counts=([0] if flat[0] else []) +
                        counts)
    np.testing.assert_array_equal(decode_rle([uncompressed])[0], masks[2])
    with pytest.raises(ValueError, match='sizes'):
        decode_rle(rles, shape=(9, 12))


# --------------------------------------------------------------------------
# boxes
# --------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(4))
def test_boxes_equal_mask2bbox_and_to_bbox(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 50, 2)
    masks = random_masks(11, h, w, seed=seed, empty=(1, 6))
    # xyxy: mmdet's mask2bbox (torch) and BitmapMasks.get_bboxes
    expected = mask2bbox(torch.from_numpy(masks)).numpy()
    boxes = mask_boxes(masks)
    assert boxes.dtype == np.float32 and boxes.shape == (11, 4)
    np.testing.assert_array_equal(boxes, expected)
    np.testing.assert_array_equal(boxes[1], 0)  # empty
    np.testing.assert_array_equal(
        mask_boxes(BitmapMasks(masks, h, w)),
        BitmapMasks(masks, h, w).get_bboxes('hbox').numpy())
    # xywh: pycocotools' toBbox (zeros for an empty mask, too)
    expected = mask_util.toBbox(
        mask_util.encode(np.asfortranarray(
            masks.transpose(1, 2, 0).astype(np.uint8))))
    np.testing.assert_array_equal(mask_boxes(masks, fmt='xywh'), expected)
    # any dtype and layout; tensors in, tensors out
    for same in (masks.astype(np.float32), decode_rle(encode_rle(masks)),
                 np.repeat(masks, 2, axis=2)[:, :, ::2]):
        np.testing.assert_array_equal(mask_boxes(same), boxes)
    out = mask_boxes(torch.from_numpy(masks))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), boxes)


def test_boxes_edge_cases():
    assert mask_boxes(np.zeros((0, 4, 4), bool)).shape == (0, 4)
    assert mask_boxes([]).shape == (0, 4)
    assert mask_boxes(np.zeros((2, 0, 3), bool)).tolist() == [[0] * 4] * 2
    # a run of pixels crossing a column boundary (pycocotools' special case)
    mask = np.zeros((1, 5, 4), bool)
    mask[0, 3:, 0] = mask[0, :2, 1] = True
    assert mask_boxes(mask, fmt='xywh').tolist() == [[0, 0, 2, 5]]
    assert mask_boxes(mask).tolist() == [[0, 0, 2, 5]]
    with pytest.raises(ValueError, match='fmt'):
        mask_boxes(mask, fmt='cxcywh')


# --------------------------------------------------------------------------
# IoU
# --------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(4))
def test_iou_matrix_equals_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(2, 40, 2)
    a = random_masks(7, h, w, seed=seed, empty=(1, ))
    b = random_masks(5, h, w, seed=seed + 10, empty=(3, ))
    a[0, 0, 0] = True
    b[0] = a[0]  # an identical non-empty pair
    iou = mask_iou_matrix(torch.from_numpy(a), torch.from_numpy(b))
    assert iou.shape == (7, 5) and iou.dtype == torch.float32
    # pycocotools: iou(dt, gt) is (len(dt), len(gt)); 0 for empty / empty
    expected = mask_util.iou(coco_rles(a), coco_rles(b), [0] * len(b))
    np.testing.assert_allclose(iou.numpy(), expected, rtol=1e-6, atol=0)
    assert iou[0, 0] == 1 and iou[1, 3] == 0
    # the empty / empty value is a parameter; empty vs non-empty stays 0
    iou1 = mask_iou_matrix(torch.from_numpy(a), torch.from_numpy(b),
                           empty_iou=1.)
    assert iou1[1, 3] == 1
    iou1[1, 3] = 0
    assert torch.equal(iou1, iou)
    # 0/1 numbers as bool; self-IoU (one conversion) as two copies
    assert torch.equal(
        mask_iou_matrix(torch.from_numpy(a).float(),
                        torch.from_numpy(b).long()), iou)
    ta = torch.from_numpy(a)
    assert torch.equal(
        mask_iou_matrix(ta, ta), mask_iou_matrix(ta, ta.clone()))


def test_iou_matrix_callers_keep_their_rules():
    """STMask's tracker: 0 for two empty masks (its reference, as
    pycocotools), bit-identical to its former formula; mask NMS: 1."""
    a = torch.from_numpy(random_masks(6, 13, 17, seed=3, empty=(1, 4)))
    b = torch.from_numpy(random_masks(4, 13, 17, seed=4, empty=(2, )))
    af, bf = a.flatten(1).float(), b.flatten(1).float()
    inter = af @ bf.t()
    union = af.sum(1)[:, None] + bf.sum(1)[None, :] - inter
    former = torch.where(union > 0, inter / union.clamp(min=1),
                         torch.zeros_like(inter))
    assert torch.equal(mask_iou(a, b), former)
    assert mask_iou(a, b)[1, 2] == 0
    with pytest.raises(ValueError, match='share'):
        mask_iou_matrix(a, b[:, :3])


# --------------------------------------------------------------------------
# resize to the original size
# --------------------------------------------------------------------------
def _bilinear(x, size):
    return F.interpolate(x, size, mode='bilinear', align_corners=False)


@pytest.mark.parametrize('seed', range(3))
def test_resize_equals_the_online_models_interpolation(seed):
    g = torch.Generator().manual_seed(seed)
    num, h, w = 5, 24, 32  # masks on the padded input at 1/4 scale
    pad, img, ori = (96, 128), (90, 121), (180, 243)
    probs = torch.rand(num, h, w, generator=g)
    # OnlineMask2FormerVIS: (M, 1, h, w) -> pad -> crop -> ori, always
    ref = _bilinear(probs[:, None], pad)[:, :, :img[0], :img[1]]
    ref = _bilinear(ref, ori)[:, 0]
    out = resize_masks_to_original(probs, img, ori, pad_shape=pad)
    assert out.dtype == torch.float32 and torch.equal(out, ref)
    assert torch.equal(
        resize_masks_to_original(probs, img + (3, ), ori + (3, ),
                                 pad_shape=pad + (3, ), mask_thr=.5),
        ref > .5)
    # STMask: (1, M, h, w) channels -> input shape -> crop -> ori if needed
    ref = _bilinear(probs[None], pad)[0, :, :img[0], :img[1]]
    ref = _bilinear(ref[None], ori)[0]
    assert torch.equal(
        resize_masks_to_original(probs, img, ori, pad_shape=pad), ref)
    # STC: aligned_bilinear to the input scale, then crop -> ori if needed
    up = aligned_bilinear(probs[None], 4)
    ref = _bilinear(up[:, :, :img[0], :img[1]], ori)[0] > .5
    assert torch.equal(
        resize_masks_to_original(up[0], img, ori, mask_thr=.5), ref)
    # rescale=False (ori = img): crop only; the skipped resize to the same
    # size is the identity, as OnlineMask2FormerVIS' unconditional one
    crop = up[0, :, :img[0], :img[1]]
    assert torch.equal(resize_masks_to_original(up[0], img, img), crop)
    assert torch.equal(_bilinear(crop[:, None], img)[:, 0], crop)


def test_resize_without_masks():
    out = resize_masks_to_original(torch.zeros(0, 8, 8), (30, 31), (60, 62),
                                   pad_shape=(32, 32), mask_thr=.5)
    assert out.shape == (0, 60, 62) and out.dtype == torch.bool
    out = resize_masks_to_original(torch.zeros(0, 8, 8), (30, 31), (60, 62))
    assert out.shape == (0, 60, 62) and out.dtype == torch.float32
    with pytest.raises(ValueError, match=r'\(M, h, w\)'):
        resize_masks_to_original(torch.zeros(8, 8), (8, 8), (8, 8))


# --------------------------------------------------------------------------
# mask NMS edge cases
# --------------------------------------------------------------------------
def test_mask_nms_two_empty_candidates_are_duplicates():
    masks = torch.zeros(4, 6, 6, dtype=torch.bool)
    masks[1, :2, :2] = True  # the only non-empty candidate
    scores = torch.tensor([.5, .9, .7, .8])
    # empty 3 (0.8) is kept, empty 2 (0.7) and 0 (0.5) are its duplicates;
    # an empty mask never suppresses a non-empty one (IoU 0)
    assert mask_nms(masks, scores, iou_thr=.6).tolist() == [1, 3]
    # probabilities with nothing above mask_thr are empty masks too
    probs = masks.float() * .9 + .2
    assert mask_nms(probs, scores, iou_thr=.99).tolist() == [1, 3]


def test_mask_nms_iou_exactly_at_the_threshold_is_kept():
    masks = torch.zeros(2, 5, 5, dtype=torch.bool)
    masks[0, 0, :5] = True  # 5 px
    masks[1, 0, 2:5] = True  # 3 px inside: IoU 3/5
    masks_half = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks_half[0, 0] = True
    masks_half[1, 0, :2] = True  # IoU 2/4
    scores = torch.tensor([.9, .8])
    assert mask_iou_matrix(masks, masks)[0, 1].item() == pytest.approx(.6)
    # strict '>': IoU == iou_thr keeps both (compared in float32)
    assert mask_nms(masks, scores, iou_thr=.6).tolist() == [0, 1]
    assert mask_nms(masks_half, scores, iou_thr=.5).tolist() == [0, 1]
    # just below the IoU: suppressed
    assert mask_nms(masks, scores, iou_thr=.59).tolist() == [0]
    assert mask_nms(masks_half, scores, iou_thr=.49).tolist() == [0]
