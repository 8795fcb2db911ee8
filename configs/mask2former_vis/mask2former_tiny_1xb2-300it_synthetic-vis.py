# A miniature Mask2Former-VIS that trains on the bundled synthetic videos on
# 2 CPU cores in minutes (tests, CPU DDP, `make demo`). Not a recipe for real
# data: narrow ResNet-18 from scratch, 32-d features, 10 queries.
_base_ = [
    '../_base_/models/mask2former_vis_r50.py',
    '../_base_/datasets/synthetic_vis.py',
    '../_base_/schedules/vis_iter_6k.py'
]
num_classes = 6
num_frames = 2
feat = 32
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    track_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=feat,
        out_channels=feat,
        num_classes=num_classes,
        num_queries=10,
        num_frames=num_frames,
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
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        train_cfg=dict(num_points=1024)))

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=1.0))),
    clip_grad=dict(max_norm=1.0))

max_iters = 300
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[250], gamma=0.1)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, max_keep_ckpts=2))
log_processor = dict(window_size=10)
