# Stage 3 of the decoupled VIS miniature: the temporal refiner with Object
# Masked Attention (drop 0.5, background = no-object prob >= 0.6) on the
# frozen segmenter + tracker (stage 2, given by load_from); 8-frame clips of
# consecutive frames reversed with p 0.5. Offline evaluation: whole videos
# (video-level test loader), refined in chunks of `chunk_size` frames;
# `--cfg-options model.inference_mode=online` evaluates the same
# checkpoint online (segmenter + tracker).
_base_ = ['./dvis-tracker_tiny_1xb2-300it_synthetic-vis.py']
# the data's 6 classes, written out so that a plain Config.fromfile builds
# the same model (tools apply `classes`: docs/class_set.md)
__num_classes = 6
model = dict(
    train_stage=3,
    inference_mode='offline',
    chunk_size=20,
    refiner=dict(
        type='TemporalRefiner',
        num_classes=__num_classes,
        embed_dims=64,
        num_layers=2,
        num_heads=4,
        feedforward_channels=128,
        mask_dims=32,
        oma_drop_prob=0.5,
        oma_rule='no_object_prob',
        oma_thr=0.6,
        loss=dict(type='SetMaskLoss', num_points=1024),
        match_cost=dict(type='MaskMatchCost', num_points=1024)))
train_dataloader = dict(dataset={{_base_.decoupled_refiner_dataset}})
# offline inference sees whole videos: one video per test sample
val_dataloader = dict(sampler=dict(_delete_=True, type='DefaultSampler',
                                   shuffle=False))
test_dataloader = val_dataloader
