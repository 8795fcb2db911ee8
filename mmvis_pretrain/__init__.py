"""mmvis_pretrain: video pre-training for video instance segmentation.

An OpenMMLab 3.x extension (scope ``mmvis_pretrain``) on top of MMEngine,
MMCV and MMDetection (whose ``mmdet.models.vis`` / ``trackers`` hold the
former MMTracking code). Importing the package applies the stack fixes of
:mod:`mmvis_pretrain.utils.stack_compat` and registers every component.
"""
import mmcv
import mmdet
import mmengine
from mmengine.utils import digit_version

from .utils.stack_compat import apply_stack_fixes
from .version import __version__

_REQUIRED = {
    'mmcv': (mmcv.__version__, '2.0.0rc4', '2.2.0'),
    'mmengine': (mmengine.__version__, '0.10.0', '1.0.0'),
    'mmdet': (mmdet.__version__, '3.1.0', '3.4.0'),
}
for _name, (_have, _low, _high) in _REQUIRED.items():
    if not digit_version(_low) <= digit_version(_have) < digit_version(_high):
        raise ImportError(f'mmvis_pretrain needs {_low} <= {_name} < {_high}, '
                          f'found {_name}=={_have}')

apply_stack_fixes()

# Our registries are children of mmdet's, and a child looks into its parents'
# tables without importing them: fill mmdet's registries first.
import mmdet.datasets  # noqa: E402,F401
import mmdet.engine  # noqa: E402,F401
import mmdet.evaluation  # noqa: E402,F401
import mmdet.models  # noqa: E402,F401
import mmdet.visualization  # noqa: E402,F401

# Registering our components (imports for their side effect on registries).
from . import datasets  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import visualization  # noqa: E402,F401

__all__ = ['__version__']
