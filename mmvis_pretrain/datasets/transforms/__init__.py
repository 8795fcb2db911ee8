"""Data transforms registered in ``mmvis_pretrain.registry.TRANSFORMS``."""
from .clip_format import (INSTANCE_KEYS, as_box_array, boxes_of_masks,
                          merge_clip, select_instances, split_clip,
                          sync_instances_to_masks, wrap_bitmap_masks)
from .clip_geometry import (ClipPanCrop, crop_frame, draw_crop_size,
                            pan_origins)
from .clip_rotate import ClipRotate
from .consecutive_clip_sample import ConsecutiveClipSample
from .image_to_clip import ImageToClip
from .copy_on_write import (CheckCopyOnWrite, CopyOnWriteCompose,
                            CopyOnWriteError, disable_copy_on_write_check,
                            enable_copy_on_write_check)
from .pack_clip_inputs import PackClipInputs, select_masks
from .photometric import GaussianBlur, Hue, Identity
from .video_auto_augment import VideoAutoAugment
from .video_copy_paste import VideoCopyPaste

__all__ = [
    'ImageToClip', 'split_clip', 'merge_clip', 'select_instances',
    'sync_instances_to_masks', 'boxes_of_masks', 'as_box_array',
    'INSTANCE_KEYS', 'wrap_bitmap_masks', 'ClipRotate', 'GaussianBlur',
    'Hue', 'Identity',
    'VideoAutoAugment', 'VideoCopyPaste', 'ClipPanCrop', 'crop_frame',
    'draw_crop_size', 'pan_origins', 'PackClipInputs', 'select_masks',
    'CheckCopyOnWrite', 'CopyOnWriteCompose', 'CopyOnWriteError',
    'enable_copy_on_write_check', 'disable_copy_on_write_check',
    'ConsecutiveClipSample'
]
