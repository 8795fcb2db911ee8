# A miniature of the online VIS fine-tuning (docs/online_vis.md) on the
# bundled synthetic data, without the temporal neck: the "image pre-trained"
# arm of the demo's study (it starts from the tiny image Mask2Former of
# mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py, the same
# narrow R18 / 32-d / 10-query architecture). Trains on 5-frame clips:
# synthetic pseudo-videos mixed with the synthetic videos at 1 : 1.5; tests
# online, frame by frame, with the official YouTube-VIS metric on the
# synthetic `valid` split.
_base_ = [
    '../_base_/models/online_mask2former_vis_r50.py',
    '../_base_/datasets/synthetic_pseudo_video_joint.py',
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
    panoptic_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=feat,
        out_channels=feat,
        num_things_classes=__num_classes,
        num_queries=10,
        embed_dims=feat,
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
    test_cfg=dict(max_per_image=20),
    tracker=dict(det_score_thr=0.2, new_track_thr=0.3))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=1.0))),
    clip_grad=dict(max_norm=1.0))
