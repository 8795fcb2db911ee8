"""Models: necks, heads, trackers, VIS detectors, layers and losses."""
