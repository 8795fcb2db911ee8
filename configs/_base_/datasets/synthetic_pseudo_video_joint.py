# The CPU miniature of coco_pseudo_video_ytvis19_joint.py: synthetic
# pseudo-videos mixed with synthetic videos at 1 : 1.5 in one loader. T = 5
# (not 10) because the synthetic videos have 8..16 frames.
_base_ = './synthetic_vis.py'

num_clip_frames = 5
img_scale = (160, 120)
pseudo_video_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ImageToClip', num_frames=num_clip_frames),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5, min_area=12 * 12, source='same'),
    dict(
        type='ClipPanCrop',
        crop_size=(0.7, 0.7),
        crop_type='relative_range',
        prob=0.5),
    # the pan crop changes sizes: back to the training scale, once per clip
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True)]),
    dict(type='PackClipInputs')
]
video_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=num_clip_frames - 1,
        frame_range=8,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(
    sampler=dict(
        _delete_=True, type='RatioSampler', source_ratio=[1, 1.5],
        infinite=True),
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='CocoVISDataset',
                category_map='synthetic_to_synthetic',
                data_root='data/synthetic/coco/',
                ann_file='annotations/instances_train.json',
                data_prefix=dict(img='train/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=16),
                pipeline=pseudo_video_pipeline),
            dict(
                type='SyntheticVISDataset',
                data_root='data/synthetic/ytvis/',
                ann_file='train.json',
                data_prefix=dict(img_path='train/JPEGImages'),
                pipeline=video_pipeline),
        ]))
