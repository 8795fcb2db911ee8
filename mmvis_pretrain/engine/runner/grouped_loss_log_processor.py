"""A log processor that groups deep-supervision loss terms in the log line.

Mask2Former-style heads log every loss term of every decoder layer
(``loss_cls``, ``d0.loss_cls`` ... ``d8.loss_cls``, the same for mask and
dice): 30 numbers per line for a 9-layer decoder. :class:`
GroupedLossLogProcessor` shows each term once, summed over its layers
(``loss_cls[x10]: 3.91``), in the **text** line only; the scalars
(``vis_data/scalars.json``, TensorBoard, W&B) keep every term of every
layer, unchanged. Terms without per-layer copies are shown as mmengine
shows them.
"""
import re
from collections import defaultdict

from mmengine.runner import LogProcessor

from ...registry import LOG_PROCESSORS

_LAYER_KEY = re.compile(r'^d(\d+)\.(.+)$')


@LOG_PROCESSORS.register_module()
class GroupedLossLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor`` with deep-supervision terms grouped in
    the text log (see the module doc); arguments as ``LogProcessor``."""

    def get_log_after_iter(self, runner, batch_idx: int, mode: str):
        tag, log_str = super().get_log_after_iter(runner, batch_idx, mode)
        if mode != 'train':
            return tag, log_str
        layers = defaultdict(list)
        for key in tag:
            match = _LAYER_KEY.match(key)
            if match and match.group(2) in tag:
                layers[match.group(2)].append(key)
        if not layers:
            return tag, log_str
        digits = self.num_digits
        for base, keys in layers.items():
            for key in keys:
                log_str = re.sub(
                    r'\s*' + re.escape(key) + r': [-+.\deE]+(nan|inf)?', '',
                    log_str)
            total = float(tag[base]) + sum(float(tag[k]) for k in keys)
            log_str = re.sub(
                r'(?<![\w.])' + re.escape(base) + r': [-+.\deE]+(nan|inf)?',
                f'{base}[x{len(keys) + 1}]: {total:.{digits}f}', log_str,
                count=1)
        return tag, log_str
