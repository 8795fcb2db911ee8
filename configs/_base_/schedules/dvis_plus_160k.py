# DVIS++ schedule of dvis_plus_80k.py for stage 2 (the tracker) on OVIS: 160k iterations, lr x 0.1 at 112k
# (70 %); checkpoints and validation every 1/8 of the run.
_base_ = './dvis_plus_80k.py'

max_iters = 160000
param_scheduler = dict(end=max_iters, milestones=[int(max_iters * 0.7)])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 8)
default_hooks = dict(checkpoint=dict(interval=max_iters // 8))
