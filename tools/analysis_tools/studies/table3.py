# Study "table3": consistent ("Video") vs per-frame ("Image") pseudo-video
# augmentations during video pre-training (the video pre-training paper's
# table 3, docs/studies.md), in the miniature of table7.py (same data, same
# +27 % MSTM, same schedules and evaluation, 5 seeds). Every arm is
# pre-trained on 3-frame pseudo-videos with both CoSt (VideoAutoAugment)
# and VMoSp (VideoCopyPaste) and fine-tuned the same way; one augmentation
# at a time draws independently per frame (`per_frame=True`, the paper's
# "Image" setting):
#   consistent     both consistent over the clip (= table7's `video` arm)
#   vaa_per_frame  VideoAutoAugment per frame, VideoCopyPaste consistent
#   vcp_per_frame  VideoCopyPaste per frame, VideoAutoAugment consistent
_base_ = './table7.py'

name = 'table3'
# `consistent` is table7's `video` arm (same fingerprint): adopted, not re-run
reuse_runs_from = ['table7']
description = """Consistent ("Video") vs per-frame ("Image") pseudo-video
augmentations in the video pre-training (paper table 3) in the miniature of
the table-7 study: 2,000 synthetic images as 3-frame pseudo-videos with
CoSt and VMoSp, one of them drawn per frame; fine-tuned online 600
iterations; YouTube-VIS AP on 40 held-out videos (`main`) and their 14
look-alike videos (`lookalike`)."""

_video = 'configs/video_pretrain/' \
    'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py'
_online_mstm = ('configs/online_vis/'
                'online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py')
# pipeline of the pseudo-video pre-training config: 5 = VideoAutoAugment,
# 6 = VideoCopyPaste
_vaa = 'train_dataloader.dataset.pipeline.5.per_frame'
_vcp = 'train_dataloader.dataset.pipeline.6.per_frame'


def _arm(label, per_frame):
    """(a function: mmengine drops it from the spec)"""
    return dict(
        label=label,
        pretrain=dict(config=_video,
                      options=dict(_base_._coco, **_base_._mstm,
                                   **per_frame),
                      **_base_._pretrain),
        finetune=dict(config=_online_mstm,
                      options=dict(_base_._vis, **_base_._mstm),
                      **_base_._finetune))


arms = dict(
    _delete_=True,
    consistent=_arm('CoSt + VMoSp consistent ("Video")', {}),
    vaa_per_frame=_arm('VideoAutoAugment per frame ("Image")', {_vaa: True}),
    vcp_per_frame=_arm('VideoCopyPaste per frame ("Image")', {_vcp: True}))
comparisons = [('consistent', 'vaa_per_frame'),
               ('consistent', 'vcp_per_frame')]
