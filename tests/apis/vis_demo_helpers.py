"""Shared helpers of the inference-API and video-demo tests (not a test file).

* :func:`make_frames`: small deterministic BGR frames (a bright square moving
  right on a dark gradient);
* :func:`tiny_masktrack_config`: mmdet's MaskTrackRCNN YouTube-VIS config
  shrunk to ResNet-18 / 16 base channels / 32-d FPN, 6 classes, 96x64
  test scale, 10 detections per frame, no pre-trained weights; :func:`save_random_checkpoint` writes
  its randomly initialised weights;
* :class:`ScriptedTracksVIS`: a registered model that follows the online
  VIS protocol with hand-made ``pred_track_instances`` (fixed rectangles per
  ``frame_id``, see :data:`SCRIPT`), so the demo outputs can be checked
  exactly; it records the metainfo and input shape of every call;
* :func:`mp4_sample_ranges` / :func:`damage_mp4`: where each frame's
  compressed data lies in an ``.mp4`` (read from its sample tables), and a
  copy of a video whose data is zeroed from a given frame on (a video whose
  second half is corrupt, as a broken download or disk gives);
* :func:`damage_jpeg`: a JPEG whose header is intact but whose image data
  is cut short.

Import from tests in other folders with::

    sys.path.insert(0, <repo>/tests/apis); import vis_demo_helpers
"""
import os.path as osp
import struct
from typing import Iterator, List, Tuple

import numpy as np
import torch
from mmdet.structures import TrackDataSample
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import set_random_seed
from mmengine.structures import InstanceData

import mmvis_pretrain  # noqa: F401  (registers the package's components)
from mmvis_pretrain.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MASKTRACK_CONFIG = osp.join(
    REPO, '.venv/lib/python3.11/site-packages/mmdet/.mim/configs/'
    'masktrack_rcnn/masktrack-rcnn_mask-rcnn_r50_fpn_8xb1-12e_'
    'youtubevis2019.py')
CLASSES = ('person', 'car', 'dog', 'cat', 'bird', 'horse')
H, W = 64, 96


