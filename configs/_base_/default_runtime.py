# Runtime shared by every config of mmvis_pretrain.
default_scope = 'mmvis_pretrain'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # a NaN / Inf loss or gradient stops training before the update, naming
    # the iteration, the loss terms and the last checkpoint
    # (docs/reliability.md); action='skip' skips such steps instead
    non_finite=dict(type='NonFiniteGuardHook', action='stop'),
    # RNG states in checkpoints: a resumed seeded run continues exactly as
    # the uninterrupted one (docs/random_state_hook.md)
    rng_state=dict(type='RandomStateHook'),
    # the built heads' num_classes against the built data set's classes,
    # before training and validation (docs/class_set.md)
    num_class_check=dict(type='mmdet.NumClassCheckHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches nccl to gloo when CUDA is absent
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(
    type='GroupedLossLogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
