# The bundled synthetic video set (raw YouTube-VIS 2019 schema), written by
#   python tools/misc/make_synthetic_data.py --out data/synthetic
# 6 classes: person, car, dog, cat, bird, horse (docs/synthetic_data.md).
# `valid` is a held-out split with annotations: evaluated locally.
_base_ = './youtube_vis_2019.py'

dataset_type = 'SyntheticVISDataset'
classes = __import__('mmvis_pretrain.datasets.synthetic.categories',
                     fromlist=['_']).SYNTHETIC_CLASSES
data_root = 'data/synthetic/ytvis/'
img_scale = (160, 120)

train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=4,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]

# InfiniteSampler: a tiny data set under an iteration-based loop would hit
# mmengine's 2 s pause at every epoch boundary (every few iterations).
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='train.json',
        data_prefix=dict(img_path='train/JPEGImages'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='valid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# online protocol (youtube_vis_2019.py), evaluated locally against `valid`
val_evaluator = dict(
    _delete_=True, type='VISMetric', ann_file=data_root + 'valid.json')
test_evaluator = val_evaluator
