# Stage 2 of the decoupled VIS miniature with MVC-2 (MVC paper eq. 5): one
# patch mask per training clip, the same for all its frames (tube masking),
# applied to the input of the frozen segmenter, so the tracker learns from
# the queries of degraded frames; the supervision is the full ground truth.
# 16-px patches at this 160x120 scale (32 px would give a 5x4 grid),
# ratio 0.7, a clip masked with p 0.5 (docs/mvc.md). The stage-3 refiner
# config with OMA can load this stage's checkpoint like the plain one's.
_base_ = ['./dvis-tracker_tiny_1xb2-300it_synthetic-vis.py']

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=16, mask_ratio=0.7, mode='tube',
         p_mask=0.5, loss_weight=1.0)
]
