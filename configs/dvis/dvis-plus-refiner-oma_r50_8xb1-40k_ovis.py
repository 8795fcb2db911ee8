# DVIS++ R50 with MVC + OMA on OVIS, STAGE 3 of 3 (MVC + OMA row of
# the MVC paper; docs/decoupled_vis.md, docs/temporal_refiner.md): the
# training of dvis-plus-refiner_r50_8xb1-40k_ovis.py with Object
# Masked Attention: in the refiner's cross-attention the keys of
# background segmenter queries (p(no-object) >= 0.6) are dropped with
# probability 0.5, in training only (paper tab. 6).
# Starts from (load_from) stage 2 with MVC-2, the segmenter + tracker of
#   dvis-plus-tracker-mvc2_r50_8xb1-160k_ovis.py
# Writes work_dirs/dvis-plus-refiner-oma_r50_8xb1-40k_ovis/
#   iter_40000.pth, the final model (offline evaluation as the base).
_base_ = './dvis-plus-refiner_r50_8xb1-40k_ovis.py'
# the stage-2 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/dvis-plus-tracker-mvc2_r50_8xb1-160k_ovis/'
             'iter_160000.pth')

model = dict(
    refiner=dict(oma_drop_prob=0.5, oma_rule='no_object_prob', oma_thr=0.6))

test_evaluator = dict(
    outfile_prefix='work_dirs/submissions/dvis-plus-refiner-oma_ovis')
