# Study "mvc": MVC-1 input masking during online VIS fine-tuning, off / on
# (docs/mvc.md, docs/studies.md), in the miniature of table7.py: the image
# pre-training of table7 (2,000 synthetic images, 3,000 iterations, shared
# by both arms), then 600 iterations of online fine-tuning of Mask2Former +
# MSTM (+27 %) with or without MVCMaskingHook (16-px patches, ratio 0.7,
# p 0.5 per frame: configs/mvc/online-mask2former-mvc1_tiny_...py); 5 seeds.
_base_ = './table7.py'

name = 'mvc'
description = """MVC-1 input masking during online fine-tuning, off vs on,
in the miniature of the table-7 study (image pre-training on 2,000 synthetic
images, 600 fine-tuning iterations, YouTube-VIS AP on 40 held-out videos and
their 14 look-alike videos)."""
arms = dict(
    _delete_=True,
    mvc_off=dict(
        label='no masking',
        pretrain=_base_.arms.image.pretrain,
        finetune=_base_.arms.image.finetune),
    mvc_on=dict(
        label='MVC-1 (MVCMaskingHook)',
        pretrain=dict(same_as='mvc_off'),
        finetune=dict(
            _base_.arms.image.finetune,
            config='configs/mvc/'
            'online-mask2former-mvc1_tiny_1xb2-300it_synthetic-vis.py')))
comparisons = [('mvc_on', 'mvc_off')]
