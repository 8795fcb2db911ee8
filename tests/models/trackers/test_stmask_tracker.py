"""STMaskTracker (STMask sec. 3.2, eqs. 15-17) on a synthetic occlusion:
warped tracks supplement missed detections with decaying scores, come back
under their old id, and die after ``max_missed`` frames."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmvis_pretrain.models.tracking_heads import TemporalFusion
from mmvis_pretrain.models.trackers import STMaskTracker
from mmvis_pretrain.models.trackers.stmask_tracker import mask_iou
from mmvis_pretrain.registry import MODELS

SHAPE = (32, 32)
# one constant prototype: a mask is its (1-pixel padded) box
PROTOS = torch.full((1, 32, 32), 10.0)
FEAT = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
A_BOX, B_BOX = [2., 2., 10., 10.], [20., 20., 28., 28.]
E_A, E_B, E_C = [1., 0., 0.], [0., 1., 0.], [0., 0., 1.]


def _tf():
    """An untrained temporal fusion module: the identity warp."""
    tf = TemporalFusion(
        in_channels=4, num_protos=1, patch_size=3, feat_stride=4,
        conv_channels=(8, ))
    tf.init_weights()
    return tf


def _dets(*objects):
    """objects: (box, label, score, embedding)."""
    dets = InstanceData()
    dets.bboxes = torch.tensor([o[0] for o in objects]).view(-1, 4)
    dets.labels = torch.tensor([o[1] for o in objects], dtype=torch.long)
    dets.scores = torch.tensor([o[2] for o in objects])
    dets.coeffs = torch.ones(len(objects), 1)
    dets.track_embeds = torch.tensor([o[3] for o in objects]).view(-1, 3)
    return dets


def _step(tracker, frame_id, tf, *objects):
    return tracker.track(frame_id, _dets(*objects), PROTOS, FEAT, SHAPE, tf)


def _by_id(out):
    return {int(i): (int(lb), float(s), bool(d), b.tolist())
            for i, lb, s, d, b in zip(out.instances_id, out.labels,
                                      out.scores, out.detected, out.bboxes)}


def test_occluded_track_is_supplemented_and_reidentified():
    tracker = STMaskTracker()
    tf = _tf()
    out = _step(tracker, 0, tf, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.8, E_B))
    assert _by_id(out) == {
        0: (0, pytest.approx(0.9), True, A_BOX),
        1: (1, pytest.approx(0.8), True, B_BOX)
    }
    assert out.masks.shape == (2, 32, 32)
    # B occluded for two frames: reported from the warp, not detected, with
    # its video-level score unchanged and its own score decaying
    for frame in (1, 2):
        out = _step(tracker, frame, tf, ([2., 3., 10., 11.], 0, 0.9, E_A))
        tracks = _by_id(out)
        assert set(tracks) == {0, 1}
        assert tracks[0][2] is True and tracks[1][2] is False
        assert tracks[1][1] == pytest.approx(0.8)
        assert tracks[1][3] == pytest.approx(B_BOX, abs=1e-4)
    assert float(tracker.scores[1]) == pytest.approx(0.8 * 0.95**2)
    assert tracker.missed.tolist() == [0, 2]
    # B comes back a little further: same id, not a new track
    out = _step(tracker, 3, tf, ([2., 3., 10., 11.], 0, 0.9, E_A),
                ([22., 21., 30., 29.], 1, 0.7, E_B))
    tracks = _by_id(out)
    assert set(tracks) == {0, 1} and tracks[1][2] is True
    assert tracks[1][3] == [22., 21., 30., 29.]
    # video-level score of B: mean over its detected frames (0.8, 0.7)
    assert tracks[1][1] == pytest.approx(0.75)
    # a new object gets a new id
    out = _step(tracker, 4, tf, ([2., 3., 10., 11.], 0, 0.9, E_A),
                ([22., 21., 30., 29.], 1, 0.7, E_B),
                ([12., 20., 18., 30.], 0, 0.6, E_C))
    assert sorted(_by_id(out)) == [0, 1, 2]
    # a new video starts from id 0 again
    out = _step(tracker, 0, tf, (B_BOX, 1, 0.8, E_B))
    assert out.instances_id.tolist() == [0] and tracker.num_tracks == 1


def test_tracks_die_after_max_missed_frames_or_low_scores():
    tracker = STMaskTracker(max_missed=2)
    tf = _tf()
    _step(tracker, 0, tf, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.8, E_B))
    for frame in (1, 2):
        assert len(_step(tracker, frame, tf, (A_BOX, 0, 0.9, E_A))) == 2
    # a third missed frame: B is gone; back at frame 4 it is a new track
    assert _by_id(_step(tracker, 3, tf, (A_BOX, 0, 0.9, E_A))).keys() == {0}
    out = _step(tracker, 4, tf, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.8, E_B))
    assert sorted(_by_id(out)) == [0, 2]

    # score decay: 0.55 -> 0.5225 (kept) -> 0.4964 (<= 0.5: dropped)
    tracker = STMaskTracker(score_thr=0.5)
    _step(tracker, 0, tf, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.55, E_B))
    assert len(_step(tracker, 1, tf, (A_BOX, 0, 0.9, E_A))) == 2
    assert len(_step(tracker, 2, tf, (A_BOX, 0, 0.9, E_A))) == 1


def test_match_score_duplicates_and_video_level_label():
    tracker = STMaskTracker()
    tf = _tf()
    _step(tracker, 0, tf, (A_BOX, 0, 0.9, E_A))
    dets = tracker._prepare(
        _dets((A_BOX, 0, 0.9, E_A), (B_BOX, 0, 0.9, E_B)), PROTOS, SHAPE)
    scores = tracker.match_scores(dets)
    # same box, same embedding: (1 + 1) / 2 + 1 + 2 * 1 = 4;
    # disjoint box, orthogonal embedding: 0.5
    assert scores[:, 0].tolist() == pytest.approx([4.0, 0.5])
    # two detections of A: the higher-scoring one continues the track, the
    # other is dropped as a duplicate (no new id)
    out = _step(tracker, 1, tf, ([2., 2., 10., 11.], 2, 0.6, E_A),
                ([2., 2., 10., 10.], 2, 0.5, E_A))
    assert out.instances_id.tolist() == [0]
    assert out.bboxes.tolist() == [[2., 2., 10., 11.]]
    # label history 0 (0.9), 2 (0.6), 2 (0.6): class 2 has the larger sum
    out = _step(tracker, 2, tf, ([2., 2., 10., 11.], 2, 0.6, E_A))
    assert out.labels.tolist() == [2]
    assert out.scores.tolist() == pytest.approx([1.2 / 3])


def test_without_temporal_fusion_undetected_tracks_are_kept_not_reported():
    tracker = MODELS.build(dict(type='STMaskTracker'))
    _step(tracker, 0, None, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.8, E_B))
    out = _step(tracker, 1, None, (A_BOX, 0, 0.9, E_A))
    assert out.instances_id.tolist() == [0] and tracker.num_tracks == 2
    out = _step(tracker, 2, None, (A_BOX, 0, 0.9, E_A), (B_BOX, 1, 0.8, E_B))
    assert out.instances_id.tolist() == [0, 1]
    # an empty frame
    out = _step(tracker, 3, None)
    assert len(out) == 0 and out.masks.shape == (0, 32, 32)


def test_embeddings_default_to_normalised_coefficients():
    tracker = STMaskTracker()
    dets = _dets((A_BOX, 0, 0.9, E_A))
    del dets.track_embeds
    dets.coeffs = torch.tensor([[3.0]])
    prepared = tracker._prepare(dets, PROTOS, SHAPE)
    assert prepared.embeds.tolist() == [[1.0]]


def test_mask_iou():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2, :2] = True
    a[1, :, :] = True
    b = torch.zeros(2, 4, 4, dtype=torch.bool)
    b[0, :2, :] = True
    iou = mask_iou(a, b)
    assert iou.tolist() == [[pytest.approx(0.5), 0.0], [0.5, 0.0]]


def _reference_new_object(scores: torch.Tensor) -> torch.Tensor:
    """The STMask reference code's decision for one detection per row: a
    "new object" column scored 0.5 + 0.3 + 2 * 0.3 = 1.4 in front of the
    tracks, argmax (ties to the first column, the new object)."""
    dummy = torch.full((scores.shape[0], 1), 0.5 + 0.3 + 2 * 0.3)
    return torch.cat([dummy, scores], dim=1).argmax(dim=1) == 0


@pytest.mark.parametrize('thr,agrees', [(None, True), (0.9, False)])
def test_default_match_threshold_is_the_reference_rule(monkeypatch, thr,
                                                       agrees):
    """Default 1.4 reproduces the reference code's decisions on random match
    scores (and exact ties); the paper's 0.9 does not."""
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(190, 3, generator=gen) * 4  # S in [0, 4]
    scores[:5, 0] = 1.4  # exact ties go to a new object
    tracker = STMaskTracker() if thr is None else STMaskTracker(
        match_thr=thr)
    if thr is None:
        assert tracker.match_thr == 1.4
    monkeypatch.setattr(type(tracker), 'num_tracks', property(lambda s: 3))
    new = []
    for row in scores:
        monkeypatch.setattr(tracker, 'match_scores',
                            lambda dets, row=row: row[None])
        dets = InstanceData(scores=torch.ones(1))
        new.append(bool(tracker._match(dets)[0] == -1))
    reference = _reference_new_object(scores).tolist()
    differ = sum(a != b for a, b in zip(new, reference))
    assert (differ == 0) == agrees, differ
