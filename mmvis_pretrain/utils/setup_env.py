"""Scope set-up, the counterpart of ``mmdet.utils.register_all_modules``."""
import datetime
import warnings

from mmengine import DefaultScope

from ..registry import SCOPE


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every ``mmvis_pretrain`` (and mmdet) component.

    Args:
        init_default_scope (bool): Make ``mmvis_pretrain`` the current default
            scope, so registries look here first and fall back to mmdet and
            mmengine. Defaults to True.
    """
    import mmvis_pretrain  # noqa: F401  (registers mmdet's and ours)

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created(SCOPE))
    if never_created:
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != SCOPE:
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      f'not "{SCOPE}"; `register_all_modules` creates a new '
                      f'"{SCOPE}" default scope.')
        name = f'{SCOPE}-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name=SCOPE)
