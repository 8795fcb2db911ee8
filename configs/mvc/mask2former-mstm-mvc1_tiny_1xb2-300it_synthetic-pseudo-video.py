# The CPU miniature of video pre-training with MVC-1 on the synthetic
# pseudo-videos: 16-px patches (the synthetic images are ~160 x 120),
# ratio 0.7, every frame masked with probability 0.5 (docs/mvc.md).
_base_ = ('../video_pretrain/'
          'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py')

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=16, mask_ratio=0.7, mode='frame',
         p_mask=0.5, loss_weight=1.0)
]
