"""remap_classifier and tools/model_converters/pretrain_to_vis.py."""
import os.path as osp

import pytest
import torch

from conftest import REPO


def _state(num_src, dim=4):
    w = torch.arange((num_src + 1) * dim, dtype=torch.float).view(-1, dim)
    b = torch.arange(num_src + 1, dtype=torch.float) * 10
    return {'panoptic_head.cls_embed.weight': w,
            'panoptic_head.cls_embed.bias': b,
            'backbone.conv1.weight': torch.ones(2, 2)}


def test_remap_classifier_by_hand():
    from mmvis_pretrain.utils.checkpoint_transfer import remap_classifier
    state = _state(3)  # source classes a, b, c + no-object
    new, origins = remap_classifier(
        state, ['a', 'b', 'c'], ['x', 'y', 'z'], {'a': 'y', 'c': 'y',
                                                   'b': 'x'})
    w, b = new['panoptic_head.cls_embed.weight'], new[
        'panoptic_head.cls_embed.bias']
    old_w, old_b = state['panoptic_head.cls_embed.weight'], state[
        'panoptic_head.cls_embed.bias']
    assert w.shape == (4, 4) and b.shape == (4, )
    assert torch.equal(w[0], old_w[1])  # x <- b
    assert torch.equal(w[1], (old_w[0] + old_w[2]) / 2)  # y <- mean(a, c)
    assert torch.equal(w[2], old_w[:3].mean(0))  # z: nothing maps to it
    assert torch.equal(w[3], old_w[3])  # no-object kept
    assert b.tolist() == [10.0, 10.0, 10.0, 30.0]
    assert origins == {'x': ('b', ), 'y': ('a', 'c'), 'z': ()}
    # other tensors untouched (shared)
    assert new['backbone.conv1.weight'] is state['backbone.conv1.weight']
    # the input is not modified
    assert state['panoptic_head.cls_embed.weight'].shape == (4, 4)


def test_remap_classifier_errors():
    from mmvis_pretrain.utils.checkpoint_transfer import remap_classifier
    with pytest.raises(KeyError, match='source class'):
        remap_classifier(_state(3), ['a', 'b', 'c'], ['x'], {'q': 'x'})
    with pytest.raises(KeyError, match='target class'):
        remap_classifier(_state(3), ['a', 'b', 'c'], ['x'], {'a': 'q'})
    with pytest.raises(ValueError, match='rows'):
        remap_classifier(_state(2), ['a', 'b', 'c'], ['x'], {'a': 'x'})
    state = _state(3)
    del state['panoptic_head.cls_embed.bias']
    with pytest.raises(KeyError, match='Mask2Former'):
        remap_classifier(state, ['a', 'b', 'c'], ['x'], {'a': 'x'})


def test_converter_tool_coco_to_ytvis2019(tmp_path):
    import importlib.util
    from mmdet.datasets import CocoDataset

    from mmvis_pretrain.datasets.category_maps import get_target_classes
    path = osp.join(REPO, 'tools/model_converters/pretrain_to_vis.py')
    spec = importlib.util.spec_from_file_location('pretrain_to_vis', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    coco = list(CocoDataset.METAINFO['classes'])
    src = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=_state(80), meta=dict(
        dataset_meta=dict(classes=coco)), optimizer={'lr': 1}), src)
    dst = tmp_path / 'vis.pth'
    assert tool.main([str(src), str(dst), '--category-map',
                      'coco_to_ytvis2019']) == 0
    out = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(out) == {'state_dict', 'meta'}  # no optimizer state
    targets = get_target_classes('coco_to_ytvis2019')
    assert tuple(out['meta']['dataset_meta']['classes']) == targets
    w = out['state_dict']['panoptic_head.cls_embed.weight']
    assert w.shape == (len(targets) + 1, 4)
    old = _state(80)['panoptic_head.cls_embed.weight']
    # 'person' (COCO 0) -> 'person'; motorbike <- mean(bicycle, motorcycle)
    assert torch.equal(w[targets.index('person')], old[coco.index('person')])
    assert torch.equal(
        w[targets.index('motorbike')],
        (old[coco.index('bicycle')] + old[coco.index('motorcycle')]) / 2)
    # a checkpoint without class names needs --source-classes
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=_state(80)), bare)
    with pytest.raises(KeyError, match='source-classes'):
        tool.main([str(bare), str(dst), '--category-map', 'coco_to_ovis'])
    assert tool.main([str(bare), str(dst), '--category-map', 'coco_to_ovis',
                      '--source-classes', 'coco']) == 0
