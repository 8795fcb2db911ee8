# Table 4 ablation, row "+FCA +FCB(ali) +TF": STMask (ali), paper 36.3 AP
# (the full STMask (ada) is stmask_r101-dcn_4xb2-12e_youtubevis2019.py).
_base_ = './stmask_r101-dcn_4xb2-12e_youtubevis2019.py'
model = dict(
    bbox_head=dict(fcb=dict(cls=None, coeff='aligned', track='aligned')))
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask-ali_r101-dcn_ytvis19')
test_evaluator = val_evaluator
