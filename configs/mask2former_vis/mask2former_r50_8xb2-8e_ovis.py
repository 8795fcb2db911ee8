# MMDetection's Mask2Former-VIS R50 baseline on OVIS (25 classes; as the
# YouTube-VIS 2019 config).
_base_ = [
    '../_base_/models/mask2former_vis_r50.py', '../_base_/datasets/ovis.py',
    '../_base_/schedules/vis_iter_6k.py'
]
# mmdet's whole-video protocol (see the YouTube-VIS 2019 config)
val_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='YouTubeVISMetric', metric='youtube_vis_ap')
test_evaluator = val_evaluator
