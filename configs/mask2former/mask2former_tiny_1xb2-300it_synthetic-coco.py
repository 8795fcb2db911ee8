# A miniature Mask2Former (images) on the bundled synthetic COCO-format set,
# the image counterpart of mask2former_vis/..._synthetic-vis.py: trains on
# 2 CPU cores in minutes; narrow ResNet-18 from scratch, 32-d, 10 queries.
_base_ = [
    '../_base_/models/mask2former_r50.py',
    '../_base_/datasets/synthetic_coco_instance.py',
    '../_base_/schedules/mask2former_50e_iter.py'
]
# the data's 6 classes, written out so that a plain Config.fromfile builds
# the same model (tools apply `classes`: docs/class_set.md)
__num_classes = 6
feat = 32
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    panoptic_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=feat,
        out_channels=feat,
        num_things_classes=__num_classes,
        num_queries=10,
        pixel_decoder=dict(
            norm_cfg=dict(type='GN', num_groups=8),
            encoder=dict(
                num_layers=1,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=feat, num_heads=4),
                    ffn_cfg=dict(embed_dims=feat, feedforward_channels=64))),
            positional_encoding=dict(num_feats=feat // 2)),
        positional_encoding=dict(num_feats=feat // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=feat, num_heads=4),
                cross_attn_cfg=dict(embed_dims=feat, num_heads=4),
                ffn_cfg=dict(embed_dims=feat, feedforward_channels=64))),
        loss_cls=dict(class_weight=[1.0] * __num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=__num_classes),
    train_cfg=dict(num_points=1024),
    test_cfg=dict(max_per_image=20))

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=1.0))),
    clip_grad=dict(max_norm=1.0))

max_iters = 300
param_scheduler = dict(end=max_iters, milestones=[250])
train_cfg = dict(
    max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, max_keep_ckpts=2))
log_processor = dict(window_size=10)
