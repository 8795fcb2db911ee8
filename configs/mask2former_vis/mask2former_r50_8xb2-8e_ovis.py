_base_ = [
    '../_base_/models/mask2former_vis_r50.py', '../_base_/datasets/ovis.py',
    '../_base_/schedules/vis_iter_6k.py'
]
num_classes = 25
model = dict(
    track_head=dict(
        num_classes=num_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/'
        'mask2former/mask2former_r50_8xb2-lsj-50e_coco/'
        'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth'))
