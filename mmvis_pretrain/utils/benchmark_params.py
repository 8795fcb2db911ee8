"""Parameter counts for the benchmark reports."""
from typing import Dict

import torch


def count_params(model: torch.nn.Module) -> Dict[str, int]:
    """Parameters of a model.

    Returns:
        dict: ``total``, ``trainable`` (``requires_grad``) and ``neck`` (of
        ``model.neck``; 0 when the model has no neck module).
    """
    neck = getattr(model, 'neck', None)
    return dict(
        total=sum(p.numel() for p in model.parameters()),
        trainable=sum(p.numel() for p in model.parameters()
                      if p.requires_grad),
        neck=sum(p.numel() for p in neck.parameters())
        if isinstance(neck, torch.nn.Module) else 0)


__all__ = ['count_params']
