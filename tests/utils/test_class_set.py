"""One class set per config (``classes`` / ``num_classes``): heads and data
follow it (mmvis_pretrain/utils/class_set.py, docs/class_set.md)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO, joint_vis_options, package_leaf

from mmvis_pretrain.utils.class_set import ClassSetError, apply_class_set
from mmvis_pretrain.utils.runtime_cfg import load_config

ONLINE = 'online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py'
SUBSET = ('person', 'dog', 'horse')  # of the synthetic set's 6 classes
ALL6 = ('person', 'car', 'dog', 'cat', 'bird', 'horse')


def _leaf(tmp_path, body: str) -> str:
    return package_leaf(tmp_path, ONLINE, body)


def test_subset_in_one_place_sets_heads_and_data(tmp_path):
    import mmvis_pretrain  # noqa: F401  (the mmvis_pretrain:: scope)
    cfg = load_config(_leaf(tmp_path, f'classes = {SUBSET!r}\n'))
    assert cfg.num_classes == 3
    head = cfg.model.panoptic_head
    assert head.num_things_classes == 3 and head.num_stuff_classes == 0
    assert head.loss_cls.class_weight == [1.0, 1.0, 1.0, 0.1]
    assert cfg.model.panoptic_fusion_head.num_things_classes == 3
    sources = cfg.train_dataloader.dataset.datasets
    assert [tuple(s.metainfo.classes) for s in sources] == [SUBSET] * 2
    assert tuple(cfg.val_dataloader.dataset.metainfo.classes) == SUBSET
    assert tuple(cfg.test_dataloader.dataset.metainfo.classes) == SUBSET
    # the backbone is left alone; an unchanged config stays as it was
    assert 'num_classes' not in cfg.model.backbone
    full = load_config(osp.join(REPO, 'configs', ONLINE))
    assert full.model.panoptic_head.num_things_classes == 6
    assert tuple(full.classes) == ALL6


def test_every_family_follows_classes():
    """Each model family's class fields (Mask2Former heads, YOLACT / STMask
    heads, CondInst, trackers, refiner) take a new count."""
    for rel in ('stmask/stmask_tiny_1xb2-300it_synthetic-vis.py',
                'stc/stc_tiny_1xb2-300it_synthetic-vis.py',
                'mask2former_vis/mask2former_tiny_1xb2-300it_synthetic-vis.py',
                'dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py',
                'mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py'):
        cfg = load_config(osp.join(REPO, 'configs', rel),
                          dict(classes=('cat', 'bird')))
        found = {}

        def walk(node, path):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ('num_classes', 'num_things_classes'):
                        found[f'{path}.{k}'] = v
                    elif k == 'class_weight':
                        found[f'{path}.{k}'] = len(v)
                    else:
                        walk(v, f'{path}.{k}')

        walk(cfg.model, 'model')
        assert found, rel
        assert all(v == 2 for k, v in found.items()
                   if not k.endswith('class_weight')), (rel, found)
        assert all(v == 3 for k, v in found.items()
                   if k.endswith('class_weight')), (rel, found)


def test_subset_model_builds_with_the_count(tmp_path):
    import mmvis_pretrain  # noqa: F401
    from mmvis_pretrain.registry import MODELS
    cfg = load_config(_leaf(tmp_path, f'classes = {SUBSET!r}\n'))
    with DefaultScope.overwrite_default_scope('mmvis_pretrain'):
        model = MODELS.build(cfg.model)
    assert model.panoptic_head.num_classes == 3
    # class logits: 3 classes + no-object
    assert model.panoptic_head.cls_embed.out_features == 4


def test_bad_class_sets(tmp_path):
    import mmvis_pretrain  # noqa: F401
    # only num_classes changed: the data would keep the 6 names
    with pytest.raises(ClassSetError,
                       match=r'num_classes=3 disagrees with the 6 classes'):
        load_config(_leaf(tmp_path, 'num_classes = 3\n'))
    with pytest.raises(ClassSetError, match=r"one class: classes = \('name'"):
        load_config(_leaf(tmp_path, "classes = 'person'\n"))
    with pytest.raises(ClassSetError, match=r"\['dog'\] are listed twice"):
        load_config(_leaf(tmp_path, "classes = ('dog', 'cat', 'dog')\n"))
    with pytest.raises(ClassSetError, match='classes is empty'):
        load_config(_leaf(tmp_path, 'classes = ()\n'))
    with pytest.raises(ClassSetError, match='non-empty strings'):
        load_config(_leaf(tmp_path, "classes = ('dog', '')\n"))
    with pytest.raises(ClassSetError, match='positive int'):
        apply_class_set(Config(dict(num_classes=0)))
    # panoptic stuff classes and per-class weights that cannot be resized
    stuff = Config(dict(classes=('a', 'b'), model=dict(
        head=dict(num_things_classes=5, num_stuff_classes=3))))
    with pytest.raises(ClassSetError,
                       match=r'model.head.num_stuff_classes=3: stuff'):
        apply_class_set(stuff)
    weights = Config(dict(classes=('a', 'b'), model=dict(head=dict(
        num_classes=3, loss_cls=dict(class_weight=[1.0, 2.0, 1.0, 0.1])))))
    with pytest.raises(ClassSetError,
                       match=r'model.head.loss_cls.class_weight: the 4-entry'):
        apply_class_set(weights)


def test_num_classes_alone_sizes_the_heads_only():
    """No class names anywhere (the data set reads all categories of its
    file): ``num_classes`` sets the heads, the data is left as it is."""
    cfg = Config(dict(
        num_classes=4,
        model=dict(
            backbone=dict(num_classes=1000),
            head=dict(num_classes=40,
                      loss_cls=dict(class_weight=[1.0] * 40 + [0.1]))),
        train_dataloader=dict(dataset=dict(type='VISDataset', ann_file='a'))))
    apply_class_set(cfg)
    assert cfg.model.head.num_classes == 4
    assert cfg.model.head.loss_cls.class_weight == [1.0] * 4 + [0.1]
    assert cfg.model.backbone.num_classes == 1000
    assert 'metainfo' not in cfg.train_dataloader.dataset
    # a palette for another class count is dropped with the names
    cfg = Config(dict(classes=('a', 'b'), train_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[dict(
            ann_file='x', metainfo=dict(palette=[(0, 0, 0)] * 5))]))))
    apply_class_set(cfg)
    meta = cfg.train_dataloader.dataset.datasets[0].metainfo
    assert tuple(meta.classes) == ('a', 'b') and 'palette' not in meta


def test_subset_data_labels(synthetic_root, tmp_path):
    """Both sources of the joint loader keep only the subset's instances,
    labelled by their index in the subset."""
    import mmvis_pretrain  # noqa: F401
    from mmvis_pretrain.registry import DATASETS
    cfg = load_config(_leaf(tmp_path, f'classes = {SUBSET!r}\n'),
                      joint_vis_options(synthetic_root))
    cocovis_cfg, video_cfg = cfg.train_dataloader.dataset.datasets
    with DefaultScope.overwrite_default_scope('mmvis_pretrain'):
        for source in (cocovis_cfg, video_cfg):
            dataset = DATASETS.build(dict(source, pipeline=[]))
            assert tuple(dataset.metainfo['classes']) == SUBSET
            labels = set()
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                frames = info.get('images', [info])
                for frame in frames:
                    labels.update(inst['bbox_label']
                                  for inst in frame['instances'])
            assert labels and labels <= {0, 1, 2}, labels
            # every kept category id maps to the subset index of its name
            assert set(dataset.cat2label.values()) <= {0, 1, 2}
