"""Metric computations independent of the runner."""
from .seq_iou import sequence_intersections, sequence_iou
from .video_track_results import VideoTrackResults
from .vis_eval import (DEFAULT_IOU_THRS, OCCLUSION_STAT_KEYS, STAT_KEYS,
                       evaluate_vis, greedy_match, occlusion_score)
from .vis_rle import segmentation_to_rle, track_rles

__all__ = [
    'DEFAULT_IOU_THRS', 'OCCLUSION_STAT_KEYS', 'STAT_KEYS', 'evaluate_vis',
    'greedy_match', 'occlusion_score', 'segmentation_to_rle',
    'sequence_intersections', 'sequence_iou', 'track_rles',
    'VideoTrackResults'
]
