# Joint fine-tuning data for YouTube-VIS 2021 (CTVIS recipe): 10-frame COCO
# pseudo-videos in the YouTube-VIS 2021 label space mixed with real 10-frame
# YouTube-VIS 2021 clips at COCO : YTVIS21 = 1 : 1.5 (docs/joint_training.md).
_base_ = './coco_pseudo_video_ytvis19_joint.py'

classes = __import__('mmvis_pretrain.datasets.youtube_vis',
                     fromlist=['_']).YTVIS_2021_CLASSES
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(
            type='CocoVISDataset',
            category_map='coco_to_ytvis2021',
            data_root='data/coco/',
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline={{_base_.pseudo_video_pipeline}}),
        dict(
            type='YouTubeVIS2021Dataset',
            data_root='data/youtube_vis_2021/',
            ann_file='annotations/train.json',
            data_prefix=dict(img_path='train/JPEGImages'),
            pipeline={{_base_.video_pipeline}}),
    ]))
val_dataloader = dict(
    dataset=dict(
        type='YouTubeVIS2021Dataset', data_root='data/youtube_vis_2021/'))
test_dataloader = val_dataloader
