# Online VIS on OVIS, image pre-trained: 10-frame OVIS clips mixed with COCO
# pseudo-videos (1 : 0.75); 25 classes. OVIS `valid` has no public
# annotations, so validation uses a held-out part of train (CTVIS practice):
#   python tools/dataset_converters/split_vis.py \
#     data/ovis/annotations/annotations_train.json \
#     --out-train data/ovis/annotations/annotations_train_sub.json \
#     --out-val data/ovis/annotations/annotations_valid_sub.json --num-val 60
# `tools/test.py` with the test set (valid) writes the submission archive.
_base_ = [
    '../_base_/models/online_mask2former_vis_r50.py',
    '../_base_/datasets/coco_pseudo_video_ovis_joint.py',
    '../_base_/datasets/online_vis_test.py',
    '../_base_/schedules/online_vis_16k.py'
]
load_from = ('https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
             'mask2former_r50_8xb2-lsj-50e_coco/'
             'mask2former_r50_8xb2-lsj-50e_coco_20220506_191028-41b088b6.pth')

num_classes = 25
model = dict(
    panoptic_head=dict(
        num_things_classes=num_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=num_classes))

data_root = 'data/ovis/'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            type='CocoVISDataset',
            category_map='coco_to_ovis',
            data_root='data/coco/',
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline={{_base_.pseudo_video_pipeline}}),
        dict(
            type='OVISDataset',
            data_root=data_root,
            ann_file='annotations/annotations_train_sub.json',
            data_prefix=dict(img_path='train'),
            pipeline={{_base_.video_pipeline}}),
    ]))
val_dataloader = dict(
    sampler=dict(_delete_=True, type='TrackImgSampler'),
    dataset=dict(
        ann_file='annotations/annotations_valid_sub.json',
        data_prefix=dict(img_path='train'),
        pipeline={{_base_.online_test_pipeline}}))
val_evaluator = dict(
    _delete_=True,
    type='VISMetric',
    ann_file=data_root + 'annotations/annotations_valid_sub.json')
test_dataloader = dict(
    sampler=dict(_delete_=True, type='TrackImgSampler'),
    dataset=dict(pipeline={{_base_.online_test_pipeline}}))
test_evaluator = dict(
    _delete_=True,
    type='VISMetric',
    format_only=True,
    outfile_prefix='work_dirs/submissions/online-vis_ovis')
