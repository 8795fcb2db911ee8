# STMask R50-DCN (Li et al., CVPR 2021): YOLACT (mmdet) + FCA + FCB +
# track embeddings + temporal fusion, for 640x360 frames (P3-P7 strides 8-128).
# Ablations of the paper's table 4 (set in a leaf config):
#   no FCA: bbox_head.kernel_sizes=[(3, 3)], bbox_head.anchor_generator=
#           mmdet AnchorGenerator(octave_base_scale=3, scales_per_octave=1,
#           ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128])
#   FCB:    bbox_head.fcb=dict(cls=..., coeff=..., track=...) with None /
#           'adaptive' / 'aligned' per branch (paper: FCB(ada) = adaptive on
#           all three, FCB(ali) = aligned on coeff + track)
#   no TF:  temporal_fusion=None
# 40 classes (YouTube-VIS 2019) until a config's `classes` sets them
# (docs/class_set.md)
__num_classes = 40
num_protos = 32
model = dict(
    type='STMask',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    # mmdet's DCN ResNet: deformable 3x3 convs in every block of C3-C5 (the
    # paper's "interval 3" variant of YOLACT++ is not an mmdet option)
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch',
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=5,
        upsample_cfg=dict(mode='bilinear')),
    bbox_head=dict(
        type='STMaskHead',
        num_classes=__num_classes,
        in_channels=256,
        feat_channels=256,
        # FCA: 3x3 / 3x5 / 5x3 kernels, one footprint anchor each
        anchor_generator=dict(
            type='FCAAnchorGenerator',
            strides=[8, 16, 32, 64, 128],
            kernel_sizes=[(3, 3), (3, 5), (5, 3)],
            scales=[1.0],
            center_offset=0.5),
        # FCB(ada): adaptive offsets on the class, coefficient and track
        # branches
        fcb=dict(cls='adaptive', coeff='adaptive', track='adaptive'),
        with_track=True,
        track_channels=128,
        loss_track_weight=5.0,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            reduction='none',
            loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.5),
        num_head_convs=1,
        num_protos=num_protos,
        use_ohem=True),
    mask_head=dict(
        type='STMaskProtonet',
        in_channels=256,
        num_protos=num_protos,
        num_classes=__num_classes,
        max_masks_to_train=100,
        loss_mask_weight=6.125,
        with_seg_branch=False),
    temporal_fusion=dict(
        type='TemporalFusion',
        in_channels=256,
        num_protos=num_protos,
        patch_size=11,
        feat_stride=16,
        roi_size=7,
        conv_channels=(512, 512, 1024),
        loss_bbox_weight=5.0,
        loss_mask_weight=6.125),
    tf_level=1,  # P4
    tracker=dict(
        type='STMaskTracker',
        match_weights=(1.0, 1.0, 2.0),
        # the reference code's rule (new-object column scored 1.4); the
        # paper's text: 0.9 (docs/stmask.md)
        match_thr=1.4,
        max_missed=10,
        score_decay=0.95,
        score_thr=0.05),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        tf_max_rois_per_img=64,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        iou_thr=0.5,
        top_k=200,
        max_per_img=100,
        cross_class_nms=True,
        mask_thr=0.5,
        mask_thr_binary=0.5))
