# Mask2Former Swin-L (ImageNet-22k, 384) + MSTM pre-trained on COCO
# pseudo-videos: MMDetection's Swin-L Mask2Former recipe (200 queries,
# 100 epochs = 737,500 iterations at 16 GPUs x 1 clip, backbone lr x 0.1,
# no weight decay on norms / position tables) on 3-frame pseudo-videos, with
# MSTM at 256 channels on the levels that feed the pixel decoder.
_base_ = [
    './mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py',
    '../_base_/models/swin-l-p4-w12-384-in21k_vars.py'
]
model = dict(
    backbone={{_base_.swin_l_backbone}},
    neck=dict(in_channels={{_base_.swin_l_channels}}),
    panoptic_head=dict(
        num_queries=200, in_channels={{_base_.swin_l_channels}}))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={{_base_.swin_l_custom_keys}}, norm_decay_mult=0.0))

train_dataloader = dict(batch_size=1, num_workers=1)
max_iters = 737500
interval = 5000
param_scheduler = dict(end=max_iters, milestones=[655556, 710184])
train_cfg = dict(
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
auto_scale_lr = dict(base_batch_size=16)
