# CTVIS fine-tuning schedule: 16 clips x 10 frames per iteration (8 GPUs x 2
# clips), 16k iterations with lr x 0.1 at 6k and 12k. The optimizer (AdamW
# lr 1e-4, weight decay 0.05, backbone lr x 0.1, gradient clipping 0.01,
# mixed precision) is in the model base.
_base_ = '../default_runtime.py'

max_iters = 16000
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[6000, 12000], gamma=0.1)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, save_last=True, interval=2000,
        max_keep_ckpts=3),
    visualization=dict(type='TrackVisualizationHook', draw=False))
log_processor = dict(
    type='GroupedLossLogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)

visualizer = dict(
    type='ClipLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')])
