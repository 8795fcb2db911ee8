_base_ = './youtube_vis_2019.py'
# YouTube-VIS 2021: same layout under data/youtube_vis_2021/.
dataset_type = 'YouTubeVIS2021Dataset'
classes = __import__('mmvis_pretrain.datasets.youtube_vis',
                     fromlist=['_']).YTVIS_2021_CLASSES
data_root = 'data/youtube_vis_2021/'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
