"""Runner parts registered in ``mmvis_pretrain.registry.LOG_PROCESSORS``."""
from .grouped_loss_log_processor import GroupedLossLogProcessor

__all__ = ['GroupedLossLogProcessor']
