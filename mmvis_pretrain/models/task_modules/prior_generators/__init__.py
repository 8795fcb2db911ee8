"""Anchor / prior generators."""
from .fca_anchor_generator import FCAAnchorGenerator

__all__ = ['FCAAnchorGenerator']
