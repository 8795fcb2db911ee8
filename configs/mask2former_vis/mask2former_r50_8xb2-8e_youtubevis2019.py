# MMDetection's Mask2Former-VIS R50 baseline, initialised from Mask2Former R50
# trained on COCO images (the "image pre-training" starting point; the
# model base's init_cfg, as in mmdet's config).
_base_ = [
    '../_base_/models/mask2former_vis_r50.py',
    '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/schedules/vis_iter_6k.py'
]
# mmdet's whole-video protocol: Mask2FormerVideo takes a whole video per
# sample (not the data set base's one frame) and is scored by mmdet's
# YouTubeVISMetric (format_only and outfile_prefix: the base's)
val_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='YouTubeVISMetric', metric='youtube_vis_ap')
test_evaluator = val_evaluator
