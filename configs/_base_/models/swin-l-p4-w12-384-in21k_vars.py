# Swin-L (ImageNet-22k, 384) pieces for Mask2Former configs, as variables
# only (no `model` key), so a leaf can combine them with an R50 leaf:
#   _base_ = ['./<r50 leaf>.py', '../_base_/models/swin-l-p4-w12-384-in21k_vars.py']
#   model = dict(backbone={{_base_.swin_l_backbone}},
#                panoptic_head=dict(in_channels={{_base_.swin_l_channels}}))
#   optim_wrapper = dict(paramwise_cfg=dict(
#       custom_keys={{_base_.swin_l_custom_keys}}, norm_decay_mult=0.0))
# MMDetection's Swin-L Mask2Former recipe: backbone lr x 0.1, no weight decay
# on norms and position tables.
swin_l_pretrained = ('https://github.com/SwinTransformer/storage/releases/'
                     'download/v1.0.0/swin_large_patch4_window12_384_22k.pth')
swin_l_depths = [2, 2, 18, 2]
swin_l_channels = [192, 384, 768, 1536]
swin_l_backbone = dict(
    _delete_=True,
    type='SwinTransformer',
    pretrain_img_size=384,
    embed_dims=192,
    depths=swin_l_depths,
    num_heads=[6, 12, 24, 48],
    window_size=12,
    mlp_ratio=4,
    qkv_bias=True,
    qk_scale=None,
    drop_rate=0.,
    attn_drop_rate=0.,
    drop_path_rate=0.3,
    patch_norm=True,
    out_indices=(0, 1, 2, 3),
    with_cp=False,
    convert_weights=True,
    frozen_stages=-1,
    init_cfg=dict(type='Pretrained', checkpoint=swin_l_pretrained))

_norm = dict(lr_mult=0.1, decay_mult=0.0)
_embed = dict(lr_mult=1.0, decay_mult=0.0)
swin_l_custom_keys = {
    'backbone': dict(lr_mult=0.1, decay_mult=1.0),
    'backbone.patch_embed.norm': _norm,
    'backbone.norm': _norm,
    'absolute_pos_embed': _norm,
    'relative_position_bias_table': _norm,
    'query_embed': _embed,
    'query_feat': _embed,
    'level_embed': _embed,
}
swin_l_custom_keys.update({
    f'backbone.stages.{stage}.blocks.{block}.norm': _norm
    for stage, num_blocks in enumerate(swin_l_depths)
    for block in range(num_blocks)
})
swin_l_custom_keys.update({
    f'backbone.stages.{stage}.downsample.norm': _norm
    for stage in range(len(swin_l_depths) - 1)
})
# MMDetection's Swin-L Mask2Former COCO (panoptic) weights: the image
# pre-trained starting point (its 133-class classifier is not loaded)
swin_l_mask2former_coco = (
    'https://download.openmmlab.com/mmdetection/v3.0/mask2former/'
    'mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic/'
    'mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic_'
    '20220407_104949-82f8d28d.pth')
