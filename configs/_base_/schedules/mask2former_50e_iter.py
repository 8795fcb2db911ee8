# Mask2Former's COCO recipe: 50 epochs as 368,750 iterations (8 GPUs x 2
# images), evaluation every 5,000 iterations.
_base_ = '../default_runtime.py'

max_iters = 368750
interval = 5000
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[327778, 355092], gamma=0.1)
dynamic_intervals = [(max_iters // interval * interval + 1, max_iters)]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=interval,
    dynamic_intervals=dynamic_intervals)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, save_last=True,
        max_keep_ckpts=3, interval=interval))
log_processor = dict(
    type='GroupedLossLogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
