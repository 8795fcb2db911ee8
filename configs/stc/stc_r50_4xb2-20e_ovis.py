# STC R50 on OVIS (25 classes; paper 15.5 AP), 20 epochs. The OVIS valid
# JSON has no annotations: testing writes the submission archive. OVIS
# frames hold many, heavily occluded instances: more contrastive samples per
# frame than for YouTube-VIS.
_base_ = './stc_r50_4xb2-12e_youtubevis2019.py'
classes = __import__('mmvis_pretrain.datasets.ovis',
                     fromlist=['_']).OVIS_CLASSES  # heads follow
model = dict(track_head=dict(num_samples=384))
dataset_type = 'OVISDataset'
data_root = 'data/ovis/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/annotations_train.json',
        data_prefix=dict(img_path='train')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/annotations_valid.json',
        data_prefix=dict(img_path='valid')))
test_dataloader = val_dataloader
val_evaluator = dict(outfile_prefix='work_dirs/submissions/stc_r50_ovis')
test_evaluator = val_evaluator

max_epochs = 20
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[14, 18],
        gamma=0.1)
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
