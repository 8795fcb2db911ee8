# DVIS++ R50, stage 2 (docs/decoupled_vis.md): the package's online VIS
# Mask2Former R50 (online_mask2former_vis_r50.py, CTVIS style: 100 queries of
# 256 d + a 256-d re-id embedding) is the SEGMENTER, frozen (eval mode,
# no_grad); a ReferringTracker is trained on top of it. The segmenter keeps
# the parameter names of OnlineMask2FormerVIS, so a stage-1 checkpoint loads
# unchanged with `load_from` (tracker.* are reported missing).
# Tracker as DVIS++ R50: 6 layers, 8 heads, FFN 2048, hidden 512 = 256-d
# segmenter query + 256-d re-id embedding (variant 'dvis++'), mask features
# 256; `wa` denoising with prob 0.8 (the 80k / 160k schedules); guided
# first-appearance matching for the first half of the iterations; set loss
# class / BCE / dice 2 / 5 / 5 on 12544 points, re-id loss 2 on the
# references (the ReferringTracker defaults).
# Inference: online, frame by frame; every slot is a track with DVIS's
# video-level class scores (VISMetric keeps the best `pairs_per_video`
# (slot, class) pairs: MAX_NUM, set by the leaves).
# The stage-3 model (+ TemporalRefiner) is dvis_plus_r50_refiner.py.
# Optimizer of the model base (AdamW 1e-4, weight decay 0.05, backbone lr
# x 0.1, gradient clipping 0.01 over the whole model, mixed precision): the
# frozen parts get no gradient, so only the tracker is updated.
_base_ = './online_mask2former_vis_r50.py'

model = dict(
    type='DecoupledVIS',
    train_stage=2,
    inference_mode='online',
    guided_matching=0.5,
    tracker=dict(
        _delete_=True,  # the online model's MemoryBankTracker
        type='ReferringTracker',
        num_classes=40,  # follows `classes` (docs/class_set.md)
        embed_dims=512,
        num_layers=6,
        num_heads=8,
        feedforward_channels=2048,
        mask_dims=256,
        variant='dvis++',
        noise_ratio=0.8,
        noise_mode='wa',
        loss=dict(type='SetMaskLoss', num_points=12544),
        matcher=dict(
            type='FirstAppearanceMatcher',
            match_cost=dict(type='MaskMatchCost', num_points=12544))))
