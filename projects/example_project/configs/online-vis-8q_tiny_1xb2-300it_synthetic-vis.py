# An experiment outside the package: inherit the package's config through the
# `mmvis_pretrain::` scope (resolved once mmvis_pretrain is imported: its
# tools/train.py, `mim train mmvis_pretrain ...`, or your own script), then
# change what the experiment is about. Here: the tiny online VIS model with 8
# queries instead of 10 and a longer learning-rate decay.
_base_ = ('mmvis_pretrain::online_vis/'
          'online-mask2former_tiny_1xb2-300it_synthetic-vis.py')

model = dict(panoptic_head=dict(num_queries=8))
param_scheduler = dict(milestones=[200])
