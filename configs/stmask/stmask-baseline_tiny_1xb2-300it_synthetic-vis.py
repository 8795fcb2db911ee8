# The baseline row of STMask's table 4 in miniature (the CPU tiny STMask
# without FCA, FCB and temporal fusion): YOLACT's 3x3 head with 3 anchors per
# position (octave base scale 3, ratios 0.5 / 1 / 2), as
# stmask-baseline_r101-dcn_4xb2-12e_youtubevis2019.py for R101. The other
# rows are options of the tiny config (study spec
# tools/analysis_tools/studies/stmask_table4.py).
_base_ = './stmask_tiny_1xb2-300it_synthetic-vis.py'
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
