"""Tests of MemoryBankTracker and mask_nms on synthetic detections."""
import math

import pytest
import torch

from mmvis_pretrain.models.layers import mask_iou_matrix, mask_nms
from mmvis_pretrain.models.trackers import MemoryBankTracker, bisoftmax
from mmvis_pretrain.registry import MODELS

C, K, H, W = 8, 3, 16, 16


def obj_embed(k: int, noise: float = 0., seed: int = 0) -> torch.Tensor:
    """Embedding of object ``k``: 10 * e_k (+ small noise)."""
    e = torch.zeros(C)
    e[k] = 10.
    if noise:
        g = torch.Generator().manual_seed(seed)
        e = e + noise * torch.randn(C, generator=g)
    return e


def obj_mask(k: int) -> torch.Tensor:
    """A 4 x 4 square per object, no two overlap (up to 4 objects)."""
    m = torch.zeros(H, W)
    r, c = divmod(k, 2)
    m[r * 8:r * 8 + 4, c * 8:c * 8 + 4] = 0.9
    return m


def probs(label: int, score: float) -> torch.Tensor:
    p = torch.full((K, ), (1 - score) / (K - 1))
    p[label] = score
    return p


def frame(dets):
    """dets: list of (object k, label, score[, embed]) -> update inputs.

    Returns (embeds (M, C), cls_probs (M, K), masks (M, H, W)); two
    background queries with score 0.005 (below det_score_thr) are added.
    """
    embeds, cls, masks = [], [], []
    for det in dets:
        k, label, score = det[:3]
        embeds.append(det[3] if len(det) > 3 else obj_embed(k))
        cls.append(probs(label, score))
        masks.append(obj_mask(k))
    for _ in range(2):
        embeds.append(torch.randn(C))
        cls.append(torch.full((K, ), 0.005))
        masks.append(torch.zeros(H, W))
    return torch.stack(embeds), torch.stack(cls), torch.stack(masks)


def ids_by_det(result, num_dets):
    """{input index: track id} of the kept detections."""
    out = {int(i): int(t) for i, t in zip(result.keep_inds,
                                            result.instances_id)}
    assert all(i < num_dets for i in out), 'a background query was kept'
    return out


def test_registered_and_ctvis_defaults():
    tracker = MODELS.build(dict(type='MemoryBankTracker'))
    assert isinstance(tracker, MemoryBankTracker)
    assert tracker.match_thr == 0.3 and tracker.max_missing == 20
    assert tracker.mask_nms_thr == 0.6 and tracker.cache_size == 10
    assert tracker.match_metric == 'bisoftmax'
    assert tracker.embed_update == 'similarity_guided'


def test_bisoftmax_hand_made():
    s = torch.tensor([[0., math.log(3.)], [0., 0.]])
    # rows: [1/4, 3/4], [1/2, 1/2]; columns: [1/2, 1/2], [3/4, 1/4]
    expected = torch.tensor([[0.375, 0.75], [0.5, 0.375]])
    assert torch.allclose(bisoftmax(s), expected)
    assert bisoftmax(torch.zeros(0, 2)).shape == (0, 2)


def test_mask_iou_and_nms_hand_made():
    m = torch.zeros(3, 4, 4, dtype=torch.bool)
    m[0, 0:2] = True  # rows 0-1: 8 px
    m[1, 0:3] = True  # rows 0-2: 12 px
    m[2, 1:4] = True  # rows 1-3: 12 px
    iou = mask_iou_matrix(m, m)
    assert iou[0, 1].item() == pytest.approx(8 / 12)
    assert iou[0, 2].item() == pytest.approx(4 / 16)
    assert iou[1, 2].item() == pytest.approx(8 / 16)
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert mask_nms(m, scores, 0.6).tolist() == [0, 2]
    assert mask_nms(m, scores, 0.7).tolist() == [0, 1, 2]
    # descending score order, and the lower-scored duplicate goes
    assert mask_nms(m, torch.tensor([0.7, 0.8, 0.9]), 0.6).tolist() == [2, 1]
    assert mask_nms(m, torch.tensor([0.7, 0.8, 0.9]), 0.4).tolist() == [2, 0]
    # float probabilities are binarised at mask_thr
    probs_m = m.float() * 0.8 + 0.1
    assert mask_nms(probs_m, scores, 0.6).tolist() == [0, 2]
    # mask 1: rows 0-1 at 0.6, row 2 at 0.9 -> rows 0-2 at mask_thr 0.5
    # (IoU 8/12 with mask 0: suppressed), row 2 only at 0.7 (IoU 0: kept)
    two = torch.zeros(2, 4, 4)
    two[0, 0:2] = 0.9
    two[1, 0:2], two[1, 2] = 0.6, 0.9
    assert mask_nms(two, scores[:2], 0.6).tolist() == [0]
    assert mask_nms(two, scores[:2], 0.6, mask_thr=0.7).tolist() == [0, 1]
    assert mask_nms(m[:0], scores[:0]).numel() == 0


