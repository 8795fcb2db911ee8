# Ablation partner of mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py:
# the same pseudo-video pre-training without the MSTM neck (frame-wise
# Mask2Former on CoSt + VMoSp clips), to separate the data-level gain from
# the temporal module (paper tab. 4 / tab. 6). The plain image baseline is
# configs/mask2former/mask2former_r50_8xb2-lsj-50e_coco.py.
_base_ = './mask2former-mstm_r50_8xb2-50e_coco-pseudo-video.py'

model = dict(neck=None)
