from .setup_env import register_all_modules
from .stack_compat import apply_stack_fixes

__all__ = ['register_all_modules', 'apply_stack_fixes']
