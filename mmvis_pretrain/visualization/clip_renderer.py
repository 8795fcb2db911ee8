"""Render packed dataset samples (single images or clips) into pictures.

A *packed sample* is what a dataset with an mmdet pipeline returns:
``dict(inputs=..., data_samples=...)``.

* image (``PackDetInputs``): ``inputs`` is a ``uint8`` tensor ``(3, H, W)``
  (BGR), ``data_samples`` a :class:`~mmdet.structures.DetDataSample`;
* clip (``PackTrackInputs``): ``inputs`` is ``(T, 3, H, W)``,
  ``data_samples`` a :class:`~mmdet.structures.TrackDataSample` whose frames
  are ``DetDataSample`` with ``gt_instances.instances_ids``.

Every frame is drawn with alpha-blended filled masks, white mask contours,
boxes and a ``"<class> #<id>"`` label. The colour is a pure function of the
instance id (:func:`.drawing_utils.instance_color`), so one object keeps its
colour in all frames of a clip; samples without ids are coloured by instance
index.

Drawing is raster (:mod:`.raster`: numpy alpha blending, OpenCV lines and
anti-aliased text) straight into the frame, not through mmengine's
matplotlib canvas, which cost 150-500 ms per frame (measured; see
:mod:`.raster`): pixels outside every mask and label come back unchanged.
:class:`ClipLocalVisualizer` is a registered subclass of mmdet's
``TrackLocalVisualizer``, so its inherited ``add_datasample`` serves mmdet's
``TrackVisualizationHook`` and configs can select it (``visualizer =
dict(type='ClipLocalVisualizer')``). We do *not* reuse
``TrackLocalVisualizer._draw_instances`` itself, because it (1) reads
``instances_id`` whereas ``PackTrackInputs`` writes ``instances_ids``, (2)
picks colours with ``np.random.seed(id)``, which resets numpy's global RNG
(and with it the random augmentations of the pipeline being browsed) and
only chooses among 10 seaborn colours, so two ids often share a colour, (3)
needs masks as arrays (not ``BitmapMasks`` / ``PolygonMasks``), (4) paints
the masks over the labels and (5) draws through the matplotlib canvas.

Colours and conversions live in :mod:`.drawing_utils`; :mod:`.clip_writers`
turns the rendered frames into files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import TrackLocalVisualizer
from mmengine.structures import InstanceData

from ..registry import VISUALIZERS
from ..structures.mask_ops import mask_boxes
from .drawing_utils import (boxes_to_array, clip_boxes, instance_color,
                            instance_keys, label_font_size, label_size,
                            masks_to_array, place_labels, sample_name,
                            to_numpy, unpack_sample)
from .raster import blend_masks, draw_boxes, draw_label


# --------------------------------------------------------------------------
# visualizer
# --------------------------------------------------------------------------
@VISUALIZERS.register_module()
class ClipLocalVisualizer(TrackLocalVisualizer):
    """Visualizer for images and clips with id-consistent instance colours.

    A drop-in replacement of mmdet's ``TrackLocalVisualizer`` (its
    ``add_datasample`` is inherited, so ``TrackVisualizationHook`` can use it)
    whose :meth:`_draw_instances` colours by :func:`instance_color` of the
    instance id, accepts ``BitmapMasks`` / ``PolygonMasks`` and draws labels
    above the masks, raster (:mod:`.raster`). :meth:`draw_instances` draws
    one frame's instances, :meth:`draw_clip` a whole packed sample.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): Initial RGB image. Defaults to None.
        vis_backends (list[dict], optional): Visual backends.
        save_dir (str, optional): Save dir of the backends.
        line_width (int | float): Width of box edges. Defaults to 2.
        alpha (float): Opacity of the mask fill and box edges. Defaults to 0.5.
        draw_bbox (bool): Draw boxes. Defaults to True.
        draw_text (bool): Draw ``"<class> #<id>"`` labels. Defaults to True.
        draw_contour (bool): Draw white mask contours. Defaults to True.
        font_size (int, optional): Label cap height in pixels, the same for
            every label of a frame. Defaults to None: from the frame size
            (:func:`label_font_size`, about 1/30 of the shorter side, 7 to
            24).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 line_width: Union[int, float] = 2,
                 alpha: float = 0.5,
                 draw_bbox: bool = True,
                 draw_text: bool = True,
                 draw_contour: bool = True,
                 font_size: Optional[int] = None) -> None:
        super().__init__(name, image, vis_backends, save_dir, line_width,
                         alpha)
        self.draw_bbox = draw_bbox
        self.draw_text = draw_text
        self.draw_contour = draw_contour
        self.font_size = font_size

    # -- labels --------------------------------------------------------------
    def _class_name(self, label: int) -> str:
        """Class name of ``label`` in ``dataset_meta`` (or ``cls<label>``)."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and 0 <= label < len(classes):
            return str(classes[label])
        return f'cls{label}'

    def instance_texts(self, instances: InstanceData, keys: List[int],
                       are_ids: bool) -> List[str]:
        """Labels ``"<class> #<id>"`` (``"<class>"`` without ids)."""
        labels = to_numpy(instances.labels).reshape(-1) \
            if 'labels' in instances else [None] * len(keys)
        texts = []
        for i, (label, key) in enumerate(zip(labels, keys)):
            text = 'obj' if label is None else self._class_name(int(label))
            if are_ids:
                text += f' #{key}'
            if 'scores' in instances:
                text += f' {float(to_numpy(instances.scores)[i]):.2f}'
            texts.append(text)
        return texts

    # -- drawing ------------------------------------------------------------
    def draw_instances(self, image: np.ndarray,
                       instances: Optional[InstanceData]) -> np.ndarray:
        """Draw ``instances`` on a copy of the RGB ``image``.

        Order: masks (blended into the pixels), then contours, boxes and
        labels on top so the labels stay readable. One font size per frame
        (:func:`label_font_size` unless ``font_size``); labels start at the
        top-left corner of their box and are kept inside the frame and
        apart (:func:`place_labels`).

        Args:
            image (np.ndarray): ``(H, W, 3)`` RGB ``uint8``.
            instances (InstanceData, optional): ``masks`` (any mmdet mask
                type, RLE lists, arrays or tensors ``(M, H, W)``),
                ``bboxes``, ``labels``, ``scores``, ids (``instances_id`` /
                ``instances_ids``).

        Returns:
            np.ndarray: The drawn ``(H, W, 3)`` RGB ``uint8`` frame.
        """
        out = np.array(image, dtype=np.uint8, copy=True, order='C')
        if instances is None or len(instances) == 0:
            return out
        height, width = out.shape[:2]
        keys, are_ids = instance_keys(instances)
        colors = [instance_color(k) for k in keys]
        masks = masks_to_array(instances.masks, height, width) \
            if 'masks' in instances else None
        if masks is not None:
            blend_masks(out, masks, colors, alpha=self.alpha,
                        contour_alpha=self.alpha if self.draw_contour else 0)
        if 'bboxes' in instances:
            boxes = boxes_to_array(instances.bboxes)
        elif masks is not None:
            boxes = mask_boxes(masks)
        else:
            return out
        clip_boxes(boxes, height, width)
        if self.draw_bbox and 'bboxes' in instances:
            draw_boxes(out, boxes, colors, line_width=int(self.line_width),
                       alpha=max(self.alpha, 0.8))
        if self.draw_text:
            texts = self.instance_texts(instances, keys, are_ids)
            font_size = self.font_size or label_font_size(height, width)
            sizes = [label_size(text, font_size) for text in texts]
            positions = place_labels(boxes[:, :2] + self.line_width, sizes,
                                     height, width)
            for (x, y), text, color in zip(positions, texts, colors):
                draw_label(out, text, x, y, font_size, color, alpha=0.8)
        return out

    def _draw_instances(self, image: np.ndarray,
                        instances: InstanceData) -> np.ndarray:
        """mmdet's hook for ``add_datasample``: :meth:`draw_instances`."""
        return self.draw_instances(image, instances)

    # -- public API ----------------------------------------------------------
    def draw_frame(self, image: np.ndarray,
                   data_sample: Optional[DetDataSample]) -> np.ndarray:
        """Draw the ``gt_instances`` of one frame on its RGB image."""
        instances = None
        if data_sample is not None and 'gt_instances' in data_sample:
            instances = data_sample.gt_instances
        return self.draw_instances(image, instances)

    def draw_clip(self, sample: Dict[str, Any],
                  bgr: bool = True) -> 'RenderedSample':
        """Render every frame of a packed sample (image or clip).

        Args:
            sample (dict): ``dict(inputs=..., data_samples=...)``.
            bgr (bool): Whether ``inputs`` is BGR. Defaults to True.

        Returns:
            RenderedSample: Drawn RGB frames and the sample's name.
        """
        frames, frame_samples, is_clip = unpack_sample(sample, bgr=bgr)
        drawn = [
            self.draw_frame(frame, data_sample)
            for frame, data_sample in zip(frames, frame_samples)
        ]
        frame_ids = [s.metainfo.get('frame_id') for s in frame_samples]
        return RenderedSample(
            name=sample_name(frame_samples, is_clip),
            frames=drawn,
            is_clip=is_clip,
            frame_ids=frame_ids)


