# Joint fine-tuning data (CTVIS recipe): 10-frame COCO pseudo-videos in the
# YouTube-VIS 2019 label space mixed with real 10-frame YouTube-VIS 2019
# clips at COCO : YTVIS19 = 1 : 1.5 in one loader (docs/joint_training.md).
# Online testing (the data set base's protocol) at the CTVIS test size.
_base_ = ['./youtube_vis_2019.py', './online_vis_test.py']

num_clip_frames = 10
# shortest edge 320..640 (CTVIS), one draw per clip
clip_resize = dict(
    type='RandomChoiceResize',
    scales=[(1333, s) for s in range(320, 641, 32)],
    keep_ratio=True)

pseudo_video_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    # the same for every frame: applied once, before the image is replicated
    clip_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='ImageToClip', num_frames=num_clip_frames),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5, source='same'),
    dict(type='ClipPanCrop', crop_size=(384, 600), prob=0.5),
    dict(type='PackClipInputs')
]
video_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=num_clip_frames - 1,
        frame_range=20,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            clip_resize,
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=2,
    sampler=dict(
        _delete_=True, type='RatioSampler', source_ratio=[1, 1.5],
        infinite=True),
    # mmdet's aspect-ratio batch samplers cannot read image and video infos
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='CocoVISDataset',
                category_map='coco_to_ytvis2019',
                data_root='data/coco/',
                ann_file='annotations/instances_train2017.json',
                data_prefix=dict(img='train2017/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=pseudo_video_pipeline),
            dict(
                type='YouTubeVIS2019Dataset',
                data_root='data/youtube_vis_2019/',
                ann_file='annotations/train.json',
                data_prefix=dict(img_path='train/JPEGImages'),
                pipeline=video_pipeline),
        ]))
val_dataloader = dict(dataset=dict(pipeline={{_base_.online_test_pipeline}}))
test_dataloader = val_dataloader
