# Training data of the decoupled VIS stages (DVIS++, docs/decoupled_vis.md)
# on YouTube-VIS 2021: the joint data of coco_pseudo_video_ytvis21_joint.py
# (COCO pseudo-videos mixed with real clips in one loader, its ratio, sizes,
# augmentations and online test protocol), with clips of CONSECUTIVE
# frames: in the video pipeline UniformRefFrameSample is replaced by
# ConsecutiveClipSample (random start, the last frame held in videos
# shorter than the clip, optional reversal; docs/consecutive_clip_sample.md)
# and the pseudo-videos' ImageToClip makes as many frames. Derived from the
# joint base (not restated), so both stay the same data but for the clips.
#   train_dataloader: 1 clip per GPU (8 GPUs x 1 = DVIS++'s 8 clips) of
#     decoupled_tracker_dataset;
#   decoupled_tracker_dataset: 5-frame clips, never reversed (stage 2);
#   decoupled_refiner_dataset: 15-frame clips, reversed with p 0.5
#     (stage 3); the refiner leaves pick it with
#     train_dataloader = dict(dataset={{_base_.decoupled_refiner_dataset}})
_base_ = './coco_pseudo_video_ytvis21_joint.py'

# (after `_base_`: mmengine reads a config that starts with an import of a
# module as a new-style, lazy-import config)
import copy  # noqa: E402


def _consecutive_clips(num_frames, reverse_prob):
    """The joint training set with consecutive clips of num_frames
    (a function: mmengine drops it from the config)."""
    dataset = copy.deepcopy(_base_.train_dataloader.dataset)
    for source in dataset.datasets:
        pipeline = source.pipeline
        for i, transform in enumerate(pipeline):
            if transform.type == 'UniformRefFrameSample':
                pipeline[i] = dict(
                    type='ConsecutiveClipSample',
                    num_frames=num_frames,
                    reverse_prob=reverse_prob)
            elif transform.type == 'ImageToClip':
                transform.num_frames = num_frames
    return dataset


decoupled_tracker_dataset = _consecutive_clips(5, 0.0)
decoupled_refiner_dataset = _consecutive_clips(15, 0.5)
train_dataloader = dict(batch_size=1, dataset=decoupled_tracker_dataset)
