"""GroupedLossLogProcessor: deep-supervision terms summed in the text log,
every term kept in the scalars."""
from types import SimpleNamespace
from unittest import mock

from mmengine.runner import LogProcessor

from mmvis_pretrain.engine import GroupedLossLogProcessor


def test_groups_layer_terms_in_the_text_only():
    tag = {'lr': 0.001, 'loss': 10.0, 'd0.loss_cls': 1.0,
           'd1.loss_cls': 2.0, 'loss_cls': 3.0, 'd0.loss_dice': 0.5,
           'loss_dice': 0.25, 'loss_track': 4.0}
    text = ('Iter(train) [10/300]  lr: 1.0000e-03  loss: 10.0000  '
            'd0.loss_cls: 1.0000  d1.loss_cls: 2.0000  loss_cls: 3.0000  '
            'd0.loss_dice: 0.5000  loss_dice: 0.2500  loss_track: 4.0000')
    with mock.patch.object(LogProcessor, 'get_log_after_iter',
                           return_value=(dict(tag), text)):
        out_tag, line = GroupedLossLogProcessor().get_log_after_iter(
            SimpleNamespace(), 9, 'train')
    assert out_tag == tag  # scalars untouched
    assert 'd0.' not in line and 'd1.' not in line
    assert 'loss_cls[x3]: 6.0000' in line
    assert 'loss_dice[x2]: 0.7500' in line
    assert 'loss: 10.0000' in line and 'loss_track: 4.0000' in line
    # evaluation lines are mmengine's
    with mock.patch.object(LogProcessor, 'get_log_after_iter',
                           return_value=(dict(tag), text)):
        assert GroupedLossLogProcessor().get_log_after_iter(
            SimpleNamespace(), 0, 'val')[1] == text
