# STC R50 on YouTube-VIS 2021 (40 classes, a different category set from
# 2019).
_base_ = './stc_r50_4xb2-12e_youtubevis2019.py'
dataset_type = 'YouTubeVIS2021Dataset'
data_root = 'data/youtube_vis_2021/'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stc_r50_youtubevis2021')
test_evaluator = val_evaluator
