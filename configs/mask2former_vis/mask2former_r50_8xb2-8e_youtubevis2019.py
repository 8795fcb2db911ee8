# MMDetection's Mask2Former-VIS R50 baseline, initialised from Mask2Former R50
# trained on COCO images (the "image pre-training" starting point).
_base_ = [
    '../_base_/models/mask2former_vis_r50.py',
    '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/schedules/vis_iter_6k.py'
]
model = dict(
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmdetection/v3.0/'
        'mask2former/mask2former_r50_8xb2-lsj-50e_coco/'
        'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth'))
