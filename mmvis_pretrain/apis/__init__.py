"""High-level inference APIs: build a VIS model and run it on a video frame
by frame (:mod:`.inference`), read videos / frame folders
(:mod:`.video_sources`) and write the demo outputs (:mod:`.video_writers`),
only on success (:mod:`.staged_outputs`).
See ``docs/video_demo.md``."""
from .inference import (build_vis_test_pipeline, default_device,
                        get_track_instances, inference_vis_video,
                        init_vis_model, pack_vis_frame, vis_test_pipeline_cfg)
from .video_sources import (DEFAULT_FPS, FrameSource, ImageSequenceSource,
                            VideoFileSource, is_image_file, list_image_files,
                            natural_sort_key, natural_sorted,
                            open_frame_source)
from .video_writers import (IdPngWriter, Mp4Writer, TrackIdMap,
                            TracksJsonWriter, encode_rle)

__all__ = [
    'DEFAULT_FPS', 'FrameSource', 'IdPngWriter', 'ImageSequenceSource',
    'Mp4Writer', 'TrackIdMap', 'TracksJsonWriter', 'VideoFileSource',
    'build_vis_test_pipeline', 'default_device', 'encode_rle',
    'get_track_instances', 'inference_vis_video', 'init_vis_model',
    'is_image_file', 'list_image_files', 'natural_sort_key',
    'natural_sorted', 'open_frame_source', 'pack_vis_frame',
    'vis_test_pipeline_cfg'
]
