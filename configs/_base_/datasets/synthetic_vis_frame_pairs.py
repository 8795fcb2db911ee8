# The synthetic videos as frame pairs (the CPU miniature of
# youtube_vis_2019_frame_pairs.py): the reference frame within +-2 annotated
# frames of the key frame; the InfiniteSampler of synthetic_vis.py.
_base_ = './synthetic_vis.py'

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
            dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
