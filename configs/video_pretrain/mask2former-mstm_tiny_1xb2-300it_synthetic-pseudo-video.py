# Mask2Former + MSTM pre-trained on pseudo-videos (paper sec. 3.2): the CPU
# miniature on the bundled synthetic COCO images as 3-frame pseudo-videos.
# The tiny overrides are those of
# mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py (narrow R18 from
# scratch, 32-d, 10 queries). Validation / test: the synthetic COCO val
# images as 1-frame clips, replicated to T frames by the model (appendix
# A.2), evaluated with CocoMetric (segm).
_base_ = [
    '../_base_/models/mask2former_r50.py',
    '../_base_/datasets/synthetic_pseudo_video.py',
    '../_base_/schedules/mask2former_50e_iter.py'
]
num_things_classes = 6
num_classes = 6
feat = 32
num_frames = 3
model = dict(
    type='VideoMask2Former',
    num_frames=num_frames,
    data_preprocessor=dict(
        _delete_=True,
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        mask_pad_value=0),
    backbone=dict(
        depth=18,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        type='MSTM',
        in_channels=[16, 32, 64, 128],
        num_frames=num_frames,
        window_size=7,
        num_heads=1),
    panoptic_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=feat,
        out_channels=feat,
        num_things_classes=num_things_classes,
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
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=num_things_classes),
    train_cfg=dict(num_points=1024),
    test_cfg=dict(max_per_image=20))

# an image as a 1-frame clip (the model replicates it to num_frames)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='ImageToClip', num_frames=1),
    dict(type='PackTrackInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file='data/synthetic/coco/annotations/instances_val.json',
    metric=['segm'])
test_evaluator = val_evaluator

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
