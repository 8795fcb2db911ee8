"""``ConsecutiveClipSample``: T consecutive frames of a video from a random
start (DVIS-style tracker / refiner training clips)."""
import random
from numbers import Real
from typing import Dict, List, Sequence, Tuple

from mmdet.datasets.transforms.frame_sampling import BaseFrameSample

from mmvis_pretrain.registry import TRANSFORMS

#: Default video-level keys copied into every frame (as mmdet's samplers).
VIDEO_KEYS = ('video_id', 'video_length')


@TRANSFORMS.register_module()
class ConsecutiveClipSample(BaseFrameSample):
    """Sample ``num_frames`` consecutive frames from a random start.

    The frame sampler of DVIS-style decoupled VIS training (5-frame tracker
    clips, 15-frame refiner clips), used in place of mmdet's
    :class:`UniformRefFrameSample` as the first transform of a training
    pipeline, before ``TransformBroadcaster``. The output has the format of
    mmdet's samplers, so ``TransformBroadcaster`` + ``LoadTrackAnnotations``
    + ``PackTrackInputs`` work unchanged:

    * for a video of ``L >= num_frames`` frames, the start ``t`` is drawn
      uniformly from ``0..L - num_frames`` and the clip is the frames
      ``t..t + num_frames - 1``;
    * a shorter video is padded by holding its last frame: frames
      ``0..L-1``, then frame ``L-1`` repeated (``L=3, num_frames=5``:
      ``0, 1, 2, 2, 2``), so a frame may appear more than once in the clip
      (mmdet's ``UniformRefFrameSample`` also repeats frames of short
      videos);
    * with probability ``reverse_prob`` the clip is played backwards (DVIS
      stage 3 uses 0.5).

    A ``key_frame_id`` in ``video_infos`` (mmdet's dataset sets one when it
    is indexed with ``(video index, frame index)``) is ignored: the random
    start is the point of this sampler. The draws use Python's global
    ``random`` (as mmdet's samplers), so mmengine's seeding and
    :class:`RandomStateHook` cover them.

    Args:
        num_frames (int): T >= 1 frames per clip. Defaults to 5.
        reverse_prob (float): Probability in ``[0, 1]`` of reversing the
            clip order. Defaults to 0.0.
        collect_video_keys (Sequence[str]): Video-level keys copied into
            every frame. Defaults to ``('video_id', 'video_length')``.
    """

    def __init__(self,
                 num_frames: int = 5,
                 reverse_prob: float = 0.0,
                 collect_video_keys: Sequence[str] = VIDEO_KEYS) -> None:
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) \
                or num_frames < 1:
            raise ValueError(
                f'num_frames must be an int >= 1, got {num_frames!r}')
        if isinstance(reverse_prob, bool) or \
                not isinstance(reverse_prob, Real) or \
                not 0.0 <= reverse_prob <= 1.0:
            raise ValueError(
                f'reverse_prob must be in [0, 1], got {reverse_prob!r}')
        self.num_frames = num_frames
        self.reverse_prob = float(reverse_prob)
        super().__init__(collect_video_keys=list(collect_video_keys))

    def sampling_frames(self, video_length: int) -> Tuple[List[int], bool]:
        """Draw the frame indices of one clip.

        Args:
            video_length (int): Number of frames of the video, >= 1.

        Returns:
            tuple[list[int], bool]: ``num_frames`` frame indices in clip
            order, and whether they were reversed.
        """
        if video_length >= self.num_frames:
            start = random.randint(0, video_length - self.num_frames)
            inds = list(range(start, start + self.num_frames))
        else:
            # Hold the last frame rather than ping-pong or loop: time never
            # runs backwards or jumps inside the clip, so the motion stays
            # one-directional (reversal stays a clean, clip-level choice)
            # and a track never reappears at an earlier position; it looks
            # like a paused video, the least surprising padding.
            inds = list(range(video_length)) + \
                [video_length - 1] * (self.num_frames - video_length)
        # no draw at probability 0: the RNG stream stays that of a sampler
        # without reversal
        reverse = self.reverse_prob > 0 and \
            random.random() < self.reverse_prob
        if reverse:
            inds.reverse()
        return inds, reverse

    def transform(self, video_infos: dict) -> Dict[str, List]:
        """Sample a clip of the video.

        Args:
            video_infos (dict): The whole video: ``images`` (one dict per
                frame), ``video_length`` and the ``collect_video_keys``.

        Returns:
            dict: Every key a list of ``num_frames`` entries, in clip order:
            the keys of the frame dicts (``img_path``, ``frame_id``,
            ``img_id``, ``instances``, ...), ``video_id``, ``video_length``
            (``num_frames``) and ``ori_video_length`` (the video's length),
            as mmdet's ``UniformRefFrameSample``; and ``key_frame_flags``,
            ``True`` for the first frame of the clip only.
        """
        images = video_infos.get('images') or []
        if len(images) == 0:
            raise ValueError(
                f'ConsecutiveClipSample: video '
                f"{video_infos.get('video_id')!r} has no frames")
        sampled_inds, _ = self.sampling_frames(len(images))
        results = self.prepare_data(video_infos, sampled_inds)
        results['key_frame_flags'] = [True] + [False] * (self.num_frames - 1)
        return results

    def __repr__(self) -> str:
        repr_str = self.__class__.__name__
        repr_str += f'(num_frames={self.num_frames}, '
        repr_str += f'reverse_prob={self.reverse_prob}, '
        repr_str += f'collect_video_keys={self.collect_video_keys})'
        return repr_str
