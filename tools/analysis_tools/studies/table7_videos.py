# Study "table7_videos": the table-7 comparison against the number of
# fine-tuning videos (6 / 12 / 24 of the 24 training videos; the
# pseudo-videos of the 48 images stay), plotted as AP vs training videos
# per pre-training (docs/studies.md). Pre-training and everything else as
# in table7.py; the pre-trainings are shared by the arms of each kind.
_base_ = './table7.py'

name = 'table7_videos'
description = """Image vs video pre-training (MSTM in both arms) against the
number of fine-tuning videos (6, 12, 24), in the miniature of the table-7
study; YouTube-VIS AP on 40 held-out videos and their look-alike subset."""
x_label = 'fine-tuning videos'
_subset = 'train_dataloader.dataset.datasets.1.indices'


def _arm(kind, videos, pretrain):
    """(a function: mmengine drops it from the spec)"""
    finetune = dict(_base_.arms[kind].finetune)
    finetune['options'] = dict(finetune['options'], **{_subset: videos})
    return dict(label=f'{kind} pre-training, {videos} videos', x=videos,
                group=f'{kind} pre-training', pretrain=pretrain,
                finetune=finetune)


arms = dict(
    _delete_=True,
    image_v24=_arm('image', 24, _base_.arms.image.pretrain),
    video_v24=_arm('video', 24, _base_.arms.video.pretrain),
    image_v12=_arm('image', 12, dict(same_as='image_v24')),
    video_v12=_arm('video', 12, dict(same_as='video_v24')),
    image_v6=_arm('image', 6, dict(same_as='image_v24')),
    video_v6=_arm('video', 6, dict(same_as='video_v24')))
comparisons = [('video_v6', 'image_v6'), ('video_v12', 'image_v12'),
               ('video_v24', 'image_v24')]
