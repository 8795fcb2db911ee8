# Study "table7": image vs video pre-training in miniature (the video
# pre-training paper's table 7, docs/studies.md). Main comparison: the same
# architecture (Mask2Former + MSTM at fine-tuning) after image pre-training
# (Mask2Former on images; MSTM starts at fine-tuning) or video pre-training
# (Mask2Former + MSTM on CoSt + VMoSp pseudo-videos). Secondary row: the
# image arm fine-tuned without MSTM (the demo's former comparison).
# The miniature, chosen to give the mechanism a chance (issue 15):
# - pre-training on its own synthetic image set of 2,000 images (seed 1000,
#   disjoint from the fine-tuning data), 3,000 iterations (3 epochs at
#   batch 2), COCO segm AP on its 100 val images every 500 iterations;
# - the tiny MSTM shrunk to +27 % of the 0.77 M-parameter model
#   (embed_dims 32, gru_ratio 0.5: 0.21 M; the default tiny MSTM has 1.88 M);
# - fine-tuning 600 iterations on 48 images (pseudo-videos) + 24 videos,
#   evaluated at 150 / 300 / 450 / 600 iterations on 40 held-out videos, and
#   on their look-alike subset (14 videos with 2-3 look-alike tracks that
#   meet or hide behind each other);
# - 5 training seeds (the data are fixed).
name = 'table7'
description = """Image vs video pre-training (paper table 7) in miniature:
tiny Mask2Former (R18/16, 32-d, 10 queries), pre-trained 3,000 iterations on
2,000 synthetic images (as images, or as 3-frame CoSt + VMoSp pseudo-videos
with a +27 % MSTM), fine-tuned online (CTVIS-style) 600 iterations on 24
synthetic videos + 48 images, scored with the official YouTube-VIS AP on 40
held-out videos (`main`) and their 14 look-alike videos (`lookalike`)."""
data = dict(
    pretrain=dict(seed=1000, num_images=2000, num_val_images=100,
                  num_videos=0, num_val_videos=0),
    finetune=dict(seed=0, num_images=48, num_val_images=16, num_videos=24,
                  num_val_videos=40))
seeds = [0, 1, 2, 3, 4]
stages = ['pretrain', 'finetune']
metrics = dict(pretrain='coco/segm_mAP', finetune='vis/AP')
x_label = 'x'

_mstm = {'model.neck.embed_dims': 32, 'model.neck.gru_ratio': 0.5}
_coco = {
    'train_dataloader.dataset.data_root': '{pretrain_coco}',
    'val_dataloader.dataset.data_root': '{pretrain_coco}',
    'test_dataloader.dataset.data_root': '{pretrain_coco}',
    'val_evaluator.ann_file': '{pretrain_coco}annotations/instances_val.json',
    'test_evaluator.ann_file':
    '{pretrain_coco}annotations/instances_val.json',
    'param_scheduler.end': '{iters}',
    'param_scheduler.milestones': [2400],
}
_vis = {
    'train_dataloader.dataset.datasets.0.data_root': '{finetune_coco}',
    'train_dataloader.dataset.datasets.1.data_root': '{finetune_ytvis}',
    'val_dataloader.dataset.data_root': '{finetune_ytvis}',
    'test_dataloader.dataset.data_root': '{finetune_ytvis}',
    'val_evaluator.ann_file': '{finetune_ytvis}valid.json',
    'test_evaluator.ann_file': '{finetune_ytvis}valid.json',
    'param_scheduler.end': '{iters}',
    'param_scheduler.milestones': [480],
}
_pretrain = dict(iters=3000, eval_iters=[500, 1000, 1500, 2000, 2500, 3000])
_finetune = dict(iters=600, eval_iters=[150, 300, 450, 600])
_online = 'configs/online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py'
_online_mstm = ('configs/online_vis/'
                'online-mask2former-mstm_tiny_1xb2-300it_synthetic-vis.py')
arms = dict(
    image=dict(
        label='image pre-training, MSTM at fine-tuning',
        pretrain=dict(
            config='configs/mask2former/'
            'mask2former_tiny_1xb2-300it_synthetic-coco.py',
            options=_coco, **_pretrain),
        finetune=dict(config=_online_mstm, options=dict(_vis, **_mstm),
                      **_finetune)),
    video=dict(
        label='video pre-training (MSTM, pseudo-videos)',
        pretrain=dict(
            config='configs/video_pretrain/'
            'mask2former-mstm_tiny_1xb2-300it_synthetic-pseudo-video.py',
            options=dict(_coco, **_mstm), **_pretrain),
        finetune=dict(config=_online_mstm, options=dict(_vis, **_mstm),
                      **_finetune)),
    image_nomstm=dict(
        label='image pre-training, no MSTM',
        pretrain=dict(same_as='image'),
        finetune=dict(config=_online, options=_vis, **_finetune)),
)
comparisons = [('video', 'image'), ('image', 'image_nomstm')]
extra_evals = dict(
    lookalike=dict(
        stages=['finetune'],
        options={
            'test_dataloader.dataset.ann_file': 'valid_lookalike.json',
            'test_evaluator.ann_file': '{finetune_ytvis}valid_lookalike.json'
        }))
