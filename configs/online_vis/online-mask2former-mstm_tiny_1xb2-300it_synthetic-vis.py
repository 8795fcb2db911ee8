# The "video pre-trained" arm of the demo's study: the tiny online VIS model
# with the MSTM neck of the tiny pseudo-video pre-training
# (video_pretrain/mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py,
# whose checkpoint loads into it unchanged), MSTM on windows of 3 frames.
_base_ = './online-mask2former_tiny_1xb2-300it_synthetic-vis.py'

model = dict(
    num_frames=3,
    neck=dict(
        type='MSTM',
        in_channels=[16, 32, 64, 128],
        num_frames=3,
        window_size=7,
        num_heads=1))
