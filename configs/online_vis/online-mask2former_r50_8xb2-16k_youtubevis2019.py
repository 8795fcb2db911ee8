# Online VIS (CTVIS recipe, docs/online_vis.md) on YouTube-VIS 2019, the
# "image pre-trained" arm of paper tab. 7: Mask2Former R50 initialised from
# MMDetection's COCO instance model, no temporal neck, fine-tuned on 10-frame
# clips of YouTube-VIS 2019 mixed with COCO pseudo-videos (1 : 1.5).
# Inference is online, frame by frame. `valid` has no public annotations:
# testing writes the submission archive for the official server. For local
# numbers, split train with tools/dataset_converters/split_vis.py and point
# the val dataset and `val_evaluator.ann_file` at the held-out part.
_base_ = [
    '../_base_/models/online_mask2former_vis_r50.py',
    '../_base_/datasets/coco_pseudo_video_ytvis19_joint.py',
    '../_base_/schedules/online_vis_16k.py'
]
load_from = ('https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
             'mask2former_r50_8xb2-lsj-50e_coco/'
             'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth')

val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/online-vis_youtubevis2019')
test_evaluator = val_evaluator
