"""Engine: hooks, optimizer constructors and loops of the scope."""
from . import hooks  # noqa: F401  (registers the hooks)
from .hooks import RandomStateHook

__all__ = ['RandomStateHook']
