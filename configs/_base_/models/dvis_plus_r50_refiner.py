# DVIS++ R50, stage 3 (docs/decoupled_vis.md, docs/temporal_refiner.md): the
# stage-2 model of dvis_plus_r50.py with the segmenter AND the tracker frozen
# and a TemporalRefiner trained on top: 6 layers (temporal self-attention,
# Conv1d k5 / k3, object self-attention, cross-attention to the frame's
# segmenter queries, FFN), 8 heads, FFN 2048, hidden 512 (= the tracker's),
# mask features 256; video-level Hungarian matching, class / BCE / dice
# 2 / 5 / 5 on 12544 points per frame, guided by the frozen tracker for the
# first half of the iterations.
# Object Masked Attention is OFF here (oma_drop_prob=0.0: the plain DVIS++
# refiner); the MVC + OMA leaves set oma_drop_prob=0.5 (background keys of
# the cross-attention, p(no-object) >= 0.6, dropped with prob 0.5, in
# training only).
# Inference: offline, whole videos refined in chunks of `chunk_size` frames
# (DVIS's long-video windows, 300), the tracker state carried over; class
# score = max(refiner, tracker mean). Offline needs the video-level test
# loader (DefaultSampler), set by the leaves;
# `--cfg-options model.inference_mode=online` evaluates the same checkpoint
# online (segmenter + tracker).
_base_ = './dvis_plus_r50.py'

model = dict(
    train_stage=3,
    inference_mode='offline',
    chunk_size=300,
    refiner=dict(
        type='TemporalRefiner',
        num_classes=40,  # follows `classes` (docs/class_set.md)
        embed_dims=512,
        num_layers=6,
        num_heads=8,
        feedforward_channels=2048,
        mask_dims=256,
        oma_drop_prob=0.0,
        oma_rule='no_object_prob',
        oma_thr=0.6,
        loss=dict(type='SetMaskLoss', num_points=12544),
        match_cost=dict(type='MaskMatchCost', num_points=12544)))
