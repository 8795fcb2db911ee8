# Online VIS (CTVIS recipe) on YouTube-VIS 2021 with MVC-1 (docs/mvc.md):
# every training frame is masked with probability 0.5, 32-px patches dropped
# with probability 0.7 (paper tab. 5), supervised by the full ground truth.
_base_ = '../online_vis/online-mask2former_r50_8xb2-16k_youtubevis2021.py'

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=32, mask_ratio=0.7, mode='frame',
         p_mask=0.5, loss_weight=1.0)
]

val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/online-vis-mvc1_youtubevis2021')
test_evaluator = val_evaluator
