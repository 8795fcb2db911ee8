# DVIS++ R50 with MVC + OMA on YouTube-VIS 2021, STAGE 3 of 3 (MVC + OMA row of
# the MVC paper; docs/decoupled_vis.md, docs/temporal_refiner.md): the
# training of dvis-plus-refiner_r50_8xb1-40k_youtubevis2021.py with Object
# Masked Attention: in the refiner's cross-attention the keys of
# background segmenter queries (p(no-object) >= 0.6) are dropped with
# probability 0.5, in training only (paper tab. 6).
# Starts from (load_from) stage 2 with MVC-2, the segmenter + tracker of
#   dvis-plus-tracker-mvc2_r50_8xb1-80k_youtubevis2021.py
# Writes work_dirs/dvis-plus-refiner-oma_r50_8xb1-40k_youtubevis2021/
#   iter_40000.pth, the final model (offline evaluation as the base).
_base_ = './dvis-plus-refiner_r50_8xb1-40k_youtubevis2021.py'
# the stage-2 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/dvis-plus-tracker-mvc2_r50_8xb1-80k_youtubevis2021/'
             'iter_80000.pth')

model = dict(
    refiner=dict(oma_drop_prob=0.5, oma_rule='no_object_prob', oma_thr=0.6))

val_evaluator = dict(
    outfile_prefix=('work_dirs/submissions/'
                    'dvis-plus-refiner-oma_youtubevis2021'))
test_evaluator = val_evaluator
