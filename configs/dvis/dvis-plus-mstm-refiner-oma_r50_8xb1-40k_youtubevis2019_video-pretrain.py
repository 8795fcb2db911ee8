# DVIS++ R50 + MSTM on YouTube-VIS 2019, STAGE 3 of 3: the package's
# combination (not a paper row) of video pre-training with MVC and
# decoupled refinement. The segmenter is the video pre-trained online VIS
# model with the MSTM neck (windows of 3 frames), frozen with the tracker;
# the refiner with OMA is trained as in
# dvis-plus-refiner-oma_r50_8xb1-40k_youtubevis2019.py; offline
# evaluation as there.
# Starts from (load_from) stage 2, the segmenter + tracker of
#   dvis-plus-mstm-tracker-mvc2_r50_8xb1-80k_youtubevis2019_video-pretrain.py
# Writes work_dirs/
#   dvis-plus-mstm-refiner-oma_r50_8xb1-40k_youtubevis2019_video-pretrain/
#   iter_40000.pth, the final model.
_base_ = './dvis-plus-refiner-oma_r50_8xb1-40k_youtubevis2019.py'
# the stage-2 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/dvis-plus-mstm-tracker-mvc2_r50_8xb1-80k_'
             'youtubevis2019_video-pretrain/iter_80000.pth')

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
                    'dvis-plus-mstm-refiner-oma_youtubevis2019'))
test_evaluator = val_evaluator
