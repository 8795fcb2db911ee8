"""Data structures and their checks shared by datasets and evaluation."""
from .compressed_rle import (compressed_rle_problems, compressed_rle_totals,
                             describe_compressed_rle)
from .segmentation_check import (POLYGON_TOLERANCE, SegmentationChecker,
                                 polygon_problem, rle_size_problem,
                                 segmentation_problem,
                                 uncompressed_counts_problem)

__all__ = [
    'compressed_rle_problems', 'compressed_rle_totals',
    'describe_compressed_rle', 'POLYGON_TOLERANCE', 'SegmentationChecker',
    'polygon_problem', 'rle_size_problem', 'segmentation_problem',
    'uncompressed_counts_problem'
]
