# Study "stmask_table4": the rows of STMask's table 4 in miniature
# (docs/studies.md): the tiny STMask (R18/16, 32-channel FPN and head, no
# DCN) trained on frame pairs of the synthetic videos of the table-7 study's
# fine-tuning set (24 videos), without temporal fusion as in the paper's
# ablation, scored with the YouTube-VIS AP on its 40 held-out videos and the
# look-alike subset; 5 seeds.
#   baseline     YOLACT-style 3x3 head, 3 anchors per position
#   fca          + FCA (3x3 / 3x5 / 5x3 kernels, one anchor each)
#   fca_fcb_ada  + FCB(ada): adaptive offsets on class, coefficient, track
#   fca_fcb_ali  + FCB(ali): aligned offsets on coefficient and track
name = 'stmask_table4'
description = """STMask table 4 in miniature: tiny STMask trained 600
iterations on frame pairs of 24 synthetic videos (no pre-training, no
temporal fusion), YouTube-VIS AP on 40 held-out videos (`main`) and their
14 look-alike videos (`lookalike`)."""
data = dict(seed=0, num_images=48, num_val_images=16, num_videos=24,
            num_val_videos=40)
seeds = [0, 1, 2, 3, 4]
stages = ['train']
metrics = dict(train='vis/AP')

_opts = {
    'train_dataloader.dataset.data_root': '{ytvis}',
    'val_dataloader.dataset.data_root': '{ytvis}',
    'test_dataloader.dataset.data_root': '{ytvis}',
    'val_evaluator.ann_file': '{ytvis}valid.json',
    'test_evaluator.ann_file': '{ytvis}valid.json',
    'param_scheduler.end': '{iters}',
    'param_scheduler.milestones': [480],
    'model.temporal_fusion': None,
}
_tiny = 'configs/stmask/stmask_tiny_1xb2-300it_synthetic-vis.py'
_run = dict(iters=600, eval_iters=[300, 600])
arms = dict(
    baseline=dict(
        label='baseline (3x3 head, 3 anchors)',
        train=dict(
            config='configs/stmask/'
            'stmask-baseline_tiny_1xb2-300it_synthetic-vis.py',
            options=_opts, **_run)),
    fca=dict(
        label='FCA',
        train=dict(config=_tiny, options=dict(_opts, **{
            'model.bbox_head.fcb.cls': None,
            'model.bbox_head.fcb.coeff': None,
            'model.bbox_head.fcb.track': None}), **_run)),
    fca_fcb_ada=dict(
        label='FCA + FCB(ada)',
        train=dict(config=_tiny, options=_opts, **_run)),
    fca_fcb_ali=dict(
        label='FCA + FCB(ali)',
        train=dict(config=_tiny, options=dict(_opts, **{
            'model.bbox_head.fcb.cls': None,
            'model.bbox_head.fcb.coeff': 'aligned',
            'model.bbox_head.fcb.track': 'aligned'}), **_run)),
)
comparisons = [('fca', 'baseline'), ('fca_fcb_ada', 'fca'),
               ('fca_fcb_ali', 'fca')]
extra_evals = dict(
    lookalike=dict(options={
        'test_dataloader.dataset.ann_file': 'valid_lookalike.json',
        'test_evaluator.ann_file': '{ytvis}valid_lookalike.json'
    }))
