# The CPU miniature of online VIS with MVC-1 on the synthetic videos (the
# demo's MVC row): 16-px patches at the ~160 x 120 synthetic size (a 32-px
# grid would have 5 x 4 patches), ratio 0.7, every frame masked with
# probability 0.5 (docs/mvc.md).
_base_ = ('../online_vis/'
          'online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py')

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=16, mask_ratio=0.7, mode='frame',
         p_mask=0.5, loss_weight=1.0)
]
