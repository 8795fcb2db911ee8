# Iteration-based schedule and runtime of MMDetection's Mask2Former-VIS
# (8 GPUs x 2 clips).
_base_ = '../default_runtime.py'

max_iters = 6000
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[4000], gamma=0.1)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, save_last=True, interval=2000),
    visualization=dict(type='TrackVisualizationHook', draw=False))
log_processor = dict(
    type='GroupedLossLogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)

visualizer = dict(
    type='ClipLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')])
