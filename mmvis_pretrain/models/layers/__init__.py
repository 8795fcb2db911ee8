"""Building blocks shared by the models."""
from .correlation import Correlation, correlation

__all__ = ['Correlation', 'correlation']
