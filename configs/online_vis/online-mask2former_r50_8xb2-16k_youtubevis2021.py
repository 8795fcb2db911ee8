# Online VIS on YouTube-VIS 2021, image pre-trained (as the 2019 config):
# 10-frame clips of YouTube-VIS 2021 mixed with COCO pseudo-videos (1 : 1.5),
# submission archive for the official server at test time.
_base_ = [
    '../_base_/models/online_mask2former_vis_r50.py',
    '../_base_/datasets/coco_pseudo_video_ytvis21_joint.py',
    '../_base_/schedules/online_vis_16k.py'
]
load_from = ('https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
             'mask2former_r50_8xb2-lsj-50e_coco/'
             'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth')

val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/online-vis_youtubevis2021')
test_evaluator = val_evaluator
