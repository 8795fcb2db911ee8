# DVIS++ R50 + MSTM on YouTube-VIS 2019, STAGE 2 of 3: the package's
# combination (not a paper row) of video pre-training with MVC and
# decoupled refinement. The segmenter is the video pre-trained online VIS
# model with the MSTM neck (windows of 3 frames; its queries stay 256 d +
# 256-d re-id, so the tracker is unchanged); the tracker is trained as in
# dvis-plus-tracker-mvc2_r50_8xb1-80k_youtubevis2019.py (MVC-2 tubes).
# The chain: (0) video pre-training with MVC-1,
#   configs/mvc/mask2former-mstm-mvc1_r50_8xb2-50e_coco-pseudo-video.py,
#   converted with tools/model_converters/pretrain_to_vis.py as in the
#   header of (1); (1) stage 1, the segmenter of
#   configs/online_vis/
#   online-mask2former-mstm_r50_8xb2-16k_youtubevis2019_video-pretrain.py
#   (with load_from = the converted checkpoint of (0)).
# Starts from (load_from) the stage-1 checkpoint of (1).
# Writes work_dirs/
#   dvis-plus-mstm-tracker-mvc2_r50_8xb1-80k_youtubevis2019_video-pretrain/
#   iter_80000.pth, the start of stage 3
#   (dvis-plus-mstm-refiner-oma_r50_8xb1-40k_youtubevis2019_video-pretrain.py).
_base_ = './dvis-plus-tracker-mvc2_r50_8xb1-80k_youtubevis2019.py'
# the stage-1 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/online-mask2former-mstm_r50_8xb2-16k_youtubevis2019_'
             'video-pretrain/iter_16000.pth')

model = dict(
    num_frames=3,
    neck=dict(
        type='MSTM',
        in_channels=[256, 512, 1024, 2048],
        num_frames=3,
        embed_dims=256,
        gru_ratio=0.5,
        scales=[1, 2, 3]))

val_evaluator = dict(
    outfile_prefix=('work_dirs/submissions/'
                    'dvis-plus-mstm-tracker-mvc2_youtubevis2019'))
test_evaluator = val_evaluator
