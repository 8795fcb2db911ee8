# DVIS++ schedule of the decoupled stages (docs/decoupled_vis.md): 8 clips
# per iteration (8 GPUs x 1 clip), 80k iterations (stage 2 on YouTube-VIS),
# lr x 0.1 once, at 70 % (56k). The optimizer (AdamW lr 1e-4, weight decay
# 0.05, backbone lr x 0.1, gradient clipping 0.01 over the whole model,
# mixed precision) is in the model base. The 10 warm-up iterations of
# Mask2Former's video recipe (which DVIS / DVIS++ inherit) have warm-up
# factor 1.0, i.e. none: no warm-up scheduler here. Checkpoints and
# validation every 1/8 of the run (as online_vis_16k.py).
# dvis_plus_160k.py (stage 2 on OVIS) and dvis_plus_40k.py (stage 3)
# change the length.
_base_ = '../default_runtime.py'

max_iters = 80000
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[int(max_iters * 0.7)], gamma=0.1)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters // 8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, save_last=True,
        interval=max_iters // 8, max_keep_ckpts=3),
    visualization=dict(type='TrackVisualizationHook', draw=False))
log_processor = dict(
    type='GroupedLossLogProcessor', window_size=50, by_epoch=False)
# DVIS++'s batch: 8 clips (auto scaling off, as the other VIS schedules)
auto_scale_lr = dict(enable=False, base_batch_size=8)

visualizer = dict(
    type='ClipLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')])