def test_new_object_gets_new_id():
    tracker = MemoryBankTracker()
    for f in range(2):
        r = tracker.update(f, *frame([(0, 0, 0.9), (1, 1, 0.8)]))
        assert ids_by_det(r, 2) == {0: 0, 1: 1}
    r = tracker.update(2, *frame([(0, 0, 0.9), (1, 1, 0.8), (2, 2, 0.7)]))
    assert ids_by_det(r, 3) == {0: 0, 1: 1, 2: 2}
    # output order is descending frame score
    assert r.keep_inds.tolist() == [0, 1, 2]
    assert tracker.num_tracks == 3


@pytest.mark.parametrize('missing,same_id', [(3, True), (4, False)])
def test_occlusion_keeps_id_up_to_max_missing(missing, same_id):
    tracker = MemoryBankTracker(max_missing=3)
    f = 0
    for _ in range(3):  # A and B visible
        r = tracker.update(f, *frame([(0, 0, 0.9), (1, 1, 0.8)]))
        assert ids_by_det(r, 2) == {0: 0, 1: 1}
        f += 1
    for _ in range(missing):  # B occluded
        r = tracker.update(f, *frame([(0, 0, 0.9)]))
        assert ids_by_det(r, 1) == {0: 0}
        f += 1
    # B is back with a similar (noisy) embedding
    b = obj_embed(1, noise=0.5, seed=3)
    r = tracker.update(f, *frame([(0, 0, 0.9), (1, 1, 0.8, b)]))
    if same_id:
        assert ids_by_det(r, 2) == {0: 0, 1: 1}
    else:  # B's track was dropped: a new id, never a reused one
        assert ids_by_det(r, 2) == {0: 0, 1: 2}
        assert tracker.track_ids == [0, 2]


def test_two_similar_detections_never_share_an_id():
    for match_type in ('greedy', 'hungarian'):
        tracker = MemoryBankTracker(match_type=match_type)
        tracker.update(0, *frame([(0, 0, 0.9)]))
        # two detections with A's embedding, disjoint masks (not NMS'd)
        a1, a2 = obj_embed(0, 0.1, seed=1), obj_embed(0, 0.1, seed=2)
        embeds, cls, masks = frame([(0, 0, 0.7, a1), (0, 0, 0.8, a2)])
        masks[0] = obj_mask(3)
        r = tracker.update(1, embeds, cls, masks)
        ids = ids_by_det(r, 2)
        assert len(ids) == 2 and len(set(ids.values())) == 2
        if match_type == 'greedy':  # the higher score takes the track
            assert ids == {1: 0, 0: 1}


def test_mask_nms_removes_duplicate_detection():
    tracker = MemoryBankTracker()
    # detections 0 and 1 have the same mask, 1 has the higher score
    r = tracker.update(0, *frame([(0, 0, 0.7), (0, 0, 0.9), (1, 1, 0.8)]))
    assert r.keep_inds.tolist() == [1, 2]
    assert r.instances_id.tolist() == [0, 1]
    assert tracker.num_tracks == 2


def test_low_scores_and_new_track_threshold():
    tracker = MemoryBankTracker(det_score_thr=0.5, new_track_thr=0.75)
    # 0.9 and 0.8 -> new tracks, 0.6 -> candidate without a track, dropped;
    # the 0.005 background queries are no candidates
    r = tracker.update(0, *frame([(0, 0, 0.9), (1, 1, 0.8), (2, 2, 0.6)]))
    assert ids_by_det(r, 3) == {0: 0, 1: 1}
    assert tracker.num_tracks == 2
    # a 0.6 detection may continue an existing track
    r = tracker.update(1, *frame([(0, 0, 0.6), (1, 1, 0.8)]))
    assert ids_by_det(r, 2) == {0: 0, 1: 1}