@dataclass
class RenderedSample:
    """Drawn frames of one packed sample.

    Attributes:
        name (str): File-name safe image stem or video name.
        frames (list[np.ndarray]): RGB ``uint8`` frames (one for images).
        is_clip (bool): Whether the sample came from ``PackTrackInputs``.
        frame_ids (list): ``frame_id`` metainfo of each frame, if any.
    """
    name: str
    frames: List[np.ndarray]
    is_clip: bool
    frame_ids: List[Optional[int]] = field(default_factory=list)


def render_sample(sample: Dict[str, Any],
                  visualizer: Optional[ClipLocalVisualizer] = None,
                  dataset_meta: Optional[dict] = None,
                  bgr: bool = True) -> RenderedSample:
    """Render a packed sample with ``visualizer`` (a default one if None).

    Args:
        sample (dict): ``dict(inputs=..., data_samples=...)``.
        visualizer (ClipLocalVisualizer, optional): Visualizer to draw with.
        dataset_meta (dict, optional): Sets ``visualizer.dataset_meta``
            (class names) when given.
        bgr (bool): Whether ``inputs`` is BGR. Defaults to True.

    Returns:
        RenderedSample: The drawn frames.
    """
    if visualizer is None:
        visualizer = ClipLocalVisualizer(name='clip_renderer')
    if dataset_meta is not None:
        visualizer.dataset_meta = dataset_meta
    return visualizer.draw_clip(sample, bgr=bgr)
