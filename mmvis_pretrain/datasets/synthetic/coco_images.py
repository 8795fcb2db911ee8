"""The COCO instance-segmentation image set.

Each image holds 0..``max_objects`` textured objects that overlap in a random
depth order. The annotated mask of an object is its *visible* part. Objects
alternate between polygon and compressed-RLE segmentations (RLE when the
polygon would not decode faithfully, e.g. a mask with a hole); some images
carry an ``iscrowd: 1`` cluster of small same-class objects (RLE) and some
images are empty.
"""
import os.path as osp
from dataclasses import dataclass

import numpy as np

from .background import make_background
from .categories import SYNTHETIC_CLASSES, categories_json
from .compose import Layer, composite
from .mask_codec import (decode_segmentation, encode_rle, mask_bbox,
                         polygon_segmentation)
from .objects import Pose, render_object
from .randomness import item_rng, sample_size
from .textures import Appearance, sample_appearance
from .writers import write_jpeg, write_json

NUM_CLASSES = len(SYNTHETIC_CLASSES)


@dataclass(frozen=True)
class ImageSetConfig:
    """Knobs of the image set.

    Attributes:
        image_size (tuple[int, int]): Base ``(W, H)``.
        size_jitter (float): Relative jitter of W and H (aspect varies).
        max_objects (int): Objects per non-empty image are 1..max_objects.
        empty_every (int): Image ``i`` is empty when ``i % empty_every == 3``.
        crowd_every (int): Image ``i`` has a crowd when
            ``i % crowd_every == 1``.
        jpeg_quality (int): JPEG quality.
    """

    image_size: tuple[int, int] = (160, 120)
    size_jitter: float = 0.2
    max_objects: int = 5
    empty_every: int = 8
    crowd_every: int = 4
    jpeg_quality: int = 90


@dataclass(frozen=True)
class SceneObject:
    """One annotated unit: a single object or an ``iscrowd`` cluster.

    Attributes:
        category_id (int): 1..6.
        parts (tuple[tuple[Appearance, Pose], ...]): Rendered in order.
        iscrowd (bool): Whether this is a crowd cluster.
    """

    category_id: int
    parts: tuple[tuple[Appearance, Pose], ...]
    iscrowd: bool = False


def _sample_center(rng: np.random.Generator, width: int, height: int,
                   placed: list[Pose]) -> tuple[float, float]:
    """Centre near an already placed object (half the time) or anywhere."""
    if placed and rng.random() < 0.5:
        anchor = placed[int(rng.integers(len(placed)))]
        dx, dy = rng.normal(0.0, 0.9 * anchor.scale, 2)
        return float(anchor.cx + dx), float(anchor.cy + dy)
    return (float(rng.uniform(0.08, 0.92) * width),
            float(rng.uniform(0.08, 0.92) * height))


def _sample_object(rng: np.random.Generator, category_id: int, width: int,
                   height: int, placed: list[Pose]) -> SceneObject:
    """A single object of ``category_id`` placed in a ``width x height``."""
    cx, cy = _sample_center(rng, width, height, placed)
    scale = float(rng.uniform(0.13, 0.3) * min(width, height))
    pose = Pose(cx, cy, scale, float(rng.uniform(-0.35, 0.35)))
    placed.append(pose)
    return SceneObject(category_id,
                       ((sample_appearance(rng, category_id), pose), ))


def _sample_crowd(rng: np.random.Generator, width: int,
                  height: int) -> SceneObject:
    """A cluster of 4..7 small same-class objects (one iscrowd region)."""
    category_id = int(rng.integers(1, NUM_CLASSES + 1))
    cx = rng.uniform(0.25, 0.75) * width
    cy = rng.uniform(0.25, 0.75) * height
    spread = 0.12 * min(width, height)
    parts = []
    for _ in range(int(rng.integers(4, 8))):
        scale = float(rng.uniform(0.05, 0.08) * min(width, height))
        dx, dy = rng.normal(0.0, spread, 2)
        pose = Pose(float(cx + dx), float(cy + dy), scale,
                    float(rng.uniform(-0.3, 0.3)))
        parts.append((sample_appearance(rng, category_id), pose))
    return SceneObject(category_id, tuple(parts), iscrowd=True)


def sample_scene(rng: np.random.Generator, index: int, width: int,
                 height: int, config: ImageSetConfig) -> list[SceneObject]:
    """Objects of image ``index`` in back-to-front order.

    The first object's class cycles with ``index`` so every class occurs.

    Returns:
        list[SceneObject]: Index 0 is farthest from the camera.
    """
    if index % config.empty_every == 3:
        return []
    num = int(rng.integers(1, config.max_objects + 1))
    placed: list[Pose] = []
    scene = []
    for k in range(num):
        category_id = index % NUM_CLASSES + 1 if k == 0 else int(
            rng.integers(1, NUM_CLASSES + 1))
        scene.append(_sample_object(rng, category_id, width, height, placed))
    if index % config.crowd_every == 1:
        scene.insert(int(rng.integers(0, len(scene) + 1)),
                     _sample_crowd(rng, width, height))
    order = rng.permutation(len(scene))
    return [scene[i] for i in order]


