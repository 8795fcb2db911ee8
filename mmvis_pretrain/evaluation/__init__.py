"""Evaluation: metric functions and runner metrics (registered in
``METRICS``)."""
from . import functional, metrics  # noqa: F401  (register the metrics)
