# Online VIS on OVIS, image pre-trained: 10-frame OVIS clips mixed with COCO
# pseudo-videos (1 : 0.75); 25 classes. OVIS `valid` has no public
# annotations: training and validation use a split of train (CTVIS practice,
# made by the command in _base_/datasets/coco_pseudo_video_ovis_joint.py);
# `tools/test.py` with the test set (valid) writes the submission archive.
_base_ = [
    '../_base_/models/online_mask2former_vis_r50.py',
    '../_base_/datasets/coco_pseudo_video_ovis_joint.py',
    '../_base_/schedules/online_vis_16k.py'
]
load_from = ('https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
             'mask2former_r50_8xb2-lsj-50e_coco/'
             'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth')

test_evaluator = dict(outfile_prefix='work_dirs/submissions/online-vis_ovis')