def render_scene(scene: list[SceneObject], width: int,
                 height: int) -> list[Layer]:
    """One compositing layer per scene object (crowd parts share a layer)."""
    layers = []
    for obj in scene:
        mask = np.zeros((height, width), bool)
        colors = np.zeros((height, width, 3), np.float32)
        for appearance, pose in obj.parts:
            part_mask, part_colors = render_object(appearance, pose, height,
                                                   width)
            mask |= part_mask
            colors[part_mask] = part_colors[part_mask]
        layers.append(Layer(mask, colors))
    return layers


def annotate(obj: SceneObject, visible: np.ndarray,
             use_polygon: bool) -> dict | None:
    """COCO annotation fields (without ids) of one visible mask.

    Args:
        obj (SceneObject): The object.
        visible (np.ndarray): (H, W) bool visible mask.
        use_polygon (bool): Try polygons (falls back to RLE if unfaithful).

    Returns:
        dict | None: ``category_id, segmentation, area, bbox, iscrowd``;
        ``None`` when nothing is visible. bbox and area come from the mask
        that the segmentation decodes to.
    """
    if not visible.any():
        return None
    polygon = None if obj.iscrowd or not use_polygon else \
        polygon_segmentation(visible)
    if polygon is not None:
        segmentation, mask = polygon
    else:
        segmentation = encode_rle(visible)
        mask = decode_segmentation(segmentation, *visible.shape)
    return dict(category_id=obj.category_id, segmentation=segmentation,
                area=float(np.count_nonzero(mask)), bbox=mask_bbox(mask),
                iscrowd=int(obj.iscrowd))


def _image_record(image_id: int, file_name: str, width: int,
                  height: int) -> dict:
    """A COCO ``images`` entry."""
    return dict(id=image_id, file_name=file_name, width=width, height=height,
                license=1)


def render_image(seed: int, split: str, index: int, config: ImageSetConfig
                 ) -> tuple[np.ndarray, list[SceneObject], list[np.ndarray]]:
    """Render image ``index`` of a split.

    Returns:
        tuple: (H, W, 3) uint8 RGB image, its scene objects (back-to-front)
        and their (H, W) bool visible masks (same order).
    """
    rng = item_rng(seed, 'coco', split, index)
    width, height = sample_size(rng, config.image_size, config.size_jitter)
    scene = sample_scene(rng, index, width, height, config)
    background = make_background(rng, height, width)
    image, visible = composite(background, render_scene(scene, width, height),
                               rng)
    return image, scene, visible


def make_image(seed: int, split: str, index: int, config: ImageSetConfig
               ) -> tuple[np.ndarray, list[dict]]:
    """Render image ``index`` of a split and its annotations (without ids).

    Objects alternate between polygon and RLE; fully hidden ones are skipped.

    Returns:
        tuple[np.ndarray, list[dict]]: (H, W, 3) uint8 RGB image and the
        fields of its annotations (see :func:`annotate`), back-to-front.
    """
    image, scene, visible = render_image(seed, split, index, config)
    anns = []
    for k, (obj, mask) in enumerate(zip(scene, visible)):
        ann = annotate(obj, mask, use_polygon=(k + index) % 2 == 0)
        if ann is not None:
            anns.append(ann)
    return image, anns


def _info() -> dict:
    """The ``info`` block (no timestamps: the file must be reproducible)."""
    return dict(description='mmvis_pretrain synthetic COCO-style instance '
                'segmentation set', version='1.0', year=2024,
                contributor='mmvis_pretrain', url='', date_created='')


def write_coco_split(coco_root: str, split: str, num_images: int, seed: int,
                     config: ImageSetConfig) -> str:
    """Write ``coco_root/<split>/NNNNNN.jpg`` and its COCO JSON.

    Args:
        coco_root (str): ``out_dir/coco``.
        split (str): ``'train'`` or ``'val'``.
        num_images (int): Number of images.
        seed (int): Global seed.
        config (ImageSetConfig): Knobs.

    Returns:
        str: Path of ``coco_root/annotations/instances_<split>.json``.
    """
    images, annotations = [], []
    for index in range(num_images):
        image, anns = make_image(seed, split, index, config)
        file_name = f'{index + 1:06d}.jpg'
        write_jpeg(osp.join(coco_root, split, file_name), image,
                   config.jpeg_quality)
        images.append(
            _image_record(index + 1, file_name, image.shape[1],
                          image.shape[0]))
        for ann in anns:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=index + 1, **ann))
    data = dict(info=_info(),
                licenses=[dict(id=1, name='synthetic', url='')],
                images=images, annotations=annotations,
                categories=categories_json())
    json_path = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    write_json(json_path, data)
    return json_path
