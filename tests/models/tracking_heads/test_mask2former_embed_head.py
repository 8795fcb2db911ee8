"""Mask2FormerEmbedHead: Mask2Former + query tracking embeddings + the
contrastive loss on the queries matched to the same instance id."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from conftest import REPO

CONFIG = osp.join(
    REPO, 'configs/online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py')


@pytest.fixture(scope='module')
def head():
    from mmvis_pretrain.registry import MODELS
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    head_cfg = copy.deepcopy(cfg.model.panoptic_head)
    head_cfg.update(train_cfg=cfg.model.train_cfg, test_cfg=cfg.model.test_cfg)
    torch.manual_seed(0)
    return MODELS.build(head_cfg)


def _frames(num_frames=2, size=(64, 64)):
    """Two frames of one clip: instances 7 and 3 in frame 0, 3 and 9 in
    frame 1 (the ids that the matching must carry to the queries)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    H, W = size
    ids = [[7, 3], [3, 9]]
    samples = []
    for t in range(num_frames):
        masks = torch.zeros(2, H, W, dtype=torch.uint8)
        masks[0, 4 + 4 * t:30 + 4 * t, 6:28] = 1
        masks[1, 34:60, 30 + 2 * t:62] = 1
        s = DetDataSample(metainfo=dict(
            img_shape=size, pad_shape=size, batch_input_shape=size,
            ori_shape=size))
        s.gt_instances = InstanceData(
            labels=torch.tensor([1, 4]),
            masks=BitmapMasks(masks.numpy(), H, W),
            instances_ids=torch.tensor(ids[t]))
        samples.append(s)
    return samples


def _feats(batch, channels=(16, 32, 64, 128), size=64):
    torch.manual_seed(1)
    return [torch.randn(batch, c, size // s, size // s)
            for c, s in zip(channels, (4, 8, 16, 32))]


def test_forward_with_embeds_shapes(head):
    frames = _frames()
    cls_list, mask_list, embeds = head.forward_with_embeds(_feats(2), frames)
    Q = head.num_queries
    assert len(cls_list) == len(mask_list) == head.num_transformer_decoder_layers + 1
    assert cls_list[-1].shape == (2, Q, head.num_classes + 1)
    assert embeds.shape == (2, Q, head.embed_head.layers[-1].out_features)
    # the embedding comes from the LAST layer's queries: it changes when
    # only the last decoder layer's weights change
    with torch.no_grad():
        before = embeds.clone()
        layer = head.transformer_decoder.layers[-1]
        saved = copy.deepcopy(layer.state_dict())
        for p in layer.ffn.parameters():
            p.add_(0.5)
        after = head.forward_with_embeds(_feats(2), frames)[2]
        layer.load_state_dict(saved)
    assert not torch.allclose(before, after)


def test_matched_instance_ids_follow_the_last_layer_assignment(
        head, monkeypatch):
    """The tracking loss gets, per frame, the instance ids of the Hungarian
    assignment of the LAST decoder layer (not of an auxiliary layer)."""
    from mmdet.models.dense_heads import Mask2FormerHead
    frames = _frames()
    feats = _feats(2)
    records = []
    original = Mask2FormerHead._get_targets_single

    def spy(self, cls_score, mask_pred, gt_instances, img_meta):
        out = original(self, cls_score, mask_pred, gt_instances, img_meta)
        records.append((cls_score.detach().clone(), out[-1]))
        return out

    monkeypatch.setattr(Mask2FormerHead, '_get_targets_single', spy)
    seen = {}

    def capture(module, args):
        embeds, ids = args
        seen['ids'] = ids.clone()
        seen['embeds_shape'] = tuple(embeds.shape)

    hook = head.loss_track.register_forward_pre_hook(capture)
    try:
        losses = head.loss_with_embeds(feats, frames, num_frames=2)
    finally:
        hook.remove()
    for key in ('loss_cls', 'loss_mask', 'loss_dice', 'loss_track',
                'loss_track_aux'):
        assert key in losses and torch.isfinite(losses[key]), key
    assert head._assignments is None and head._last_queries is None
    Q = head.num_queries
    assert seen['embeds_shape'][:3] == (1, 2, Q)

    # which records belong to the last layer: compare with a fresh forward
    with torch.no_grad():
        cls_list = head.forward_with_embeds(feats, frames)[0]
    last = []
    for b in range(2):
        hits = [r for c, r in records if torch.allclose(c, cls_list[-1][b])]
        assert len(hits) == 1
        last.append(hits[0])
    expected = head.matched_instance_ids(
        last, [f.gt_instances for f in frames], Q)
    assert torch.equal(seen['ids'].view(2, Q), expected)
    for t, frame in enumerate(frames):
        assigned = expected[t][expected[t] >= 0]
        # every instance of the frame got exactly one query, with its id
        assert sorted(assigned.tolist()) == sorted(
            frame.gt_instances.instances_ids.tolist())


def test_matched_instance_ids_by_hand():
    from mmvis_pretrain.models.tracking_heads import Mask2FormerEmbedHead

    class Result:
        def __init__(self, pos, gt):
            self.pos_inds = torch.tensor(pos, dtype=torch.long)
            self.pos_assigned_gt_inds = torch.tensor(gt, dtype=torch.long)

    gts = [InstanceData(instances_ids=torch.tensor([11, 12])),
           InstanceData(instances_ids=torch.tensor([12]))]
    ids = Mask2FormerEmbedHead.matched_instance_ids(
        [Result([3, 0], [0, 1]), Result([4], [0])], gts, num_queries=5)
    assert ids.tolist() == [[12, -1, -1, 11, -1], [-1, -1, -1, -1, 12]]
    # a frame without instances: all unmatched
    empty = Mask2FormerEmbedHead.matched_instance_ids(
        [Result([], [])], [InstanceData()], num_queries=3)
    assert empty.tolist() == [[-1, -1, -1]]
    with pytest.raises(KeyError, match='instances_ids'):
        Mask2FormerEmbedHead.matched_instance_ids(
            [Result([0], [0])], [InstanceData(labels=torch.tensor([1]))], 2)


def test_track_loss_can_be_switched_off(head):
    from mmvis_pretrain.registry import MODELS
    cfg = Config.fromfile(CONFIG)
    head_cfg = copy.deepcopy(cfg.model.panoptic_head)
    head_cfg.update(train_cfg=cfg.model.train_cfg, loss_track=None)
    plain = MODELS.build(head_cfg)
    losses = plain.loss_with_embeds(_feats(2), _frames(), num_frames=2)
    assert 'loss_track' not in losses and 'loss_cls' in losses


def test_rejects_partial_clips(head):
    with pytest.raises(ValueError, match='whole clips'):
        head.loss_with_embeds(_feats(2), _frames(), num_frames=3)


def test_keys_match_the_image_head(head):
    """Every parameter of mmdet's Mask2FormerHead keeps its name, so image /
    pseudo-video pre-trained heads load without key surgery."""
    from mmdet.models.dense_heads import Mask2FormerHead
    cfg = Config.fromfile(CONFIG)
    head_cfg = copy.deepcopy(cfg.model.panoptic_head)
    for key in ('type', 'embed_dims', 'num_embed_layers', 'loss_track'):
        head_cfg.pop(key)
    plain = Mask2FormerHead(**head_cfg)
    ours = set(head.state_dict())
    theirs = set(plain.state_dict())
    assert theirs <= ours
    assert {k.split('.')[0] for k in ours - theirs} == {'embed_head'}
