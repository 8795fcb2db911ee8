"""Entry point: write the whole synthetic image + video data set.

Layout under ``out_dir``::

    coco/train/000001.jpg ...            coco/val/000001.jpg ...
    coco/annotations/instances_train.json, instances_val.json
    ytvis/train/JPEGImages/<video>/00000.jpg ...
    ytvis/valid/JPEGImages/<video>/00000.jpg ...
    ytvis/train.json, ytvis/valid.json
    synthetic_meta.json                  (generator arguments)
"""
import json
import os
import os.path as osp
import shutil

from .coco_images import ImageSetConfig, write_coco_split
from .writers import write_json
from .ytvis_videos import VideoSetConfig, write_ytvis_split

#: Marker written into ``out_dir``; only directories carrying it are cleaned.
META_FILE = 'synthetic_meta.json'

#: Outputs (relative to ``out_dir``) that a new run replaces.
_OUTPUTS = ('coco/train', 'coco/val', 'coco/annotations/instances_train.json',
            'coco/annotations/instances_val.json', 'ytvis/train/JPEGImages',
            'ytvis/valid/JPEGImages', 'ytvis/train.json', 'ytvis/valid.json')


def _clear_previous(out_dir: str) -> None:
    """Remove the outputs of an earlier run so no stale files survive.

    Raises:
        FileExistsError: ``out_dir`` holds some of those paths but no
            :data:`META_FILE`, i.e. data this generator did not write.
    """
    existing = [p for p in _OUTPUTS if osp.lexists(osp.join(out_dir, p))]
    if not existing:
        return
    if not osp.isfile(osp.join(out_dir, META_FILE)):
        raise FileExistsError(
            f'{out_dir} already contains {existing[0]!r} but no {META_FILE}; '
            'refusing to overwrite data that make_synthetic_data did not '
            'write. Choose another output directory.')
    for rel in existing:
        path = osp.join(out_dir, rel)
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def make_synthetic_data(out_dir: str,
                        seed: int = 0,
                        num_images: int = 48,
                        num_val_images: int = 16,
                        num_videos: int = 12,
                        num_val_videos: int = 4,
                        *,
                        image_size: tuple[int, int] = (160, 120),
                        image_size_jitter: float = 0.2,
                        max_objects: int = 5,
                        frames_min: int = 8,
                        frames_max: int = 16,
                        video_size_jitter: float = 0.15,
                        max_tracks: int = 4,
                        jpeg_quality: int = 90) -> dict:
    """Generate the synthetic COCO image set and YouTube-VIS video set.

    The same arguments give byte-identical files; re-running into the same
    ``out_dir`` replaces an earlier run's outputs.

    Args:
        out_dir (str): Output root (created if missing).
        seed (int): Global seed (>= 0).
        num_images (int): Training images.
        num_val_images (int): Validation images.
        num_videos (int): Training videos.
        num_val_videos (int): Held-out (annotated) ``valid`` videos.
        image_size (tuple[int, int]): Base ``(W, H)`` of images and videos.
        image_size_jitter (float): Relative per-image jitter of W and H.
        max_objects (int): Most objects per image.
        frames_min (int): Fewest frames per video.
        frames_max (int): Most frames per video.
        video_size_jitter (float): Relative per-video jitter of W and H.
        max_tracks (int): Most object tracks per video (>= 2).
        jpeg_quality (int): JPEG quality of all images.

    Returns:
        dict: Absolute paths ``coco_root``, ``coco_train_json``,
        ``coco_val_json``, ``ytvis_root``, ``ytvis_train_json``,
        ``ytvis_valid_json``.
    """
    counts = dict(num_images=num_images, num_val_images=num_val_images,
                  num_videos=num_videos, num_val_videos=num_val_videos)
    for key, value in counts.items():
        if int(value) != value or value < 0:
            raise ValueError(f'{key} must be a non-negative int, got {value}')
    image_cfg = ImageSetConfig(image_size=tuple(image_size),
                               size_jitter=image_size_jitter,
                               max_objects=max_objects,
                               jpeg_quality=jpeg_quality)
    video_cfg = VideoSetConfig(image_size=tuple(image_size),
                               size_jitter=video_size_jitter,
                               frames_min=frames_min, frames_max=frames_max,
                               max_tracks=max_tracks,
                               jpeg_quality=jpeg_quality)
    out_dir = osp.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    _clear_previous(out_dir)
    write_json(osp.join(out_dir, META_FILE),
               dict(generator='mmvis_pretrain.datasets.synthetic', seed=seed,
                    **counts, image_set=image_cfg.__dict__,
                    video_set=video_cfg.__dict__))
    coco_root = osp.join(out_dir, 'coco')
    ytvis_root = osp.join(out_dir, 'ytvis')
    return dict(
        coco_root=coco_root,
        coco_train_json=write_coco_split(coco_root, 'train', num_images, seed,
                                         image_cfg),
        coco_val_json=write_coco_split(coco_root, 'val', num_val_images, seed,
                                       image_cfg),
        ytvis_root=ytvis_root,
        ytvis_train_json=write_ytvis_split(ytvis_root, 'train', num_videos,
                                           seed, video_cfg),
        ytvis_valid_json=write_ytvis_split(ytvis_root, 'valid',
                                           num_val_videos, seed, video_cfg))


def summarize_synthetic_data(paths: dict) -> dict:
    """Counts of what :func:`make_synthetic_data` wrote.

    Args:
        paths (dict): Its return value.

    Returns:
        dict: ``{json key: {images|videos, frames, annotations, ...}}``.
    """
    summary = {}
    for key in ('coco_train_json', 'coco_val_json'):
        with open(paths[key], encoding='utf-8') as f:
            data = json.load(f)
        anns = data['annotations']
        summary[key] = dict(
            images=len(data['images']), annotations=len(anns),
            crowd=sum(a['iscrowd'] for a in anns),
            polygons=sum(isinstance(a['segmentation'], list) for a in anns),
            empty_images=len({i['id'] for i in data['images']} -
                             {a['image_id'] for a in anns}))
    for key in ('ytvis_train_json', 'ytvis_valid_json'):
        with open(paths[key], encoding='utf-8') as f:
            data = json.load(f)
        anns = data['annotations']
        summary[key] = dict(
            videos=len(data['videos']),
            frames=sum(v['length'] for v in data['videos']),
            instances=len(anns),
            masks=sum(s is not None for a in anns for s in a['segmentations']),
            null_masks=sum(s is None for a in anns
                           for s in a['segmentations']))
    return summary
