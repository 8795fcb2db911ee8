# Schedule and runtime of the frame-pair VIS models (STMask, STC): SGD (the
# YOLACT / STMask values, lr 1e-3 at 4 GPUs x 2 pairs), linear warm-up, 12
# epochs with lr x 0.1 after epochs 8 and 11, no validation during training
# (`valid` has no public annotations), a checkpoint per epoch.
_base_ = '../default_runtime.py'

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
max_epochs = 12
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
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
