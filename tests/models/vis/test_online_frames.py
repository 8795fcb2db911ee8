"""online_frames: the checked frame loop of the online VIS protocol."""
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample

from mmvis_pretrain.models.vis.online_frames import online_frames


def _sample(num_frames):
    return TrackDataSample(video_data_samples=[
        DetDataSample(metainfo=dict(frame_id=t)) for t in range(num_frames)
    ])


def test_yields_frames_in_order():
    inputs = torch.arange(3 * 2 * 4 * 4, dtype=torch.float).view(1, 3, 2, 4, 4)
    out = list(online_frames(inputs, [_sample(3)], 'M'))
    assert [f.frame_id for _, f in out] == [0, 1, 2]
    for t, (img, _) in enumerate(out):
        assert img.shape == (1, 2, 4, 4) and img.is_contiguous()
        assert torch.equal(img[0], inputs[0, t])


def test_errors_name_the_model():
    with pytest.raises(ValueError, match=r'M expects \(N, T, C, H, W\)'):
        list(online_frames(torch.zeros(1, 2, 4, 4), [_sample(1)], 'M'))
    with pytest.raises(ValueError, match='M predicts one video at a time'):
        list(online_frames(torch.zeros(2, 1, 2, 4, 4),
                           [_sample(1), _sample(1)], 'M'))
    with pytest.raises(ValueError, match='2 frame samples for 3 frames'):
        list(online_frames(torch.zeros(1, 3, 2, 4, 4), [_sample(2)], 'M'))
