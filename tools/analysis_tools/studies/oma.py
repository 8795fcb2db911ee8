# Study "oma": Object Masked Attention in the temporal refiner, drop
# probability 0 vs 0.5 (DVIS++, docs/temporal_refiner.md, docs/studies.md),
# in the miniature of table7.py: the image pre-training of table7, the tiny
# segmenter fine-tuned online (no MSTM, 600 iterations), the DVIS++
# referring tracker (stage 2, 300 iterations) and the temporal refiner
# (stage 3, 300 iterations), the first three shared by both arms per seed;
# offline YouTube-VIS AP of the refined tracks on 40 held-out videos and
# their look-alike subset; 5 seeds.
_base_ = './table7.py'

name = 'oma'
description = """OMA drop probability 0 vs 0.5 in the DVIS++ temporal
refiner (stage 3) on the same frozen segmenter + tracker, in the miniature
of the table-7 study; offline YouTube-VIS AP on 40 held-out videos and their
14 look-alike videos."""
stages = ['pretrain', 'segmenter', 'tracker', 'refiner']
metrics = dict(pretrain='coco/segm_mAP', segmenter='vis/AP',
               tracker='vis/AP', refiner='vis/AP')
_stage = dict(iters=300, eval_iters=[300])
_refiner = 'configs/dvis/dvis-refiner_tiny_1xb2-300it_synthetic-vis.py'
_dvis_vis = dict(_base_._vis, **{'param_scheduler.milestones': [240]})
arms = dict(
    _delete_=True,
    oma0=dict(
        label='OMA drop 0 (no masked attention drop)',
        pretrain=_base_.arms.image.pretrain,
        segmenter=dict(
            config='configs/dvis/'
            'dvis-segmenter_tiny_1xb2-300it_synthetic-vis.py',
            options=_base_._vis, **_base_._finetune),
        tracker=dict(
            config='configs/dvis/dvis-tracker_tiny_1xb2-300it_synthetic-vis.py',
            options=_dvis_vis, **_stage),
        refiner=dict(config=_refiner, options=dict(
            _dvis_vis, **{'model.refiner.oma_drop_prob': 0.0}), **_stage)),
    oma05=dict(
        label='OMA drop 0.5',
        pretrain=dict(same_as='oma0'),
        segmenter=dict(same_as='oma0'),
        tracker=dict(same_as='oma0'),
        refiner=dict(config=_refiner, options=dict(
            _dvis_vis, **{'model.refiner.oma_drop_prob': 0.5}), **_stage)))
comparisons = [('oma05', 'oma0')]
extra_evals = dict(lookalike=dict(stages=['segmenter', 'tracker', 'refiner']))
