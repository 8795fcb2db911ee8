"""Models: necks, heads, trackers, VIS detectors, layers and losses."""
from . import (dense_heads, layers, losses, necks,  # noqa: F401
               task_modules, tracking_heads, trackers,
               vis)  # (imported to register the components)
