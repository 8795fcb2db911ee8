# STMask R101-DCN, FCB(ada), on OVIS.
_base_ = './stmask_r50-dcn_4xb2-20e_ovis.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask_r101-dcn_ovis')
test_evaluator = val_evaluator
