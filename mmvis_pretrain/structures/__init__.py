"""Data structures and their checks shared by datasets and evaluation, and
the binary mask utilities (:mod:`.mask_ops`) shared by the whole package."""
from .compressed_rle import (compressed_rle_problems, compressed_rle_totals,
                             describe_compressed_rle)
from .mask_ops import (BOX_FORMATS, decode_rle, encode_rle, mask_boxes,
                       mask_iou_matrix, resize_masks_to_original)
from .segmentation_check import (POLYGON_TOLERANCE, SegmentationChecker,
                                 polygon_problem, rle_size_problem,
                                 segmentation_problem,
                                 uncompressed_counts_problem)

__all__ = [
    'compressed_rle_problems', 'compressed_rle_totals',
    'describe_compressed_rle', 'POLYGON_TOLERANCE', 'SegmentationChecker',
    'polygon_problem', 'rle_size_problem', 'segmentation_problem',
    'uncompressed_counts_problem', 'BOX_FORMATS', 'decode_rle', 'encode_rle',
    'mask_boxes', 'mask_iou_matrix', 'resize_masks_to_original'
]
