# A miniature STC (CondInst + tracking head) that trains on the bundled
# synthetic videos on 2 CPU cores (tests, demos). Not a recipe for real
# data: narrow ResNet-18 from scratch, 32-channel FPN / towers, 2-conv
# towers, 32-d embeddings, 160x120 frames.
_base_ = [
    '../_base_/models/stc_r50.py',
    '../_base_/datasets/synthetic_vis_frame_pairs.py',
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
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=feat),
    bbox_head=dict(
        num_classes=__num_classes,
        in_channels=feat,
        feat_channels=feat,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    mask_head=dict(
        max_masks_to_train=64,
        mask_feature_head=dict(
            in_channels=feat, feat_channels=feat, num_stacked_convs=2)),
    track_head=dict(
        in_channels=feat,
        feat_channels=feat,
        embed_channels=32,
        num_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        num_samples=64,
        max_pos_per_instance=4),
    # untrained tiny models score low: keep their tracks
    tracker=dict(det_score_thr=0.05, new_track_thr=0.05),
    test_cfg=dict(score_thr=0.05, max_per_img=20))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0))
