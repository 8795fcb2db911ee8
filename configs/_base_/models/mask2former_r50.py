# MMDetection's Mask2Former R50 for instance segmentation (80 thing classes,
# no stuff; 100 queries, 9 decoder layers, AdamW 1e-4 with backbone lr x 0.1
# and gradient clipping 0.01): the `model` and `optim_wrapper` of
#   mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py
# read from the installed mmdet (the path resolved as for an `mmdet::` base)
# and changed only where this package differs. Not inherited with `_base_`:
# mmdet's file is a whole recipe (COCO data, schedule, runtime), and its keys
# would collide with those of the data set and schedule bases that a leaf
# lists next to this file (mmengine: "Duplicate key is not allowed among
# bases").
from mmengine import Config as __Config

__mmdet = __Config.fromfile(__Config._get_cfg_path(
    'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py', '')[0])
embed_multi = __mmdet.embed_multi
model = __mmdet.model
optim_wrapper = __mmdet.optim_wrapper

# Differences from mmdet's recipe:
# - padding to a multiple of 32 only: the fixed 1024 x 1024 pad belongs to
#   the large-scale-jittering data recipe (the COCO leaf adds it back), and
#   there are no semantic maps to pad
del model.data_preprocessor['batch_augments']
del model.data_preprocessor['seg_pad_value']
# - 128 images per im2col step in the deformable attention (the value of
#   mmdet's Mask2Former-VIS; speed / memory only, the same result)
__attn = model.panoptic_head.pixel_decoder.encoder.layer_cfg.self_attn_cfg
__attn.im2col_step = 128
