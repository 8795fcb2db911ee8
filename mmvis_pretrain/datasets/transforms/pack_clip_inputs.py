"""A faster drop-in for mmdet's ``PackTrackInputs``.

mmdet's ``PackTrackInputs`` turns a clip dict (every value a T-list, see
:mod:`.clip_format`) into ``inputs`` (a ``(T, C, H, W)`` tensor) and a
``TrackDataSample`` of T ``DetDataSample``. On a 3-frame 800 x 1067 clip it
cost about 6 ms, most of it overhead that does not change the result:

* ``BitmapMasks.__getitem__`` copies the selected masks and then the
  ``BitmapMasks`` constructor copies them again (``np.stack``), for every
  frame;
* the ``TrackDataSample.video_data_samples`` setter formats the first
  frame's ``DetDataSample`` as a string every time (a stray f-string
  statement after an ``assert``), about 1.5 ms per clip;
* ``np.stack`` copies the T images into a new array even when a transform
  already wrote them into one (``VideoCopyPaste`` does, see
  :func:`.clip_format.clip_image_buffer`).

:class:`PackClipInputs` gives the same output (same keys, key order, dtypes,
values, shapes and metainfo; the image tensor even has the same strides)
and fills the ``TrackDataSample`` without formatting:

* images: :func:`.clip_format.stack_frames` (the frames' common buffer if
  they have one, else ``np.stack``);
* masks: copied at most once per frame (:func:`select_masks`), and not at
  all when a frame keeps all its instances (no ignored / crowd one) and
  its mask array shares no memory with the masks packed for an earlier
  frame of the clip: then the pipeline's array is packed as it is, as
  mmdet's ``PackDetInputs`` does (:func:`pack_frame_masks`); either way
  with the strides mmdet's copies give.

So the frames of a packed clip never share memory with each other (as with
``PackTrackInputs``); the packed arrays may share it with the results dict,
which the pipeline drops after packing (and clip transforms do not write
into their inputs, see :mod:`.copy_on_write`).
Everything else (``to_tensor`` of the images and annotations, ignore-flag
splitting, metainfo deep copies, key / reference frame indices) is done as
mmdet does. The tests compare both packers field by field on the same
clips.
"""
from typing import Optional

import numpy as np
from mmcv.transforms import to_tensor
from mmdet.datasets.transforms import PackTrackInputs
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import stack_frames


def stack_keeps_layout(array: np.ndarray) -> bool:
    """Whether ``np.stack`` of the masks of ``array`` ``(k, H, W)`` gives
    ``array``'s own strides: C-contiguous arrays and arrays of consecutive
    column-major masks (the layout of masks decoded by ``pycocotools``,
    which ``BitmapMasks`` keeps)."""
    _, height, width = array.shape
    size = array.itemsize
    return array.flags.c_contiguous or array.strides == (
        height * width * size, size, height * size)


def _bitmap(array: np.ndarray, height: int, width: int) -> BitmapMasks:
    """``BitmapMasks`` around ``array`` (no copy, no check)."""
    out = BitmapMasks.__new__(BitmapMasks)
    out.height, out.width, out.masks = height, width, array
    return out


def select_masks(masks, index: np.ndarray):
    """``masks[index]`` exactly as mmdet's ``BitmapMasks.__getitem__``
    gives it, with one copy instead of two.

    mmdet copies the selection (fancy indexing, which keeps the memory
    layout of each mask) and then the ``BitmapMasks`` constructor copies it
    again with ``np.stack`` (same values and, for the layouts of
    :func:`stack_keeps_layout`, the same strides); an empty selection
    becomes a uint8 ``(0, H, W)`` array whatever the input dtype. Here the
    first copy is the result; selections of other layouts, and other mask
    types (``PolygonMasks``), are indexed by mmdet itself.

    Args:
        masks (BitmapMasks | PolygonMasks): Masks of one frame, ``(n, H, W)``.
        index (np.ndarray): int ``(k,)`` indices.

    Returns:
        BitmapMasks | PolygonMasks: ``(k, H, W)``, equal to mmdet's
        ``masks[index]`` (values, dtype, strides, height and width).
    """
    if type(masks) is not BitmapMasks or len(index) == 0:
        return masks[index]
    selected = masks.masks[index].reshape(-1, masks.height, masks.width)
    if not stack_keeps_layout(selected):
        return masks[index]
    return _bitmap(selected, masks.height, masks.width)


