_base_ = './youtube_vis_2019.py'
# OVIS (25 classes): data/ovis/{train,valid}/<video>/<frame>.jpg and
# data/ovis/annotations/{annotations_train,annotations_valid}.json. The valid
# JSON has "annotations": null and loads for inference. For local validation
# split the train JSON with tools/dataset_converters/split_vis.py.
dataset_type = 'OVISDataset'
classes = __import__('mmvis_pretrain.datasets.ovis',
                     fromlist=['_']).OVIS_CLASSES
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
val_evaluator = dict(outfile_prefix='./ovis_results')
test_evaluator = val_evaluator
