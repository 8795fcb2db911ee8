# A miniature STMask (FCA + FCB(ada) + track embeddings + temporal fusion)
# that trains on the bundled synthetic videos on 2 CPU cores (tests, demos).
# Not a recipe for real data: narrow ResNet-18 from scratch without DCN,
# 32-channel FPN / head, 16 prototypes, 32-d embeddings, 160x120 frames.
_base_ = [
    '../_base_/models/stmask_r50_dcn.py',
    '../_base_/datasets/synthetic_vis_frame_pairs.py',
    '../_base_/schedules/vis_iter_300.py'
]
# the data's 6 classes, written out so that a plain Config.fromfile builds
# the same model (tools apply `classes`: docs/class_set.md)
__num_classes = 6
num_protos = 16
feat = 32
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        dcn=None,
        stage_with_dcn=(False, False, False, False),
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=feat),
    bbox_head=dict(
        num_classes=__num_classes,
        in_channels=feat,
        feat_channels=feat,
        num_protos=num_protos,
        track_channels=32),
    mask_head=dict(
        in_channels=feat,
        num_classes=__num_classes,
        num_protos=num_protos,
        proto_channels=(feat, feat, feat, None, feat, num_protos)),
    temporal_fusion=dict(
        in_channels=feat, num_protos=num_protos, conv_channels=(64, 64, 64)))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0))
