# Mask2Former + MSTM pre-trained on pseudo-videos (paper sec. 3.2): the CPU
# miniature of mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py, i.e. the
# tiny image model of mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py
# (narrow R18 from scratch, 32-d, 10 queries) with the MSTM neck, trained on
# the synthetic COCO images as 3-frame pseudo-videos (the pipeline of
# _base_/datasets/synthetic_pseudo_video.py). Validation / test: the
# synthetic val images as 1-frame clips, replicated to T frames by the model
# (appendix A.2), evaluated with CocoMetric (segm).
_base_ = '../mask2former/mask2former_tiny_1xb2-300it_synthetic-coco.py'

num_frames = 3
model = dict(
    type='VideoMask2Former',
    num_frames=num_frames,
    data_preprocessor=dict(
        _delete_=True,
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        mask_pad_value=0),
    neck=dict(
        type='MSTM',
        in_channels=[16, 32, 64, 128],
        num_frames=num_frames,
        window_size=7,
        num_heads=1))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='ImageToClip', num_frames=num_frames),
    dict(type='VideoAutoAugment', k_max=3, rotate_range=15),
    dict(type='VideoCopyPaste', prob=0.5, min_area=12 * 12, source='same'),
    dict(type='PackClipInputs')  # = PackTrackInputs' output, faster
]
# an image as a 1-frame clip (the model replicates it to num_frames)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='ImageToClip', num_frames=1),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(
    batch_sampler=None, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['segm'])
test_evaluator = val_evaluator
