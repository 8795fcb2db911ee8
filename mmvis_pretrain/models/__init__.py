"""Models: necks, heads, trackers, VIS detectors, layers and losses."""
from . import layers, necks, vis  # noqa: F401  (register the components)
