"""The tracker interface (BaseVISTracker) on every tracker of the package:
reset at a new video, payloads that follow their track through an
occlusion and die with it."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmvis_pretrain.models.trackers import (BaseVISTracker,
                                            MemoryBankTracker, STMaskTracker)
from test_memory_bank_tracker import frame as mb_frame


def test_every_tracker_implements_the_interface():
    for tracker in (MemoryBankTracker(), STMaskTracker()):
        assert isinstance(tracker, BaseVISTracker)
        assert tracker.track_ids == []
        assert tracker.payloads == {}


def _mb_step(tracker, t, objects, payloads=None):
    """objects: [(object k, label, score)] -> {object k: track id}."""
    out = tracker.update(t, *mb_frame(objects), payloads=payloads)
    kept = out.keep_inds.tolist()
    return {objects[d][0]: int(i) for d, i in zip(kept, out.instances_id)}


def test_memory_bank_payload_follows_the_track_through_an_occlusion():
    tracker = MemoryBankTracker(max_missing=2)
    a = _mb_step(tracker, 0, [(0, 0, 0.9), (1, 1, 0.8)],
                 payloads=['a0', 'b0', 'bg', 'bg'])
    assert tracker.payload(a[0]) == 'a0' and tracker.payload(a[1]) == 'b0'
    # object 1 is occluded for two frames: its payload stays with its track
    _mb_step(tracker, 1, [(0, 0, 0.9)], payloads=['a1', 'bg', 'bg'])
    _mb_step(tracker, 2, [(0, 0, 0.9)], payloads=['a2', 'bg', 'bg'])
    assert tracker.payload(a[1]) == 'b0'
    back = _mb_step(tracker, 3, [(0, 0, 0.9), (1, 1, 0.8)],
                    payloads=['a3', 'b3', 'bg', 'bg'])
    assert back == a  # same ids after the occlusion
    assert tracker.payload(a[0]) == 'a3' and tracker.payload(a[1]) == 'b3'
    # gone for longer than max_missing: the track dies with its payload
    for t in (4, 5, 6, 7):
        _mb_step(tracker, t, [(0, 0, 0.9)], payloads=['a', 'bg', 'bg'])
    assert a[1] not in tracker.track_ids
    assert a[1] not in tracker.payloads
    # a new video: no tracks, no payloads, ids restart
    tracker.reset()
    assert tracker.track_ids == [] and tracker.payloads == {}
    assert _mb_step(tracker, 0, [(1, 1, 0.8)], payloads=['x', 'bg', 'bg']) \
        == {1: 0}


def test_reset_once_per_video():
    """A tracker reset by its model at frame 0 does not reset again when it
    sees frame 0; used alone, frame 0 starts a new video."""
    tracker = MemoryBankTracker()
    calls = []
    original = tracker.reset

    def spy():
        calls.append(1)
        original()

    tracker.reset = spy
    tracker.reset()  # the model's reset
    tracker.update(0, *mb_frame([(0, 0, 0.9)]))
    tracker.update(1, *mb_frame([(0, 0, 0.9)]))
    assert len(calls) == 1
    tracker.update(0, *mb_frame([(0, 0, 0.9)]))  # alone: a new video
    assert len(calls) == 2


def _stmask_dets(boxes, scores, embeds):
    n = len(boxes)
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float),
        labels=torch.zeros(n, dtype=torch.long),
        scores=torch.tensor(scores, dtype=torch.float),
        coeffs=torch.full((n, 1), 10.0),
        track_embeds=torch.tensor(embeds, dtype=torch.float))


def test_stmask_payload_follows_the_track_and_warp_is_bound_once():
    tracker = STMaskTracker(max_missed=1)
    protos = torch.full((1, 32, 32), 10.0)
    feat = torch.zeros(1, 4, 8, 8)
    box_a, box_b = [2., 3., 10., 11.], [18., 18., 28., 30.]
    e_a, e_b = [1., 0.], [0., 1.]

    def step(t, boxes, embeds):
        out = tracker.track(t, _stmask_dets(boxes, [0.9] * len(boxes),
                                            embeds), protos, feat, (32, 32))
        return out.instances_id.tolist()

    assert tracker.warp_module is None
    ids = step(0, [box_a, box_b], [e_a, e_b])
    tracker.set_payloads(ids, ['a', 'b'])
    # b missing for one frame (no warp bound: kept in memory, not reported)
    assert step(1, [box_a], [e_a]) == [ids[0]]
    assert tracker.payload(ids[1]) == 'b'
    assert sorted(step(2, [box_a, box_b], [e_a, e_b])) == sorted(ids)
    assert tracker.payload(ids[1]) == 'b'
    # missing longer than max_missed: dropped with its payload
    step(3, [box_a], [e_a])
    step(4, [box_a], [e_a])
    assert ids[1] not in tracker.track_ids
    assert ids[1] not in tracker.payloads
    tracker.reset()
    assert tracker.track_ids == [] and tracker.payloads == {}
    sentinel = object()
    tracker.set_warp(sentinel)
    assert tracker.warp_module is sentinel


@pytest.mark.parametrize('payloads', [{3: 'x'}, {}])
def test_reset_payloads(payloads):
    tracker = MemoryBankTracker()
    tracker.reset_payloads(payloads)
    assert tracker.payloads == payloads
