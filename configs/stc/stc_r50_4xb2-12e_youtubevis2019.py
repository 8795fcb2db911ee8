# STC R50 on YouTube-VIS 2019 (Jiang et al.; paper 36.7 AP on the official
# valid server). CondInst R50-FPN + tracking head. 640x360 frames; frame
# pairs with the reference within +-2 annotated frames of the key frame
# (contrasted in both directions); 4 GPUs x 2 pairs (batch 8 pairs), SGD,
# 12 epochs over the annotated key frames. The paper starts from a
# COCO-trained CondInst: mmdet's is
#   load_from = 'https://download.openmmlab.com/mmdetection/v3.0/condinst/condinst_r50_fpn_ms-poly-90k_coco_instance/condinst_r50_fpn_ms-poly-90k_coco_instance_20221129_125223-4c186406.pth'  # noqa
# (its 80-class classifier does not load into the 40-class head: mmengine
# warns and keeps those layers' initialisation).
# Inference is online, frame by frame; `valid` has no public annotations:
# testing writes the submission archive for the official server. For local
# numbers split train with tools/dataset_converters/split_vis.py and point
# the val dataset and `val_evaluator.ann_file` at the held-out part.
_base_ = [
    '../_base_/models/stc_r50.py',
    '../_base_/datasets/youtube_vis_2019_frame_pairs.py',
    '../_base_/schedules/frame_pairs_sgd_12e.py'
]
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stc_r50_youtubevis2019')
test_evaluator = val_evaluator

# CondInst's SGD recipe (lr 0.01 at batch 16) at batch 8
optim_wrapper = dict(optimizer=dict(lr=0.005, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
