"""Models: necks, heads, trackers, VIS detectors, layers and losses."""
from . import (dense_heads, layers, losses, necks, trackers,  # noqa: F401
               vis)  # (imported to register the components)
