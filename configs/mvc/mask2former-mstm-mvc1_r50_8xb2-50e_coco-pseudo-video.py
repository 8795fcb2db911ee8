# Video pre-training of Mask2Former R50 + MSTM on COCO pseudo-videos with
# MVC-1 (docs/mvc.md): every frame of a pseudo-video is masked on its own
# with probability 0.5 (32-px patches, ratio 0.7, paper tab. 5).
_base_ = ('../video_pretrain/'
          'mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py')

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=32, mask_ratio=0.7, mode='frame',
         p_mask=0.5, loss_weight=1.0)
]
