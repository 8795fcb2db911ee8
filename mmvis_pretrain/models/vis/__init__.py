"""Video instance segmentation models (registered in ``MODELS``)."""
from .video_mask2former import VideoMask2Former

__all__ = ['VideoMask2Former']
