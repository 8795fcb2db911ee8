"""Dataset converters shared by ``tools/dataset_converters/``: per-frame
instance-id PNGs (DAVIS, MOTS, CVAT "MOTS PNG") <-> raw YouTube-VIS JSON;
CVAT for video 1.1, labelme folders and mmdet's CocoVID -> raw JSON."""
from .cocovid import cocovid_to_raw, convert_cocovid_file
from .cvat_video import convert_cvat_video, convert_cvat_videos
from .labelme_video import convert_labelme_videos
from .id_png import PngMaskError, read_id_png, write_id_png
from .png_masks import LAYOUTS, png_masks_to_ytvis, read_class_map
from .raw_vis import ConversionError, RawVISBuilder, write_raw_json
from .ytvis_to_png import ytvis_to_png_masks

__all__ = [
    'LAYOUTS', 'PngMaskError', 'png_masks_to_ytvis', 'read_class_map',
    'read_id_png', 'write_id_png', 'ytvis_to_png_masks', 'cocovid_to_raw',
    'convert_cocovid_file', 'convert_cvat_video', 'convert_cvat_videos',
    'convert_labelme_videos', 'ConversionError', 'RawVISBuilder',
    'write_raw_json'
]
