# The synthetic images as 3-frame pseudo-videos (CoSt + VMoSp): the CPU
# miniature of coco_pseudo_video.py. The synthetic objects are small, so
# VMoSp accepts pivots from 12 x 12 pixels.
_base_ = './synthetic_coco_instance.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='ImageToClip', num_frames=3),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5, min_area=12 * 12, source='same'),
    dict(type='PackClipInputs')
]
train_dataloader = dict(batch_sampler=None, dataset=dict(pipeline=train_pipeline))
