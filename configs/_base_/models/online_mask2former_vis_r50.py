# Online VIS Mask2Former R50 (CTVIS recipe, docs/online_vis.md): Mask2Former
# R50 (100 queries, 256-d, 9 decoder layers, class / mask / dice weights
# 2 / 5 / 5) whose head adds a 3-layer MLP tracking embedding on the queries
# and the contrastive tracking loss (weights 2 and 3), and an online
# memory-bank tracker at inference. No temporal neck here: the MSTM variants
# add `neck=dict(type='MSTM', ...)` (see configs/online_vis/).
_base_ = './mask2former_r50.py'

# 40 classes (YouTube-VIS 2019) until a config's `classes` sets them
# (docs/class_set.md)
__num_classes = 40
model = dict(
    type='OnlineMask2FormerVIS',
    num_frames=3,
    data_preprocessor=dict(
        _delete_=True,
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        pad_mask=True,
        mask_pad_value=0),
    panoptic_head=dict(
        type='Mask2FormerEmbedHead',
        num_things_classes=__num_classes,
        num_stuff_classes=0,
        embed_dims=256,
        num_embed_layers=3,
        loss_track=dict(
            type='ContrastiveTrackLoss',
            loss_weight=2.0,
            aux_loss_weight=3.0),
        loss_cls=dict(class_weight=[1.0] * __num_classes + [0.1])),
    panoptic_fusion_head=dict(
        num_things_classes=__num_classes,
        num_stuff_classes=0),
    tracker=dict(
        type='MemoryBankTracker',
        match_thr=0.3,
        mask_nms_thr=0.6,
        max_missing=20,
        # CTVIS's video-level rule: softmax of the mean logits x mask score,
        # best track-class pairs per video ('mean_prob': the former rule)
        video_scoring='ctvis'))

# mixed precision (CTVIS); CPU runs fall back to fp32 with a warning
optim_wrapper = dict(type='AmpOptimWrapper')  # dynamic loss scale
