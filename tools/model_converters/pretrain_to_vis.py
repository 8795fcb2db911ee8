"""Prepare a (pseudo-)video pre-trained checkpoint for VIS fine-tuning.

Example (COCO pre-training -> YouTube-VIS 2019 fine-tuning)::

    python tools/model_converters/pretrain_to_vis.py \
        work_dirs/mask2former-mstm_r50_8xb2-50e_coco-pseudo-video/iter_368750.pth \
        checkpoints/mask2former-mstm_r50_coco-pseudo-video_to_ytvis2019.pth \
        --category-map coco_to_ytvis2019

The output holds only ``state_dict`` and ``meta`` (no optimizer / scheduler
state): use it with ``load_from``. The classifier is remapped through the
category map (:func:`mmvis_pretrain.utils.checkpoint_transfer.remap_classifier`);
every other tensor is copied as is. Without this tool ``load_from`` of the raw
checkpoint also works, with a freshly initialised classifier.
"""
import argparse
import io
import sys

import torch
from mmengine.fileio import get

import mmvis_pretrain  # noqa: F401  (stack fixes: weights_only safe globals)
from mmvis_pretrain.datasets.category_maps import (available_category_maps,
                                                   get_category_map,
                                                   get_target_classes)
from mmvis_pretrain.utils.checkpoint_transfer import remap_classifier


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Remap the classifier of a pre-trained Mask2Former '
        'checkpoint to a VIS label space.')
    parser.add_argument('src', help='pre-trained checkpoint (path or URL)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--category-map', required=True, choices=available_category_maps(),
        help='source -> target class map (mmvis_pretrain.datasets.'
        'category_maps)')
    parser.add_argument(
        '--source-classes', choices=['checkpoint', 'coco'],
        default='checkpoint',
        help="where the pre-training class names come from: the "
        "checkpoint's meta.dataset_meta (default) or mmdet's COCO classes")
    return parser.parse_args(argv)


def source_class_names(ckpt: dict, mode: str) -> tuple:
    if mode == 'coco':
        from mmdet.datasets import CocoDataset
        return tuple(CocoDataset.METAINFO['classes'])
    classes = ckpt.get('meta', {}).get('dataset_meta', {}).get('classes')
    if not classes:
        raise KeyError('the checkpoint has no meta.dataset_meta.classes; '
                       'pass --source-classes coco if it was trained on COCO')
    return tuple(classes)


def main(argv=None) -> int:
    args = parse_args(argv)
    ckpt = torch.load(
        io.BytesIO(get(args.src)), map_location='cpu', weights_only=True)
    state_dict = ckpt.get('state_dict', ckpt)
    src_classes = source_class_names(ckpt, args.source_classes)
    tgt_classes = get_target_classes(args.category_map)
    new_state, origins = remap_classifier(state_dict, src_classes,
                                          tgt_classes,
                                          get_category_map(args.category_map))
    meta = dict(ckpt.get('meta', {}))
    meta['dataset_meta'] = dict(
        meta.get('dataset_meta', {}), classes=tgt_classes)
    meta['converted_from'] = args.src
    meta['category_map'] = args.category_map
    torch.save(dict(state_dict=new_state, meta=meta), args.dst)
    unmapped = [t for t, s in origins.items() if not s]
    print(f'wrote {args.dst}: {len(tgt_classes) - len(unmapped)} of '
          f'{len(tgt_classes)} classes initialised from mapped source '
          f'classes, {len(unmapped)} from the mean source class')
    return 0


if __name__ == '__main__':
    sys.exit(main())
