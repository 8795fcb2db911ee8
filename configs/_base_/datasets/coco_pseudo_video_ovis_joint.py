# Joint fine-tuning data for OVIS (CTVIS recipe): 10-frame COCO pseudo-videos
# in the OVIS label space mixed with real 10-frame OVIS clips at
# COCO : OVIS = 1 : 0.75 in one loader (docs/joint_training.md).
_base_ = './coco_pseudo_video_ytvis19_joint.py'

train_dataloader = dict(
    sampler=dict(source_ratio=[1, 0.75]),
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
            data_root='data/ovis/',
            ann_file='annotations/annotations_train.json',
            data_prefix=dict(img_path='train'),
            pipeline={{_base_.video_pipeline}}),
    ]))
val_dataloader = dict(
    dataset=dict(
        type='OVISDataset',
        data_root='data/ovis/',
        ann_file='annotations/annotations_valid.json',
        data_prefix=dict(img_path='valid')))
test_dataloader = val_dataloader
val_evaluator = dict(outfile_prefix='./ovis_results')
test_evaluator = val_evaluator
