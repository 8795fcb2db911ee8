"""``ImageToClip``: one image sample as a ``T``-frame pseudo-video."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.mask import BitmapMasks

from mmvis_pretrain.registry import TRANSFORMS
from .clip_format import _frame_copy, as_box_array, sync_instances_to_masks
from .contiguous import contiguous_image


@TRANSFORMS.register_module()
class ImageToClip(BaseTransform):
    """Replicate one image sample into a ``num_frames`` clip (pseudo-video).

    Every key becomes a list of ``num_frames`` entries. By default the
    frames **share** their arrays (image, masks), which saves T copies of
    the image and masks per clip and lets :class:`VideoAutoAugment`
    recognise identical frames by identity and augment them once; every
    later transform must copy before it writes (the copy-on-write contract
    and its debug check: :mod:`.copy_on_write`). The boxes are the
    exception: each frame gets its own ``gt_bboxes`` array (n x 4 floats),
    because mmdet's box flip writes into its array in place
    (``TransformBroadcaster([RandomFlip])`` right after this transform
    would otherwise flip the shared boxes once per frame). With other
    transforms that write in place, set ``copy=True``. The keys a video
    sample has are added, and the sample is normalised:

    * ``gt_instances_ids``: ``1..n`` in annotation order (mmdet's video code
      treats id 0 as missing), the same in every frame;
    * the raw ``instances`` annotations are dropped (parsed into ``gt_*``
      already, and wrong for frames that move);
    * ``gt_bboxes`` become the tight boxes of ``gt_masks``, and instances
      with an empty mask are dropped (the invariant of every clip
      transform of this package);
    * ``frame_id``: ``0..T-1``; ``video_id``: the image's ``img_id``;
      ``video_length`` / ``ori_video_length``: ``T``;
    * ``key_frame_flags``: the first frame is the key frame;
    * ``img`` is made C-contiguous if it is not (mmcv's ``RandomFlip``
      leaves a mirrored view; :func:`.contiguous.contiguous_image` copies
      it once here instead of every per-frame op copying it slowly).

    Required keys: ``img`` and, for training, the keys of
    ``LoadAnnotations(with_bbox=True, with_mask=True)`` (an image without
    instances gives a clip without instances).

    Args:
        num_frames (int): T >= 1.
        copy (bool): give every frame its own copy of the arrays. Defaults
            to False (shared, see above).
    """

    def __init__(self, num_frames: int = 3, copy: bool = False) -> None:
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.num_frames = num_frames
        self.copy = copy

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('ImageToClip needs a decoded image: put '
                           'LoadImageFromFile (and LoadAnnotations) before it')
        results = dict(results)
        # once per clip instead of in every per-frame op: mmcv's RandomFlip
        # leaves a mirrored view, which numpy / OpenCV copy slowly
        results['img'] = contiguous_image(results['img'])
        # The raw annotations were parsed into gt_* by LoadAnnotations and
        # would describe the frames wrongly once they move; dropping them
        # also spares PackTrackInputs a deep copy per frame (meta 'instances').
        results.pop('instances', None)
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = as_box_array(results['gt_bboxes'])
        if isinstance(results.get('gt_masks'), BitmapMasks):
            # clip invariant: boxes are the tight boxes of the masks (the
            # clip transforms move masks and derive boxes from them)
            sync_instances_to_masks(results)
        if 'gt_bboxes_labels' in results and \
                'gt_instances_ids' not in results:
            num = len(results['gt_bboxes_labels'])
            results['gt_instances_ids'] = np.arange(1, num + 1,
                                                    dtype=np.int64)
        num_frames = self.num_frames
        replicate = _frame_copy if self.copy else (lambda value: value)
        clip = {
            key: [value] + [replicate(value) for _ in range(num_frames - 1)]
            for key, value in results.items()
        }
        if 'gt_bboxes' in results and not self.copy:
            # own boxes per frame: mmdet flips boxes in place
            clip['gt_bboxes'] = [clip['gt_bboxes'][0]] + [
                box.copy() for box in clip['gt_bboxes'][1:]]
        clip['frame_id'] = list(range(num_frames))
        clip['video_id'] = [results.get('img_id')] * num_frames
        clip['video_length'] = [num_frames] * num_frames
        clip['ori_video_length'] = [num_frames] * num_frames
        clip['key_frame_flags'] = [t == 0 for t in range(num_frames)]
        return clip

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'copy={self.copy})')


__all__ = ['ImageToClip']