def make_frames(num: int = 6, height: int = H, width: int = W,
                seed: int = 0) -> List[np.ndarray]:
    """BGR uint8 frames: noisy gradient + a white 16x16 square at x=8+6t."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(num):
        base = np.linspace(20, 120, width, dtype=np.float32)[None, :, None]
        frame = np.broadcast_to(base, (height, width, 3)).copy()
        frame += rng.normal(0, 3, frame.shape)
        x = 8 + 6 * t
        frame[20:36, x:x + 16] = 255
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def tiny_masktrack_config(scale=(96, 64), max_per_img: int = 10) -> Config:
    """mmdet's MaskTrackRCNN config, shrunk (see module doc), keeping at most
    ``max_per_img`` detections per frame (100 in the original)."""
    cfg = Config.fromfile(MASKTRACK_CONFIG)
    feat = 32
    det = cfg.model.detector
    det.init_cfg = None
    det.test_cfg.rcnn.max_per_img = max_per_img
    det.backbone.update(
        depth=18, base_channels=16, init_cfg=None,
        norm_cfg=dict(type='BN', requires_grad=False))
    det.neck.update(in_channels=[16, 32, 64, 128], out_channels=feat)
    det.rpn_head.update(in_channels=feat, feat_channels=feat)
    det.roi_head.bbox_roi_extractor.out_channels = feat
    det.roi_head.bbox_head.update(
        in_channels=feat, fc_out_channels=64, num_classes=len(CLASSES))
    det.roi_head.mask_roi_extractor.out_channels = feat
    det.roi_head.mask_head.update(
        in_channels=feat, conv_out_channels=feat, num_classes=len(CLASSES))
    track_head = cfg.model.track_head
    track_head.roi_extractor.out_channels = feat
    track_head.embed_head.update(in_channels=feat, fc_out_channels=64)
    for transform in cfg.test_dataloader.dataset.pipeline[0].transforms:
        if transform.type == 'Resize':
            transform.scale = scale
    return cfg


def save_random_checkpoint(cfg: Config, path: str, seed: int = 0,
                           classes=CLASSES) -> str:
    """Build ``cfg.model`` with random weights and save it (with
    ``meta.dataset_meta.classes`` unless ``classes`` is None)."""
    from mmvis_pretrain.utils import register_all_modules
    register_all_modules()
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    meta = {} if classes is None else dict(
        dataset_meta=dict(classes=list(classes)))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


# --------------------------------------------------------------------------
# a scripted online VIS model
# --------------------------------------------------------------------------
#: Per frame: (model track id, label, score, (x1, y1, x2, y2)) of the
#: instances ``ScriptedTracksVIS`` reports. Raw id 0 moves right (all frames),
#: id 7 is absent in frames 0 and 3, changes label / score at frame 3 and is
#: reported twice in frame 4, id 5 always scores below 0.3, id 9 appears in
#: frame 2 only, overlapping id 0 with a lower score.
SCRIPT = {
    t: [(0, 1, 0.9, (4 + 4 * t, 8, 24 + 4 * t, 28)),
        (5, 0, 0.1, (0, 50, 10, 60))]
    + ([(7, 3, 0.6, (60, 30, 80, 50))] if t in (1, 2) else [])
    + ([(7, 4, 0.8, (60, 30, 80, 50))] if t in (4, 5) else [])
    + ([(7, 2, 0.7, (84, 30, 90, 50))] if t == 4 else [])
    + ([(9, 5, 0.5, (10, 20, 40, 40))] if t == 2 else [])
    for t in range(6)
}


def rect_mask(box, height: int = H, width: int = W) -> np.ndarray:
    """Boolean ``(height, width)`` mask of ``box`` (x1, y1, x2, y2)."""
    mask = np.zeros((height, width), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return mask


@MODELS.register_module(force=True)
class ScriptedTracksVIS(BaseModel):
    """Online VIS model whose predictions are :data:`SCRIPT` (test only).

    ``calls`` (class attribute) records ``(metainfo dict, input shape)`` of
    every predicted frame.
    """

    calls: list = []

    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(
            data_preprocessor=data_preprocessor or dict(
                type='TrackDataPreprocessor'),
            init_cfg=init_cfg)

    def forward(self, inputs, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise NotImplementedError('ScriptedTracksVIS only predicts')
        for sample in data_samples:
            assert isinstance(sample, TrackDataSample) and len(sample) == 1
            frame = sample[0]
            type(self).calls.append(
                (dict(frame.metainfo), tuple(inputs.shape)))
            height, width = frame.ori_shape
            rows = SCRIPT[frame.frame_id]
            frame.pred_track_instances = InstanceData(
                instances_id=torch.tensor([r[0] for r in rows]),
                labels=torch.tensor([r[1] for r in rows]),
                scores=torch.tensor([r[2] for r in rows]),
                masks=torch.from_numpy(
                    np.stack([rect_mask(r[3], height, width)
                              for r in rows])),
                bboxes=torch.tensor([r[3] for r in rows],
                                    dtype=torch.float32))
        return data_samples


def scripted_config(scale=(96, 64)) -> Config:
    """Config of :class:`ScriptedTracksVIS` with a VIS test pipeline."""
    return Config(
        dict(
            default_scope='mmvis_pretrain',
            model=dict(type='ScriptedTracksVIS'),
            test_dataloader=dict(
                dataset=dict(
                    type='VISDataset',
                    metainfo=dict(classes=CLASSES),
                    pipeline=[
                        dict(
                            type='TransformBroadcaster',
                            transforms=[
                                dict(type='LoadImageFromFile'),
                                dict(type='Resize', scale=scale,
                                     keep_ratio=True),
                                dict(type='LoadTrackAnnotations',
                                     with_mask=True),
                            ]),
                        dict(type='PackTrackInputs')
                    ]))))


# --------------------------------------------------------------------------
# damaged inputs
# --------------------------------------------------------------------------
def _mp4_boxes(data: bytes, start: int,
               end: int) -> Iterator[Tuple[str, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes in a range."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack('>I4s', data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack('>Q', data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        yield kind.decode('latin-1'), pos + header, pos + size
        pos += size


def _mp4_box(data: bytes, start: int, end: int,
             path: List[str]) -> Tuple[int, int]:
    for kind, payload, box_end in _mp4_boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return payload, box_end
            return _mp4_box(data, payload, box_end, path[1:])
    raise ValueError(f'no {"/".join(path)} box')


def mp4_sample_ranges(path: str) -> List[Tuple[int, int]]:
    """``(file offset, size)`` of every sample (frame) of the first track of
    an ``.mp4``, from its ``stsz`` / ``stsc`` / ``stco`` tables."""
    data = open(path, 'rb').read()
    stbl = _mp4_box(data, 0, len(data),
                    ['moov', 'trak', 'mdia', 'minf', 'stbl'])

    def table(name):
        start, end = _mp4_box(data, stbl[0], stbl[1], [name])
        return data[start:end]

    stsz = table('stsz')
    uniform, count = struct.unpack('>II', stsz[4:12])
    sizes = [uniform] * count if uniform else list(
        struct.unpack(f'>{count}I', stsz[12:12 + 4 * count]))
    stco = table('stco')
    num_chunks = struct.unpack('>I', stco[4:8])[0]
    chunks = struct.unpack(f'>{num_chunks}I', stco[8:8 + 4 * num_chunks])
    stsc = table('stsc')
    runs = [
        struct.unpack('>III', stsc[8 + 12 * i:20 + 12 * i])
        for i in range(struct.unpack('>I', stsc[4:8])[0])
    ]
    ranges = []
    for chunk, offset in enumerate(chunks, 1):
        per_chunk = [run for run in runs if run[0] <= chunk][-1][1]
        for _ in range(per_chunk):
            if len(ranges) == count:
                break
            ranges.append((offset, sizes[len(ranges)]))
            offset += sizes[len(ranges) - 1]
    return ranges


def damage_mp4(src: str, dst: str, first_frame: int,
               fraction: float = 0.5) -> str:
    """Copy ``src`` to ``dst`` with the compressed data zeroed from
    ``fraction`` into frame ``first_frame`` to the end of the last frame
    (the container's tables stay intact, so the frame count is unchanged).
    """
    ranges = mp4_sample_ranges(src)
    data = bytearray(open(src, 'rb').read())
    offset, size = ranges[first_frame]
    start = offset + int(size * fraction)
    end = max(o + s for o, s in ranges)
    data[start:end] = bytes(end - start)
    with open(dst, 'wb') as f:
        f.write(bytes(data))
    return dst


def damage_jpeg(path: str, keep: float = 0.5) -> str:
    """Cut the JPEG ``path`` to its first ``keep`` part: the header (size)
    still reads, the pixels no longer decode."""
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return path
