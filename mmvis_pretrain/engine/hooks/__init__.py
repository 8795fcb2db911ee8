"""Hooks registered in ``mmvis_pretrain.registry.HOOKS``."""
from .mvc_masking_hook import MVCMaskingHook
from .non_finite_guard_hook import NonFiniteGuardHook, NonFiniteLossError
from .vis_video_render_hook import VISVideoRenderHook
from .random_state_hook import (RandomStateHook, find_generators,
                                get_rng_state, set_rng_state)

__all__ = [
    'MVCMaskingHook', 'NonFiniteGuardHook', 'NonFiniteLossError',
    'RandomStateHook', 'get_rng_state', 'set_rng_state', 'find_generators',
    'VISVideoRenderHook'
]
