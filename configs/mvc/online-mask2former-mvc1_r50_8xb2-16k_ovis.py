# Online VIS (CTVIS recipe) on OVIS with MVC-1 (docs/mvc.md): every training
# frame is masked with probability 0.5, 32-px patches dropped with
# probability 0.7 (paper tab. 5), supervised by the full ground truth.
_base_ = '../online_vis/online-mask2former_r50_8xb2-16k_ovis.py'

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=32, mask_ratio=0.7, mode='frame',
         p_mask=0.5, loss_weight=1.0)
]
