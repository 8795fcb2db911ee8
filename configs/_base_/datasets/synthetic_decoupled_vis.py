# Training datasets of the decoupled VIS stages on the bundled synthetic
# data (the CPU miniature of DVIS++'s joint COCO + video data): the joint
# data of synthetic_pseudo_video_joint.py (pseudo-videos : videos, sampled
# 1 : 1.5 by its RatioSampler), with clips of CONSECUTIVE frames
# (ConsecutiveClipSample, random start, repeat-padded) instead of
# UniformRefFrameSample. Only two variables, used next to the online VIS
# config that already has the joint loader:
#   decoupled_tracker_dataset: 5-frame clips (stage 2, DVIS++ 5 frames);
#   decoupled_refiner_dataset: 8-frame clips reversed with p 0.5 (stage 3;
#     DVIS++ 15 frames, the synthetic videos have 8..16).
# Leaf configs: train_dataloader = dict(
#     dataset={{_base_.decoupled_tracker_dataset}})


def _clip_datasets(num_frames, reverse_prob, img_scale=(160, 120)):
    """(deleted below: a config holds data, not functions)"""
    pseudo = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=img_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='ImageToClip', num_frames=num_frames),
        dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
        dict(type='VideoCopyPaste', prob=0.5, min_area=12 * 12,
             source='same'),
        dict(type='ClipPanCrop', crop_size=(0.7, 0.7),
             crop_type='relative_range', prob=0.5),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[dict(type='Resize', scale=img_scale,
                              keep_ratio=True)]),
        dict(type='PackClipInputs')
    ]
    video = [
        dict(type='ConsecutiveClipSample', num_frames=num_frames,
             reverse_prob=reverse_prob),
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='LoadImageFromFile'),
                 dict(type='LoadTrackAnnotations', with_mask=True),
                 dict(type='Resize', scale=img_scale, keep_ratio=True),
                 dict(type='RandomFlip', prob=0.5),
             ]),
        dict(type='PackTrackInputs')
    ]
    return dict(
        type='ConcatDataset',
        datasets=[
            dict(type='CocoVISDataset',
                 category_map='synthetic_to_synthetic',
                 data_root='data/synthetic/coco/',
                 ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=16),
                 pipeline=pseudo),
            dict(type='SyntheticVISDataset',
                 data_root='data/synthetic/ytvis/',
                 ann_file='train.json',
                 data_prefix=dict(img_path='train/JPEGImages'),
                 pipeline=video),
        ])


decoupled_tracker_dataset = _clip_datasets(5, 0.0)
decoupled_refiner_dataset = _clip_datasets(8, 0.5)
del _clip_datasets