def test_single_track_bank_greedy_vs_hungarian():
    """Documented CTVIS behaviour: with one track in the bank, its row
    softmax is 1, so every detection scores >= 0.5 against it and the greedy
    pass (detection-score order) gives it to the highest-scored detection;
    Hungarian maximises the total score and keeps it with its own object."""
    results = {}
    for match_type in ('greedy', 'hungarian'):
        tracker = MemoryBankTracker(match_type=match_type)
        tracker.update(0, *frame([(0, 0, 0.9)]))
        # A (0.6) with track A's embedding; a new object B (0.8)
        r = tracker.update(1, *frame([(0, 0, 0.6), (1, 1, 0.8)]))
        results[match_type] = ids_by_det(r, 2)
    # bisoftmax: A-det (1 + 1) / 2 = 1, B-det (1 + ~0) / 2 = 0.5
    assert results['greedy'] == {1: 0, 0: 1}
    assert results['hungarian'] == {0: 0, 1: 1}


def test_temporally_consistent_label_and_mean_score():
    tracker = MemoryBankTracker()
    seq = [torch.tensor([0.8, 0.1, 0.1]),  # argmax 0
           torch.tensor([0.3, 0.6, 0.1]),  # argmax 1 (the flip)
           torch.tensor([0.9, 0.05, 0.05])]  # argmax 0
    expected = [(0, 0.8), (0, (0.8 + 0.6) / 2), (0, (0.8 + 0.6 + 0.9) / 3)]
    for f, p in enumerate(seq):
        embeds, cls, masks = frame([(0, 0, 0.5)])
        cls[0] = p
        r = tracker.update(f, embeds, cls, masks)
        assert r.instances_id.tolist() == [0]
        assert r.labels.tolist() == [expected[f][0]]
        assert r.scores.item() == pytest.approx(expected[f][1], rel=1e-6)
    # mean class-probability vector [2/3, 0.25, 1/12] -> class 0
    assert tracker.tracks[0].cls_sum.tolist() == pytest.approx(
        [2.0, 0.75, 0.25])


def test_reset_at_frame_zero():
    tracker = MemoryBankTracker()
    for f in range(3):
        tracker.update(f, *frame([(0, 0, 0.9), (1, 1, 0.8)]))
    assert tracker.num_tracks == 2
    # a new video: ids restart, the old tracks are gone even for a
    # detection that looks like old track 1
    r = tracker.update(0, *frame([(1, 2, 0.9)]))
    assert ids_by_det(r, 1) == {0: 0}
    assert r.labels.tolist() == [2]
    assert tracker.num_tracks == 1 and tracker.next_id == 1
    tracker.update(5, *frame([]))
    with pytest.raises(ValueError, match='frame ids must increase'):
        tracker.update(4, *frame([]))


def test_similarity_guided_embedding_update():
    tracker = MemoryBankTracker(embed_update='similarity_guided',
                                cache_size=2)
    seq = [torch.tensor([1., 0.]), torch.tensor([0.6, 0.8]),
           torch.tensor([0., 1.]), torch.tensor([-1., 0.])]
    mask = obj_mask(0)[None]
    cls = probs(0, 0.9)[None]
    # beta_1 = cos(e1, e2) = 0.6: m = 0.4 e1 + 0.6 e2 = (0.76, 0.48)
    # beta_2 = mean(cos(e1, e3), cos(e2, e3)) = 0.4:
    #          m = 0.6 (0.76, 0.48) + 0.4 e3 = (0.456, 0.688)
    # beta_3 = max(0, mean(cos(e2, e4), cos(e3, e4))) = max(0, -0.3) = 0:
    #          m unchanged (cache_size 2: e1 is no longer used)
    expected = [(1., 0.), (0.76, 0.48), (0.456, 0.688), (0.456, 0.688)]
    for f, e in enumerate(seq):
        # a single track and a single detection: bisoftmax = 1, always joins
        tracker.update(f, e[None], cls, mask)
        assert tracker.tracks[0].embed.tolist() == pytest.approx(
            list(expected[f]), abs=1e-6)
        assert len(tracker.tracks[0].cache) == min(f + 1, 2)


def test_momentum_embedding_update():
    tracker = MemoryBankTracker(embed_update='momentum', momentum=0.75)
    mask, cls = obj_mask(0)[None], probs(0, 0.9)[None]
    tracker.update(0, torch.tensor([[1., 0.]]), cls, mask)
    tracker.update(1, torch.tensor([[0.6, 0.8]]), cls, mask)
    assert tracker.tracks[0].embed.tolist() == pytest.approx([0.7, 0.6])


