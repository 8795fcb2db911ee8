# The DVIS++ schedule of dvis_plus_80k.py at 160k iterations, lr x 0.1 at
# 112k (70 %): stage 2 (the referring tracker) on OVIS.
_base_ = './dvis_plus_80k.py'

max_iters = 160000
param_scheduler = dict(end=max_iters, milestones=[int(max_iters * 0.7)])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 8)
default_hooks = dict(checkpoint=dict(interval=max_iters // 8))
