# Pipeline benchmark: coco_pseudo_video_t3_1333.py with 10 frames.
_base_ = './coco_pseudo_video_t3_1333.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ImageToClip', num_frames=10),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5),
    dict(type='PackClipInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