def pack_frame_masks(masks, index: np.ndarray, packed: list):
    """A frame's ``masks[index]`` for packing, without a copy if it can.

    The frame's own array (in a new ``BitmapMasks``) when ``index`` selects
    every instance in order, the array has a layout that mmdet's copies
    keep (:func:`stack_keeps_layout`) and it shares no memory with the
    arrays in ``packed`` (the masks packed for the earlier frames of the
    clip); :func:`select_masks` otherwise. The packed array is appended to
    ``packed``.

    Args:
        masks (BitmapMasks | PolygonMasks): Masks of one frame, ``(n, H, W)``.
        index (np.ndarray): Sorted unique int ``(k,)`` indices (the valid
            instances of the frame).
        packed (list[np.ndarray]): Arrays packed so far; updated.

    Returns:
        BitmapMasks | PolygonMasks: ``(k, H, W)``, equal to mmdet's
        ``masks[index]`` (values, dtype, strides).
    """
    if type(masks) is not BitmapMasks:
        return masks[index]
    array = masks.masks
    if (0 < len(index) == len(array) and stack_keeps_layout(array)
            and not any(np.may_share_memory(array, other)
                        for other in packed)):
        out = _bitmap(array, masks.height, masks.width)
    else:
        out = select_masks(masks, index)
    packed.append(out.masks)
    return out


@TRANSFORMS.register_module()
class PackClipInputs(PackTrackInputs):
    """Pack a clip like mmdet's ``PackTrackInputs``, faster.

    Input: the clip format (every value a T-list): ``img`` T ``(H, W, C)``
    arrays, optional ``gt_bboxes`` (T ``(n_t, 4)`` arrays),
    ``gt_bboxes_labels`` / ``gt_instances_ids`` / ``gt_ignore_flags`` (T
    ``(n_t,)``), ``gt_masks`` (T ``BitmapMasks (n_t, H, W)``), the meta keys
    and ``key_frame_flags``; ``img_id`` is required (it gives T).

    Output: ``dict(inputs=Tensor (T, C, H, W), data_samples=TrackDataSample)``
    where frame ``t`` holds ``gt_instances`` (the instances whose ignore
    flag is 0: ``bboxes``, ``labels``, ``masks``, ``instances_ids``),
    ``ignored_instances`` (flag 1) and the meta keys of frame ``t``; the
    ``TrackDataSample`` has ``key_frames_inds`` / ``ref_frames_inds`` when
    ``key_frame_flags`` is given. This is exactly ``PackTrackInputs``'s
    output (see the module docstring for what is faster).

    Copy-on-write: frames may share arrays, this transform never writes into
    its inputs (the contract and its debug check: :mod:`.copy_on_write`).

    Args:
        meta_keys (str | tuple, optional): Extra meta keys, added to
            ``default_meta_keys``. Defaults to None.
        default_meta_keys (tuple): As ``PackTrackInputs``.
    """

    def transform(self, results: dict) -> dict:
        """Pack the clip ``results`` (see the class docstring)."""
        packed = dict(inputs=dict())
        if 'img' in results:
            imgs = stack_frames(results['img']).transpose(0, 3, 1, 2)
            packed['inputs'] = to_tensor(imgs)
        if 'img_id' not in results:
            raise KeyError("PackClipInputs needs 'img_id' (one per frame) "
                           'to count the frames')
        num_frames = len(results['img_id'])
        splits = self._ignore_splits(results, num_frames)
        packed_masks = []
        frames = []
        for t in range(num_frames):
            gt_instances, ignored = InstanceData(), InstanceData()
            for key, name in self.mapping_table.items():
                if key not in results:
                    continue
                value = results[key][t]
                if splits is None:
                    gt_instances[name] = value if key == 'gt_masks' \
                        else to_tensor(value)
                    continue
                valid_idx, ignore_idx = splits[t]
                if key == 'gt_masks':
                    gt_instances[name] = pack_frame_masks(
                        value, valid_idx, packed_masks)
                    ignored[name] = select_masks(value, ignore_idx)
                else:
                    gt_instances[name] = to_tensor(value[valid_idx])
                    ignored[name] = to_tensor(value[ignore_idx])
            frame = DetDataSample()
            frame.gt_instances = gt_instances
            frame.ignored_instances = ignored
            metainfo = {
                key: results[key][t]
                for key in self.meta_keys if key in results
            }
            if metainfo:
                frame.set_metainfo(metainfo)
            frames.append(frame)

        sample = TrackDataSample()
        # the video_data_samples setter would format frames[0] as a string
        sample.set_field(frames, '_video_data_samples', dtype=list)
        if 'key_frame_flags' in results:
            flags = np.asarray(results['key_frame_flags'])
            sample.set_metainfo(
                dict(key_frames_inds=np.where(flags)[0].tolist()))
            sample.set_metainfo(
                dict(ref_frames_inds=np.where(~flags)[0].tolist()))
        packed['data_samples'] = sample
        return packed

    @staticmethod
    def _ignore_splits(results: dict, num_frames: int) -> Optional[list]:
        """Per frame ``(valid_idx, ignore_idx)`` from ``gt_ignore_flags``
        (as mmdet: flag 0 valid, flag 1 ignored), None without flags."""
        if 'gt_ignore_flags' not in results:
            return None
        flags_list = results['gt_ignore_flags']
        if len(flags_list) != num_frames:
            raise ValueError(f'{len(flags_list)} gt_ignore_flags for '
                             f'{num_frames} frames')
        return [(np.where(flags == 0)[0], np.where(flags == 1)[0])
                for flags in flags_list]

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'


__all__ = ['PackClipInputs', 'select_masks', 'pack_frame_masks',
           'stack_keeps_layout']
