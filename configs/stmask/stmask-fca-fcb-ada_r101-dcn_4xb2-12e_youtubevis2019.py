# Table 4 ablation, row "+FCA +FCB(ada)": adaptive FCB on the class,
# coefficient and track branches; no temporal fusion.
_base_ = './stmask_r101-dcn_4xb2-12e_youtubevis2019.py'
model = dict(temporal_fusion=None)
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask-fca-fcb-ada_r101-dcn_ytvis19')
test_evaluator = val_evaluator
