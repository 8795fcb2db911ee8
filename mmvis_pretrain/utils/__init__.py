from .class_set import ClassSetError, apply_class_set
from .config_check import (ConfigKeyError, ConfigKeyWarning, check_config,
                           check_constructor_keys, check_top_level_keys)
from .setup_env import register_all_modules
from .stack_compat import apply_stack_fixes

__all__ = [
    'register_all_modules', 'apply_stack_fixes', 'check_config',
    'check_top_level_keys', 'check_constructor_keys', 'ConfigKeyError',
    'ConfigKeyWarning', 'ClassSetError', 'apply_class_set'
]
