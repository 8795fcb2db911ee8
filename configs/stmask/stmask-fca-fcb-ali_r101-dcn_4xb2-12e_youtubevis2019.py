# Table 4 ablation, row "+FCA +FCB(ali)": aligned FCB on the coefficient and
# track branches (the paper's FCB(ali)); no temporal fusion.
_base_ = './stmask_r101-dcn_4xb2-12e_youtubevis2019.py'
model = dict(
    bbox_head=dict(fcb=dict(cls=None, coeff='aligned', track='aligned')),
    temporal_fusion=None)
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask-fca-fcb-ali_r101-dcn_ytvis19')
test_evaluator = val_evaluator
