# Stage 2 of the decoupled VIS miniature: the DVIS++ referring tracker on the
# frozen tiny segmenter (stage 1, given by load_from), 5-frame clips of
# consecutive frames (synthetic videos + pseudo-videos), `wa` denoising 0.5,
# guided first-appearance matching for the first half, re-id loss on the
# references. Online (frame-by-frame) evaluation on the synthetic `valid`.
# Hidden 64 = the segmenter's 32-d queries + 32-d re-id embeddings.
_base_ = [
    '../online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py',
    '../_base_/datasets/synthetic_decoupled_vis.py'
]
# the data's 6 classes, written out so that a plain Config.fromfile builds
# the same model (tools apply `classes`: docs/class_set.md)
__num_classes = 6
model = dict(
    type='DecoupledVIS',
    train_stage=2,
    inference_mode='online',
    guided_matching=0.5,
    tracker=dict(
        _delete_=True,
        type='ReferringTracker',
        num_classes=__num_classes,
        embed_dims=64,
        num_layers=2,
        num_heads=4,
        feedforward_channels=128,
        mask_dims=32,
        variant='dvis++',
        noise_ratio=0.5,
        noise_mode='wa',
        loss=dict(type='SetMaskLoss', num_points=1024),
        matcher=dict(
            type='FirstAppearanceMatcher',
            match_cost=dict(type='MaskMatchCost', num_points=1024))))
train_dataloader = dict(dataset={{_base_.decoupled_tracker_dataset}})
# DVIS: top-K (slot, class) pairs per video (MAX_NUM; 10 slots here)
val_evaluator = dict(pairs_per_video=10)
test_evaluator = val_evaluator
