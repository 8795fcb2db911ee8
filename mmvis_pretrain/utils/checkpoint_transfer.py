"""Carry a pre-trained Mask2Former checkpoint into a VIS label space.

The pseudo-video pre-trained :class:`VideoMask2Former` and the online VIS
model :class:`OnlineMask2FormerVIS` share every parameter name (backbone,
MSTM neck, Mask2Former head), so ``load_from=<pre-trained checkpoint>`` works
as is: mmengine loads all matching tensors and reports the classifier, whose
shape differs (``K_src + 1`` vs ``K_tgt + 1`` rows), and the new tracking
embedding as not loaded (they keep their fresh initialisation).

:func:`remap_classifier` does better for the classifier: through a category
map (:mod:`mmvis_pretrain.datasets.category_maps`, e.g. COCO -> YouTube-VIS
2019), each target class starts from the pre-trained row of the source
class(es) mapped to it (the mean when several map to it, e.g. bicycle and
motorcycle -> motorbike); a target class nothing maps to starts from the
mean of all source class rows (a generic "object" prior); the no-object row
is kept. ``tools/model_converters/pretrain_to_vis.py`` applies it to a file.
"""
from typing import Dict, Mapping, Sequence, Tuple

import torch
from torch import Tensor

#: the classifier of mmdet's Mask2Former / MaskFormer heads
CLASSIFIER_KEYS = ('panoptic_head.cls_embed.weight',
                   'panoptic_head.cls_embed.bias')


def remap_classifier(
    state_dict: Dict[str, Tensor],
    source_classes: Sequence[str],
    target_classes: Sequence[str],
    category_map: Mapping[str, str],
    keys: Tuple[str, ...] = CLASSIFIER_KEYS
) -> Tuple[Dict[str, Tensor], Dict[str, Tuple[str, ...]]]:
    """A copy of ``state_dict`` with the classifier in the target classes.

    Args:
        state_dict (dict): the pre-trained weights; ``keys`` hold tensors of
            ``K_src + 1`` rows (the last row: no-object).
        source_classes (Sequence[str]): the ``K_src`` class names of the
            pre-training, in label order.
        target_classes (Sequence[str]): the ``K_tgt`` class names of the
            fine-tuning dataset, in label order.
        category_map (Mapping[str, str]): source name -> target name.
        keys (tuple[str]): the classifier tensors to remap.

    Returns:
        tuple: the new state dict (other tensors shared, not copied) and a
        report ``{target name: source names it was initialised from}``
        (empty tuple: the mean of all source rows).

    Raises:
        KeyError: a classifier key is missing, or the map names a class that
            is not among the source / target classes.
        ValueError: a classifier tensor has not ``K_src + 1`` rows.
    """
    src_index = {name: i for i, name in enumerate(source_classes)}
    tgt_names = list(target_classes)
    for src, tgt in category_map.items():
        if src not in src_index:
            raise KeyError(f'category map source class {src!r} is not a '
                           'class of the pre-trained checkpoint')
        if tgt not in tgt_names:
            raise KeyError(f'category map target class {tgt!r} is not a '
                           'class of the fine-tuning dataset')
    origins = {
        tgt: tuple(s for s, t in category_map.items() if t == tgt)
        for tgt in tgt_names
    }
    out = dict(state_dict)
    for key in keys:
        if key not in state_dict:
            raise KeyError(f'{key!r} not in the checkpoint: is it a '
                           'Mask2Former checkpoint?')
        old = state_dict[key]
        if old.shape[0] != len(source_classes) + 1:
            raise ValueError(
                f'{key} has {old.shape[0]} rows, expected '
                f'{len(source_classes) + 1} ({len(source_classes)} source '
                'classes + no-object)')
        class_rows = old[:-1]
        generic = class_rows.mean(dim=0)
        rows = []
        for tgt in tgt_names:
            srcs = origins[tgt]
            if srcs:
                idx = torch.tensor([src_index[s] for s in srcs])
                rows.append(class_rows[idx].mean(dim=0))
            else:
                rows.append(generic)
        rows.append(old[-1])
        out[key] = torch.stack(rows).to(old.dtype)
    return out, origins


__all__ = ['CLASSIFIER_KEYS', 'remap_classifier']
