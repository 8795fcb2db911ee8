# Joint fine-tuning data for OVIS (CTVIS recipe): 10-frame COCO pseudo-videos
# in the OVIS label space mixed with real 10-frame OVIS clips at
# COCO : OVIS = 1 : 0.75 in one loader (docs/joint_training.md). OVIS
# `valid` has no public annotations, so training and validation use a split
# of train (CTVIS practice):
#   python tools/dataset_converters/split_vis.py \
#     data/ovis/annotations/annotations_train.json \
#     --out-train data/ovis/annotations/annotations_train_sub.json \
#     --out-val data/ovis/annotations/annotations_valid_sub.json --num-val 60
# Testing (on `valid`) writes the submission archive.
_base_ = './coco_pseudo_video_ytvis19_joint.py'

data_root = 'data/ovis/'
classes = __import__('mmvis_pretrain.datasets.ovis',
                     fromlist=['_']).OVIS_CLASSES
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
            data_root=data_root,
            ann_file='annotations/annotations_train_sub.json',
            data_prefix=dict(img_path='train'),
            pipeline={{_base_.video_pipeline}}),
    ]))
val_dataloader = dict(
    dataset=dict(
        type='OVISDataset',
        data_root=data_root,
        ann_file='annotations/annotations_valid_sub.json',
        data_prefix=dict(img_path='train')))
test_dataloader = dict(
    dataset=dict(
        type='OVISDataset',
        data_root=data_root,
        ann_file='annotations/annotations_valid.json',
        data_prefix=dict(img_path='valid')))
# local evaluation of the held-out part; the test set is written for the
# server
val_evaluator = dict(
    _delete_=True,
    type='VISMetric',
    ann_file=data_root + 'annotations/annotations_valid_sub.json')
test_evaluator = dict(outfile_prefix='./ovis_results')
