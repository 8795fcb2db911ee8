# STMask R50-DCN, FCB(ada), on YouTube-VIS 2019 (Li et al., CVPR 2021; paper
# 33.5 AP on the official valid server). 640x360 frames; frame pairs with the
# reference within +-2 annotated frames of the key frame; 4 GPUs x 2 pairs
# (batch 8 pairs), SGD, 12 epochs over the annotated key frames. The paper
# starts from a COCO-trained model; set `load_from` to a YOLACT/STMask COCO
# checkpoint to do the same (the backbone here starts from ImageNet).
# Inference is online, frame by frame; `valid` has no public annotations:
# testing writes the submission archive for the official server. For local
# numbers split train with tools/dataset_converters/split_vis.py and point
# the val dataset and `val_evaluator.ann_file` at the held-out part.
_base_ = [
    '../_base_/models/stmask_r50_dcn.py',
    '../_base_/datasets/youtube_vis_2019_frame_pairs.py',
    '../_base_/schedules/frame_pairs_sgd_12e.py'
]
val_evaluator = dict(
    outfile_prefix='work_dirs/submissions/stmask_r50-dcn_youtubevis2019')
test_evaluator = val_evaluator
