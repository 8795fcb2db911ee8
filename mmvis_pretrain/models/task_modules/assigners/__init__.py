"""Matching of the decoupled VIS stages (``TASK_UTILS``)."""
from .first_appearance_matcher import FirstAppearanceMatcher
from .mask_match_cost import MaskMatchCost

__all__ = ['FirstAppearanceMatcher', 'MaskMatchCost']
