"""Visualization: render images and clips of a dataset (see
``tools/analysis_tools/browse_dataset.py`` and ``docs/browse_dataset.md``)."""
from .clip_renderer import ClipLocalVisualizer, RenderedSample, render_sample
from .clip_writers import (FORMATS, Mp4Writer, make_strip, write_gif,
                           write_mp4, write_png, write_rendered,
                           write_strip_png)
from .drawing_utils import inputs_to_frames, instance_color, unpack_sample

__all__ = [
    'FORMATS', 'ClipLocalVisualizer', 'Mp4Writer', 'RenderedSample',
    'inputs_to_frames', 'instance_color', 'make_strip', 'render_sample',
    'unpack_sample', 'write_gif', 'write_mp4', 'write_png', 'write_rendered',
    'write_strip_png'
]
