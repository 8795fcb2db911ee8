# STC R50 on YouTube-VIS 2019 (Jiang et al.; paper 36.7 AP on the official
# valid server). CondInst R50-FPN + tracking head. 640x360 frames; frame
# pairs with the reference within +-2 annotated frames of the key frame
# (contrasted in both directions); 4 GPUs x 2 pairs (batch 8 pairs), SGD,
# 12 epochs over the annotated key frames. The paper starts from a
# COCO-trained CondInst: mmdet's is
#   load_from = 'https://download.openmmlab.com/mmdetection/v3.0/condinst/condinst_r50_fpn_ms-poly-90k_coco_instance/condinst_r50_fpn_ms-poly-90k_coco_instance_20221129_125223-4c186406.pth'  # noqa
# (its 80-class classifier does not load into the 40-class head: mmengine
# warns and keeps those layers' initialisation).
# Inference is online, frame by frame; `valid` has no public annotations:
# testing writes the submission archive for the official server. For local
# numbers split train with tools/dataset_converters/split_vis.py and point
# the val dataset and `val_evaluator.ann_file` at the held-out part.
_base_ = [
    '../_base_/models/stc_r50.py', '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=40))

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=2,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
# every annotated frame is a key frame once per epoch (MaskTrack R-CNN's
# image-based sampling); inference: one frame per sample
train_dataloader = dict(
    batch_size=2,
    sampler=dict(_delete_=True, type='TrackImgSampler'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(sampler=dict(_delete_=True, type='TrackImgSampler'))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='VISMetric',
    format_only=True,
    outfile_prefix='work_dirs/submissions/stc_r50_youtubevis2019')
test_evaluator = val_evaluator

# CondInst's SGD recipe (lr 0.01 at batch 16) at batch 8
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
max_epochs = 12
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs,
    val_begin=max_epochs + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=8)

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    visualization=dict(type='TrackVisualizationHook', draw=False))
visualizer = dict(
    type='ClipLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
