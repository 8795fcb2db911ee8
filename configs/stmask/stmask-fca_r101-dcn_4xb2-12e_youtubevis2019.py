# Table 4 ablation, row "+FCA": 3x3 / 3x5 / 5x3 kernels with footprint
# anchors; no FCB, no temporal fusion.
_base_ = './stmask_r101-dcn_4xb2-12e_youtubevis2019.py'
model = dict(
    bbox_head=dict(fcb=dict(cls=None, coeff=None, track=None)),
    temporal_fusion=None)
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask-fca_r101-dcn_ytvis19')
test_evaluator = val_evaluator
