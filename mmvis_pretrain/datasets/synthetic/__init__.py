"""Deterministic synthetic data in real dataset formats (no registries).

:func:`make_synthetic_data` writes a COCO instance-segmentation image set and
a raw YouTube-VIS-2019 video set over the six :data:`SYNTHETIC_CLASSES`; see
``docs/synthetic_data.md``.
"""
from .categories import (SYNTHETIC_CATEGORIES, SYNTHETIC_CATEGORY_IDS,
                         SYNTHETIC_CLASSES)
from .coco_images import (ImageSetConfig, make_image, render_image,
                          write_coco_split)
from .generate import META_FILE, make_synthetic_data, summarize_synthetic_data
from .mask_codec import (decode_segmentation, encode_rle,
                         encode_uncompressed_rle, mask_bbox, mask_to_polygons)
from .ytvis_videos import (VideoSetConfig, make_video, write_lookalike_subset,
                           write_ytvis_split)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_CATEGORIES', 'SYNTHETIC_CATEGORY_IDS',
    'make_synthetic_data', 'summarize_synthetic_data', 'META_FILE',
    'ImageSetConfig', 'VideoSetConfig', 'make_image', 'render_image',
    'make_video', 'write_coco_split', 'write_ytvis_split',
    'write_lookalike_subset',
    'decode_segmentation', 'encode_rle', 'encode_uncompressed_rle',
    'mask_bbox', 'mask_to_polygons'
]
