# MMDetection's Mask2FormerVideo (the former MMTracking VIS model), R50: 40
# classes, clips of 2 frames, initialised from MMDetection's COCO Mask2Former
# R50; AdamW 1e-4 with backbone lr x 0.1 and gradient clipping 0.01. The
# `model` and `optim_wrapper` of
#   mmdet::mask2former_vis/mask2former_r50_8xb2-8e_youtubevis2019.py
# read from the installed mmdet, unchanged (not inherited with `_base_`: see
# mask2former_r50.py).
from mmengine import Config as __Config

__mmdet = __Config.fromfile(__Config._get_cfg_path(
    'mmdet::mask2former_vis/mask2former_r50_8xb2-8e_youtubevis2019.py',
    '')[0])
num_frames = __mmdet.num_frames
embed_multi = __mmdet.embed_multi
model = __mmdet.model
optim_wrapper = __mmdet.optim_wrapper
