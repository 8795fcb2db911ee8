# Online (frame-by-frame) testing of VIS models, shared by the online VIS
# leaf configs: each sample is one frame (mmdet's TrackImgSampler keeps the
# frames of a video together and in order, and never splits a video across
# GPUs); frames are resized to a 360-pixel shortest edge (CTVIS test size).
# This file only defines a variable; a leaf uses it as
#   val_dataloader = dict(
#       sampler=dict(_delete_=True, type='TrackImgSampler'),
#       dataset=dict(pipeline={{_base_.online_test_pipeline}}))
online_test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(1333, 360), keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]
