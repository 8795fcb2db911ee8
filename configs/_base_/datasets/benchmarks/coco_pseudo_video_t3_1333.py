# Pipeline benchmark: the same image geometry as coco_image_1333.py (resize
# to 1333 x 800, flip), then a 3-frame pseudo-video with CoSt and VMoSp.
_base_ = '../coco_instance.py'

num_clip_frames = 3
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ImageToClip', num_frames=num_clip_frames),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5),
    dict(type='PackClipInputs')
]
train_dataloader = dict(batch_sampler=None, dataset=dict(pipeline=train_pipeline))
