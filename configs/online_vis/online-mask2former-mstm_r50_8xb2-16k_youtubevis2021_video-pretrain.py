# Online VIS on YouTube-VIS 2021, the "video pre-trained" arm of paper tab. 7: the
# fine-tuning of online-mask2former_r50_8xb2-16k_youtubevis2021.py started from
# Mask2Former R50 + MSTM pre-trained on COCO pseudo-videos
# (video_pretrain/mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py), MSTM
# kept (windows of 3 frames, as pre-trained). Prepare the checkpoint (the
# classifier remapped from COCO to the YouTube-VIS 2021 classes) with
#   python tools/model_converters/pretrain_to_vis.py \
#     work_dirs/mask2former-mstm_r50_8xb2-50e_coco-pseudo-video/iter_368750.pth \
#     checkpoints/mask2former-mstm_r50_video-pretrain_ytvis2021.pth \
#     --category-map coco_to_ytvis2021
_base_ = './online-mask2former_r50_8xb2-16k_youtubevis2021.py'

load_from = 'checkpoints/mask2former-mstm_r50_video-pretrain_ytvis2021.pth'
model = dict(
    num_frames=3,
    neck=dict(
        type='MSTM',
        in_channels=[256, 512, 1024, 2048],
        num_frames=3,
        embed_dims=256,
        gru_ratio=0.5,
        scales=[1, 2, 3]))