def test_frame_weight_prefers_long_tracks():
    results = {}
    for frame_weight in (True, False):
        tracker = MemoryBankTracker(frame_weight=frame_weight)
        for f in range(5):  # A seen 5 times, B once (frame 4)
            dets = [(0, 0, 0.9)] + ([(1, 1, 0.8)] if f == 4 else [])
            tracker.update(f, *frame(dets))
        assert tracker.track_ids == [0, 1]
        # one detection: rows softmax [0.45, 0.55], columns 1 -> both
        # bisoftmax scores > 0.3; 0.725 * 5 > 0.775 * 1
        d = torch.zeros(C)
        d[1], d[2] = 0.02, 1.  # d.A = 0, d.B = 0.2
        r = tracker.update(5, *frame([(2, 2, 0.9, d)]))
        results[frame_weight] = ids_by_det(r, 1)
    assert results == {True: {0: 0}, False: {0: 1}}


def test_state_does_not_grow_with_video_length():
    tracker = MemoryBankTracker(max_missing=2)
    for f in range(60):
        dets = [(0, 0, 0.9)] + ([(1, 1, 0.8)] if f < 10 else [])
        r = tracker.update(f, *frame(dets))
        assert r.instances_id.tolist()[0] == 0
    assert tracker.num_tracks == 1  # B dropped after 2 missing frames
    assert len(tracker.tracks[0].cache) == tracker.cache_size
    assert tracker.tracks[0].count == 60


def test_empty_frame_and_bad_inputs():
    tracker = MemoryBankTracker()
    r = tracker.update(0, torch.zeros(0, C), torch.zeros(0, K),
                       torch.zeros(0, H, W))
    assert len(r) == 0 and r.instances_id.dtype == torch.long
    with pytest.raises(ValueError, match='same M'):
        tracker.update(1, torch.zeros(2, C), torch.zeros(3, K),
                       torch.zeros(2, H, W))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_inputs():
    tracker = MemoryBankTracker()
    for f in range(3):
        e, c, m = frame([(0, 0, 0.9), (1, 1, 0.8)])
        r = tracker.update(f, e.cuda(), c.cuda(), m.cuda() > 0.5)
        assert r.instances_id.is_cuda
        assert r.instances_id.tolist() == [0, 1]


def test_ctvis_video_scoring_on_a_hand_made_track():
    """CTVIS's rule: softmax of the track's mean raw logits (no-object
    dropped after the softmax), not the mean of per-frame probabilities."""
    tracker = MemoryBankTracker(video_scoring='ctvis', det_score_thr=0.,
                                new_track_thr=0.)
    # one object over two frames; logits (K + 1 = 4, no-object last)
    z1 = torch.tensor([2.0, 6.0, 0.0, 0.0])
    z2 = torch.tensor([2.0, -6.0, 0.0, 0.0])
    embeds = obj_embed(0)[None]
    masks = obj_mask(0)[None]
    for t, z in enumerate((z1, z2)):
        out = tracker.update(t, embeds, z.softmax(0)[None, :-1], masks,
                             cls_logits=z[None])
    expected = ((z1 + z2) / 2).softmax(0)[:-1]
    assert torch.allclose(out.class_scores[0], expected)
    assert out.labels.tolist() == [int(expected.argmax())] == [0]
    assert out.scores[0] == pytest.approx(float(expected.max()))
    # the package's former rule picks another class on the same track
    mean_prob = (z1.softmax(0)[:-1] + z2.softmax(0)[:-1]) / 2
    assert int(mean_prob.argmax()) == 1
    # mask score: mean probability inside the masks over the frames
    ms = tracker.add_mask_scores(out.instances_id, torch.tensor([7.2]),
                                 torch.tensor([8.]))
    ms = tracker.add_mask_scores(out.instances_id, torch.tensor([0.8]),
                                 torch.tensor([2.]))
    assert ms.tolist() == pytest.approx([8.0 / 10.0])


def test_ctvis_scoring_needs_logits():
    tracker = MemoryBankTracker(video_scoring='ctvis')
    embeds, cls, masks = frame([(0, 0, 0.9)])
    with pytest.raises(ValueError, match="needs cls_logits"):
        tracker.update(0, embeds, cls, masks)
    with pytest.raises(ValueError, match='video_scoring must be one of'):
        MemoryBankTracker(video_scoring='max')
    empty = tracker.update(0, embeds[:0], cls[:0], masks[:0],
                           cls_logits=torch.zeros(0, K + 1))
    assert tuple(empty.class_scores.shape) == (0, K)
