# STMask R101-DCN, FCB(ada), on YouTube-VIS 2021.
_base_ = './stmask_r50-dcn_4xb2-12e_youtubevis2021.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask_r101-dcn_youtubevis2021')
test_evaluator = val_evaluator
