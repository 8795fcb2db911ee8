# STC R50 (Jiang et al., "STC: Spatio-Temporal Contrastive Learning for Video
# Instance Segmentation"): mmdet's CondInst R50-FPN (P3-P7, FCOS head with
# the 169-parameter dynamic-filter controller, 3-layer 8-channel dynamic mask
# head on stride-8 mask features) + a tracking head (4 convs, 256-d
# embeddings) trained with the bi-directional contrastive loss, and the
# memory-bank tracker at inference.
# 40 classes (YouTube-VIS 2019) until a config's `classes` sets them
# (docs/class_set.md)
__num_classes = 40
model = dict(
    type='STC',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
        style='pytorch'),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',  # P6, P7 from P5
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='CondInstBboxHead',
        num_params=169,
        num_classes=__num_classes,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        dcn_on_last_conv=False,
        center_sampling=True,
        conv_bias=True,
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    mask_head=dict(
        type='CondInstMaskHead',
        num_layers=3,
        feat_channels=8,
        size_of_interest=8,
        mask_out_stride=4,
        max_masks_to_train=300,
        mask_feature_head=dict(
            in_channels=256,
            feat_channels=128,
            start_level=0,
            end_level=2,
            out_channels=8,
            mask_stride=8,
            num_stacked_convs=4,
            norm_cfg=dict(type='BN', requires_grad=True)),
        loss_mask=dict(
            type='DiceLoss',
            use_sigmoid=True,
            activate=True,
            eps=5e-6,
            loss_weight=1.0)),
    track_head=dict(
        type='STCTrackHead',
        in_channels=256,
        feat_channels=256,
        embed_channels=256,
        num_convs=4,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        # per frame: up to 8 positive locations per instance (at most half
        # of the samples), background locations for the rest
        num_samples=256,
        max_pos_per_instance=8,
        pos_fraction=0.5,
        # key -> reference and reference -> key
        loss_track=dict(
            type='ContrastiveTrackLoss',
            frame_pairs='all',
            bidirectional=True,
            loss_weight=2.0,
            aux_loss_weight=3.0)),
    tracker=dict(
        type='MemoryBankTracker',
        det_score_thr=0.1,
        new_track_thr=0.2,
        mask_nms_thr=0.6,
        match_thr=0.3,
        match_metric='bisoftmax',
        match_type='greedy',
        max_missing=20,
        embed_update='similarity_guided'),
    # > 0: average the masks of continuing tracks with their previous
    # dynamic filter's mask (docs/stc.md)
    mask_consistency=0.0,
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100,
        mask_thr=0.5))
