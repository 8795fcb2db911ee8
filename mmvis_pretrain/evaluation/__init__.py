"""Evaluation: metrics for the runner (registered in ``METRICS``)."""
