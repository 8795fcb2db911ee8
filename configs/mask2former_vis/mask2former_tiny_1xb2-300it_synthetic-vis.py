# A miniature Mask2Former-VIS that trains on the bundled synthetic videos on
# 2 CPU cores in minutes (tests, CPU DDP, `make demo`). Not a recipe for real
# data: narrow ResNet-18 from scratch, 32-d features, 10 queries.
_base_ = [
    '../_base_/models/mask2former_vis_r50.py',
    '../_base_/datasets/synthetic_vis.py',
    '../_base_/schedules/vis_iter_300.py'
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
    track_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=feat,
        out_channels=feat,
        num_classes=__num_classes,
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
        loss_cls=dict(class_weight=[1.0] * __num_classes + [0.1]),
        train_cfg=dict(num_points=1024)),
    init_cfg=None)  # from scratch, not the COCO checkpoint

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=1.0))),
    clip_grad=dict(max_norm=1.0))

# mmdet's whole-video protocol (see the R50 configs), evaluating `valid`
val_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,  # the base's VISMetric and its ann_file
    type='YouTubeVISMetric',
    metric='youtube_vis_ap',
    metric_items=['mAP', 'mAP_50', 'mAP_75', 'AR@1', 'AR@10'],
    format_only=False)
test_evaluator = val_evaluator
