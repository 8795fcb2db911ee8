# STMask R50-DCN, FCB(ada), on OVIS (25 classes), 20 epochs. The OVIS valid
# JSON has no annotations: testing writes the submission archive.
_base_ = './stmask_r50-dcn_4xb2-12e_youtubevis2019.py'
classes = __import__('mmvis_pretrain.datasets.ovis',
                     fromlist=['_']).OVIS_CLASSES  # heads follow
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
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask_r50-dcn_ovis')
test_evaluator = val_evaluator

max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[14, 18],
        gamma=0.1)
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
