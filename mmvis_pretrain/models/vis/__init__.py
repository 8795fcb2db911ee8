"""Video instance segmentation models (registered in ``MODELS``)."""
