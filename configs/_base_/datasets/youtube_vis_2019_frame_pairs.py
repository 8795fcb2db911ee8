# YouTube-VIS 2019 as frame pairs for the frame-pair VIS models (STMask,
# STC): every annotated frame is a key frame once per epoch (TrackImgSampler,
# MaskTrack R-CNN's image-based sampling) with one reference frame within
# +-2 annotated frames; 640 x 360 frames. Testing: the base's online
# protocol (one frame per sample, VISMetric).
_base_ = './youtube_vis_2019.py'

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=2,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(
    batch_size=2,
    # the base's DefaultSampler(shuffle=True) goes: TrackImgSampler takes no
    # shuffle option (it shuffles by itself when training)
    sampler=dict(_delete_=True, type='TrackImgSampler'),
    dataset=dict(pipeline=train_pipeline))
