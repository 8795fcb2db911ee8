# The DVIS++ schedule of dvis_plus_80k.py at 40k iterations, lr x 0.1 at
# 28k (70 %): stage 3 (the temporal refiner) on every data set.
_base_ = './dvis_plus_80k.py'

max_iters = 40000
param_scheduler = dict(end=max_iters, milestones=[int(max_iters * 0.7)])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 8)
default_hooks = dict(checkpoint=dict(interval=max_iters // 8))
