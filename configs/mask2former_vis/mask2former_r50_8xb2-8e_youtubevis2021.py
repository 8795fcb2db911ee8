_base_ = [
    '../_base_/models/mask2former_vis_r50.py',
    '../_base_/datasets/youtube_vis_2021.py',
    '../_base_/schedules/vis_iter_6k.py'
]
model = dict(
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/'
        'mask2former/mask2former_r50_8xb2-lsj-50e_coco/'
        'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth'))
