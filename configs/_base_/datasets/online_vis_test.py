# The test pipeline of online (frame-by-frame) VIS in the CTVIS recipe:
# frames resized to a 360-pixel shortest edge (CTVIS test size). The test
# sampler (TrackImgSampler, one frame per sample) and the evaluator
# (VISMetric) are the defaults of the VIS data set bases. This file only
# defines a variable; the joint fine-tuning bases
# (coco_pseudo_video_*_joint.py) use it as
#   val_dataloader = dict(dataset=dict(pipeline=online_test_pipeline))
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
