# COCO images as consistent 3-frame pseudo-videos for video pre-training
# (video-pretraining paper sec. 3.1, fig. 3: T = 3 is best): Mask2Former's
# large scale jittering on the image, then CoSt (VideoAutoAugment: <= 3 ops
# drawn once per clip, slow rotation within +-15 deg) and VMoSp
# (VideoCopyPaste: one augmented instance pasted into every frame).
# Geometry that is the same for all frames runs before ImageToClip, once per
# clip. Validation is on COCO images (the model replicates each image T times).
_base_ = './coco_instance.py'

image_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomResize',
        scale=image_size,
        ratio_range=(0.1, 2.0),
        resize_type='Resize',
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=image_size,
        crop_type='absolute',
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-5, 1e-5), by_mask=True),
    dict(type='ImageToClip', num_frames=3),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5, source='same'),
    dict(type='PackClipInputs')
]
train_dataloader = dict(
    batch_sampler=None,
    dataset=dict(
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
