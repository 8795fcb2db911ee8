# DVIS++ R50 on OVIS, STAGE 3 of 3 (docs/decoupled_vis.md): the temporal
# refiner (6 layers, hidden 512) trained for 40k iterations on 15-frame
# clips of consecutive frames reversed with p 0.5 (OVIS train split + COCO
# pseudo-videos), 8 GPUs x 1 clip, the segmenter and the tracker frozen;
# 25 classes. The plain DVIS++ row: no Object Masked Attention.
# Starts from (load_from) stage 2, the segmenter + tracker of
#   dvis-plus-tracker_r50_8xb1-160k_ovis.py
# Writes work_dirs/dvis-plus-refiner_r50_8xb1-40k_ovis/iter_40000.pth,
#   the final model.
# Evaluation: offline, whole videos (video-level loaders) refined in chunks
# of 300 frames, the 20 best (slot, class) pairs per video (DVIS++'s
# MAX_NUM): validation on the held-out part of train, testing writes the
# submission archive; `--cfg-options model.inference_mode=online`
# evaluates online.
_base_ = [
    '../_base_/models/dvis_plus_r50_refiner.py',
    '../_base_/datasets/coco_pseudo_video_ovis_decoupled.py',
    '../_base_/schedules/dvis_plus_40k.py'
]
# the stage-2 checkpoint in tools/train.py's default work_dir (another:
# --cfg-options load_from=PATH); a missing file stops the run
load_from = 'work_dirs/dvis-plus-tracker_r50_8xb1-160k_ovis/iter_160000.pth'

train_dataloader = dict(dataset={{_base_.decoupled_refiner_dataset}})
# offline inference sees whole videos: one video per sample (OVIS
# validates and tests on different splits: both loaders)
val_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=False))
test_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=False))
val_evaluator = dict(pairs_per_video=20)
test_evaluator = dict(
    pairs_per_video=20,
    outfile_prefix='work_dirs/submissions/dvis-plus-refiner_ovis')
