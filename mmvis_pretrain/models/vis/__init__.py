"""Video instance segmentation models (registered in ``MODELS``)."""
from .decoupled_vis import DecoupledVIS
from .online_mask2former_vis import OnlineMask2FormerVIS
from .stmask import STMask
from .stc import STC
from .video_mask2former import VideoMask2Former

__all__ = ['DecoupledVIS', 'OnlineMask2FormerVIS', 'VideoMask2Former', 'STMask', 'STC']
