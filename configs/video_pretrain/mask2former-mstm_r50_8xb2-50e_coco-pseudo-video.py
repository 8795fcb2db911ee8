# Mask2Former R50 + MSTM pre-trained on COCO pseudo-videos (paper sec. 3.2,
# tab. 9): Mask2Former's 50-epoch COCO recipe (AdamW 1e-4, weight decay 0.05,
# backbone lr x 0.1, gradient clipping 0.01, 100 queries, 368,750 iterations
# at 8 GPUs x 2 clips) on 3-frame pseudo-videos (CoSt + VMoSp, see
# _base_/datasets/coco_pseudo_video.py).
#
# MSTM runs at a 256-channel working width on the three levels that feed the
# MSDeformAttn pixel decoder (strides 8, 16, 32), with RVM's half-channel
# ConvGRU: 10.8 M parameters (paper: 44 M -> 54 M). The stride-4 level, which
# only makes the mask features, passes through.
#
# Padding: mmdet's TrackDataPreprocessor runs batch augments only on 1-frame
# clips (it asserts T == 1), so the image recipe's BatchFixedSizePad to
# 1024 x 1024 is not usable with T = 3; clips are padded to the largest clip
# of the batch, rounded up to a multiple of 32 (the LSJ crop is at most
# 1024 x 1024, so batches are at most that size).
#
# Validation / test: COCO val images as 1-frame clips, replicated to T frames
# by the model (appendix A.2), evaluated with CocoMetric (segm).
_base_ = [
    '../_base_/models/mask2former_r50.py',
    '../_base_/datasets/coco_pseudo_video.py',
    '../_base_/schedules/mask2former_50e_iter.py'
]
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
        in_channels=[256, 512, 1024, 2048],
        num_frames=num_frames,
        embed_dims=256,
        gru_ratio=0.5,
        scales=[1, 2, 3]))

# an image as a 1-frame clip (the model replicates it to num_frames)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='ImageToClip', num_frames=1),
    dict(type='PackTrackInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file='data/coco/annotations/instances_val2017.json',
    metric=['segm'])
test_evaluator = val_evaluator
