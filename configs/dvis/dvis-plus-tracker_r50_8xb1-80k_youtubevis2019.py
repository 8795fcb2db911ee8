# DVIS++ R50 on YouTube-VIS 2019, STAGE 2 of 3 (docs/decoupled_vis.md): the
# referring tracker (6 layers, hidden 512 = query + re-id, `wa` denoising
# 0.8) trained for 80k iterations on 5-frame clips of consecutive frames
# (YouTube-VIS 2019 + COCO pseudo-videos), 8 GPUs x 1 clip, the segmenter
# frozen. The plain DVIS++ row: no MVC.
# Starts from (load_from) stage 1, the segmenter of
#   configs/online_vis/online-mask2former_r50_8xb2-16k_youtubevis2019.py
# Writes work_dirs/dvis-plus-tracker_r50_8xb1-80k_youtubevis2019/
#   iter_80000.pth, the start of stage 3
#   (dvis-plus-refiner_r50_8xb1-40k_youtubevis2019.py).
# Evaluation: online (segmenter + tracker, frame by frame), the 10 best
# (slot, class) pairs per video (DVIS++'s MAX_NUM on YouTube-VIS 2019),
# written as the archive for the official server.
_base_ = [
    '../_base_/models/dvis_plus_r50.py',
    '../_base_/datasets/coco_pseudo_video_ytvis19_decoupled.py',
    '../_base_/schedules/dvis_plus_80k.py'
]
# the stage-1 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = ('work_dirs/online-mask2former_r50_8xb2-16k_youtubevis2019/'
             'iter_16000.pth')

val_evaluator = dict(
    pairs_per_video=10,
    outfile_prefix='work_dirs/submissions/dvis-plus-tracker_youtubevis2019')
test_evaluator = val_evaluator
