# DVIS++ R50 on OVIS, STAGE 2 of 3 (docs/decoupled_vis.md): the referring
# tracker (6 layers, hidden 512 = query + re-id, `wa` denoising 0.8) trained
# for 160k iterations (DVIS++'s OVIS schedule) on 5-frame clips of
# consecutive frames (OVIS train split + COCO pseudo-videos, 1 : 0.75),
# 8 GPUs x 1 clip, the segmenter frozen; 25 classes. The plain DVIS++ row:
# no MVC.
# Starts from (load_from) stage 1, the segmenter of
#   configs/online_vis/online-mask2former_r50_8xb2-16k_ovis.py
# Writes work_dirs/dvis-plus-tracker_r50_8xb1-160k_ovis/iter_160000.pth,
#   the start of stage 3 (dvis-plus-refiner_r50_8xb1-40k_ovis.py).
# Evaluation: online (segmenter + tracker, frame by frame), the 20 best
# (slot, class) pairs per video (DVIS++'s MAX_NUM on OVIS): validation on
# the held-out part of train, testing writes the submission archive.
_base_ = [
    '../_base_/models/dvis_plus_r50.py',
    '../_base_/datasets/coco_pseudo_video_ovis_decoupled.py',
    '../_base_/schedules/dvis_plus_160k.py'
]
# the stage-1 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = 'work_dirs/online-mask2former_r50_8xb2-16k_ovis/iter_16000.pth'

val_evaluator = dict(pairs_per_video=20)
test_evaluator = dict(
    pairs_per_video=20,
    outfile_prefix='work_dirs/submissions/dvis-plus-tracker_ovis')
