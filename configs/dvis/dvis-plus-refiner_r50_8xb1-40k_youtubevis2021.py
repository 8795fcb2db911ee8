# DVIS++ R50 on YouTube-VIS 2021, STAGE 3 of 3 (docs/decoupled_vis.md): the
# temporal refiner (6 layers, hidden 512) trained for 40k iterations on
# 15-frame clips of consecutive frames reversed with p 0.5 (YouTube-VIS 2021
# + COCO pseudo-videos), 8 GPUs x 1 clip, the segmenter and the tracker
# frozen. The plain DVIS++ row: no Object Masked Attention.
# Starts from (load_from) stage 2, the segmenter + tracker of
#   dvis-plus-tracker_r50_8xb1-80k_youtubevis2021.py
# Writes work_dirs/dvis-plus-refiner_r50_8xb1-40k_youtubevis2021/
#   iter_40000.pth, the final model.
# Evaluation: offline, whole videos (video-level test loader) refined in
# chunks of 300 frames, the 20 best (slot, class) pairs per video
# (DVIS++'s MAX_NUM), written as the archive for the official server;
# `--cfg-options model.inference_mode=online` evaluates online.
_base_ = [
    '../_base_/models/dvis_plus_r50_refiner.py',
    '../_base_/datasets/coco_pseudo_video_ytvis21_decoupled.py',
    '../_base_/schedules/dvis_plus_40k.py'
]
# the stage-2 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/dvis-plus-tracker_r50_8xb1-80k_youtubevis2021/'
             'iter_80000.pth')

train_dataloader = dict(dataset={{_base_.decoupled_refiner_dataset}})
# offline inference sees whole videos: one video per test sample
val_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(
    pairs_per_video=20,
    outfile_prefix='work_dirs/submissions/dvis-plus-refiner_youtubevis2021')
test_evaluator = val_evaluator
