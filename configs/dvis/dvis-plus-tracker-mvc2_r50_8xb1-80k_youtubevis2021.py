# DVIS++ R50 with MVC on YouTube-VIS 2021, STAGE 2 of 3 (MVC + OMA row of the
# MVC paper; docs/decoupled_vis.md, docs/mvc.md): the training of
# dvis-plus-tracker_r50_8xb1-80k_youtubevis2021.py with MVC-2 tube masking:
# each training clip is masked with probability 0.5 by ONE patch mask for
# all its frames (32-px patches dropped with probability 0.7, paper
# tab. 5), so the frozen segmenter hands the tracker degraded queries; the
# supervision is the full ground truth.
# Starts from (load_from) stage 1 with MVC-1, the segmenter of
#   configs/mvc/online-mask2former-mvc1_r50_8xb2-16k_youtubevis2021.py
# Writes work_dirs/dvis-plus-tracker-mvc2_r50_8xb1-80k_youtubevis2021/
#   iter_80000.pth, the start of stage 3
#   (dvis-plus-refiner-oma_r50_8xb1-40k_youtubevis2021.py).
_base_ = './dvis-plus-tracker_r50_8xb1-80k_youtubevis2021.py'
# the stage-1 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/online-mask2former-mvc1_r50_8xb2-16k_youtubevis2021/'
             'iter_16000.pth')

custom_hooks = [
    dict(type='MVCMaskingHook', patch_size=32, mask_ratio=0.7, mode='tube',
         p_mask=0.5, loss_weight=1.0)
]

val_evaluator = dict(
    outfile_prefix=('work_dirs/submissions/'
                    'dvis-plus-tracker-mvc2_youtubevis2021'))
test_evaluator = val_evaluator
