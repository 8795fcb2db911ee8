# Table 4 ablation, row "Baseline": YOLACT R101-DCN with a track embedding
# branch (one 3x3 prediction conv, anchors 1:2 / 1:1 / 2:1 of mmdet's YOLACT,
# no FCB, no temporal fusion: matching on embeddings + mask / box IoU).
_base_ = './stmask_r101-dcn_4xb2-12e_youtubevis2019.py'
model = dict(
    bbox_head=dict(
        anchor_generator=dict(
            _delete_=True,
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=1,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128],
            center_offset=0.5),
        kernel_sizes=[(3, 3)],
        fcb=dict(cls=None, coeff=None, track=None)),
    temporal_fusion=None)
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask-baseline_r101-dcn_ytvis19')
test_evaluator = val_evaluator
