# The 300-iteration schedule of the tiny CPU configs on the synthetic videos
# (vis_iter_6k.py shortened): lr x 0.1 at 250, validation at the end, a
# checkpoint every 100 iterations, a log line every 10.
_base_ = './vis_iter_6k.py'

max_iters = 300
param_scheduler = dict(
    type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
    milestones=[250], gamma=0.1)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=100, max_keep_ckpts=2))
log_processor = dict(window_size=10)
