# Online VIS on YouTube-VIS 2021 with Swin-L (ImageNet-22k, 384), image pre-trained:
# the R50 recipe of online-mask2former_r50_8xb2-16k_youtubevis2021.py with
# MMDetection's Swin-L Mask2Former COCO weights and 200 queries.
_base_ = [
    './online-mask2former_r50_8xb2-16k_youtubevis2021.py',
    '../_base_/models/swin-l-p4-w12-384-in21k_vars.py'
]
load_from = {{_base_.swin_l_mask2former_coco}}
model = dict(
    backbone={{_base_.swin_l_backbone}},
    panoptic_head=dict(
        num_queries=200, in_channels={{_base_.swin_l_channels}}))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={{_base_.swin_l_custom_keys}}, norm_decay_mult=0.0))
