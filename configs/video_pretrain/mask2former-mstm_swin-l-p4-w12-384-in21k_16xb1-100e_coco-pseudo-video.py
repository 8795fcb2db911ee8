# Mask2Former Swin-L (ImageNet-22k, 384) + MSTM pre-trained on COCO
# pseudo-videos: MMDetection's Swin-L Mask2Former recipe (200 queries,
# 100 epochs = 737,500 iterations at 16 GPUs x 1 clip, backbone lr x 0.1,
# no weight decay on norms / position tables) on 3-frame pseudo-videos, with
# MSTM at 256 channels on the levels that feed the pixel decoder.
_base_ = './mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py'

pretrained = ('https://github.com/SwinTransformer/storage/releases/download/'
              'v1.0.0/swin_large_patch4_window12_384_22k.pth')
depths = [2, 2, 18, 2]
in_channels = [192, 384, 768, 1536]
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        pretrain_img_size=384,
        embed_dims=192,
        depths=depths,
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
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=in_channels),
    panoptic_head=dict(num_queries=200, in_channels=in_channels))

backbone_norm_multi = dict(lr_mult=0.1, decay_mult=0.0)
backbone_embed_multi = dict(lr_mult=0.1, decay_mult=0.0)
embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
custom_keys = {
    'backbone': dict(lr_mult=0.1, decay_mult=1.0),
    'backbone.patch_embed.norm': backbone_norm_multi,
    'backbone.norm': backbone_norm_multi,
    'absolute_pos_embed': backbone_embed_multi,
    'relative_position_bias_table': backbone_embed_multi,
    'query_embed': embed_multi,
    'query_feat': embed_multi,
    'level_embed': embed_multi
}
custom_keys.update({
    f'backbone.stages.{stage_id}.blocks.{block_id}.norm': backbone_norm_multi
    for stage_id, num_blocks in enumerate(depths)
    for block_id in range(num_blocks)
})
custom_keys.update({
    f'backbone.stages.{stage_id}.downsample.norm': backbone_norm_multi
    for stage_id in range(len(depths) - 1)
})
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=custom_keys, norm_decay_mult=0.0))

train_dataloader = dict(batch_size=1, num_workers=1)
max_iters = 737500
interval = 5000
param_scheduler = dict(end=max_iters, milestones=[655556, 710184])
train_cfg = dict(
    max_iters=max_iters,
    val_interval=interval,
    dynamic_intervals=[(max_iters // interval * interval + 1, max_iters)])
auto_scale_lr = dict(base_batch_size=16)
