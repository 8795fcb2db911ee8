# Online VIS on YouTube-VIS 2019 with Swin-L, video pre-trained: fine-tuning from
# video_pretrain/mask2former-mstm_swin-l-p4-w12-384-in21k_16xb1-100e_coco-pseudo-video.py
# (checkpoint prepared with tools/model_converters/pretrain_to_vis.py
# --category-map coco_to_ytvis2019), MSTM kept.
_base_ = './online-mask2former_swin-l-p4-w12-384-in21k_8xb2-16k_youtubevis2019.py'

load_from = 'checkpoints/mask2former-mstm_swin-l_video-pretrain_ytvis2019.pth'
model = dict(
    num_frames=3,
    neck=dict(
        type='MSTM',
        in_channels={{_base_.swin_l_channels}},
        num_frames=3,
        embed_dims=256,
        gru_ratio=0.5,
        scales=[1, 2, 3]))
