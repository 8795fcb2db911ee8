"""Engine: hooks, log processor of the scope."""
from . import hooks, runner  # noqa: F401  (registers them)
from .hooks import RandomStateHook
from .runner import GroupedLossLogProcessor

__all__ = ['RandomStateHook', 'GroupedLossLogProcessor']
