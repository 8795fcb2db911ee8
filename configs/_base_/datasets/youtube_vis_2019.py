# YouTube-VIS 2019, raw JSON as downloaded:
#   data/youtube_vis_2019/{train,valid}/JPEGImages/<video>/<frame>.jpg
#   data/youtube_vis_2019/annotations/{train,valid}.json
# `valid` has no public annotations: local validation uses a held-out split
# made by tools/dataset_converters/split_vis.py (see docs/datasets.md).
# Testing follows the package's online protocol: one frame per sample
# (mmdet's TrackImgSampler keeps the frames of a video together and in
# order, and never splits a video across GPUs), scored by VISMetric. Models
# that take a whole video per sample (mmdet's Mask2FormerVideo) switch to
# DefaultSampler and YouTubeVISMetric (configs/mask2former_vis/).
dataset_type = 'YouTubeVIS2019Dataset'
# The class set (docs/class_set.md): heads and data sets follow it; a leaf
# config picks a subset with `classes = (...)` alone.
# (__import__: an import statement would make mmengine read this file as a
# new-style, lazy-import config)
classes = __import__('mmvis_pretrain.datasets.youtube_vis',
                     fromlist=['_']).YTVIS_2019_CLASSES
data_root = 'data/youtube_vis_2019/'
backend_args = None

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=100,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=(640, 360), keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='TrackAspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img_path='train/JPEGImages'),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/valid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# The official server evaluates `valid`: write the submission archive.
val_evaluator = dict(
    type='VISMetric', format_only=True, outfile_prefix='./youtube_vis_results')
test_evaluator = val_evaluator
