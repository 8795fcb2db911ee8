"""Tests of ``mmvis_pretrain.visualization.clip_renderer``.

Frames are flat grey so that every drawn pixel is detectable; masks are big
rectangles whose lower-right part is far from the box edges and the label
(drawn at the top-left corner of each box).
"""
import itertools
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.structures import InstanceData
from PIL import Image

from mmvis_pretrain.registry import VISUALIZERS
from mmvis_pretrain.utils import register_all_modules
from mmvis_pretrain.visualization import (ClipLocalVisualizer,
                                          inputs_to_frames, instance_color,
                                          make_strip, render_sample,
                                          write_gif, write_mp4,
                                          write_rendered)
from mmvis_pretrain.visualization.drawing_utils import clip_boxes

H, W, GREY = 60, 80, 100
META = dict(classes=('person', 'dog'))
# (x1, y1, x2, y2) of the instances with id 7 and 9 in the frames.
BOXES_ID7 = [(4, 4, 40, 44), (10, 8, 46, 48), (16, 12, 52, 52)]
BOX_ID9 = (44, 2, 78, 30)


def _rect_mask(box):
    """A boolean (H, W) mask filling ``box``."""
    mask = np.zeros((H, W), dtype=bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return mask


def _probe(box):
    """(y, x) of a pixel deep inside ``box``, away from edges and label."""
    x1, y1, x2, y2 = box
    return y2 - 6, x2 - 6


def _frame_sample(boxes, ids=None, polygons=False, frame_id=0):
    """A DetDataSample with rectangular instances."""
    masks = np.stack([_rect_mask(b) for b in boxes]).astype(np.uint8)
    instances = InstanceData()
    instances.bboxes = HorizontalBoxes(torch.tensor(boxes, dtype=torch.float))
    instances.labels = torch.arange(len(boxes)) % 2
    if polygons:
        instances.masks = PolygonMasks(
            [[np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=float)]
             for x1, y1, x2, y2 in boxes], H, W)
    else:
        instances.masks = BitmapMasks(masks, H, W)
    if ids is not None:
        instances.instances_ids = torch.tensor(ids)
    sample = DetDataSample(
        metainfo=dict(img_path=f'data/vid_a/{frame_id:05d}.jpg',
                      frame_id=frame_id, img_shape=(H, W)))
    sample.gt_instances = instances
    return sample


def _clip_sample(num_frames=3):
    """Packed clip: id 7 moves, id 9 is visible in frame 0 only."""
    frames = []
    for t in range(num_frames):
        if t == 0:
            frames.append(_frame_sample([BOXES_ID7[0], BOX_ID9], [7, 9]))
        else:
            frames.append(_frame_sample([BOXES_ID7[t]], [7], frame_id=t))
    track = TrackDataSample()
    track.video_data_samples = frames
    inputs = torch.full((num_frames, 3, H, W), GREY, dtype=torch.uint8)
    return dict(inputs=inputs, data_samples=track)


def _image_sample(polygons=False):
    """Packed image with two instances and no ids."""
    sample = _frame_sample([BOXES_ID7[0], BOX_ID9], polygons=polygons)
    sample.set_metainfo(dict(img_path='data/images/cat_001.jpg'))
    inputs = torch.full((3, H, W), GREY, dtype=torch.uint8)
    return dict(inputs=inputs, data_samples=sample)


@pytest.fixture(scope='module')
def visualizer():
    """One visualizer for the module (creating figures costs time)."""
    return ClipLocalVisualizer(name='test_clip_renderer')


def _blend(color, alpha=0.5):
    """Expected pixel of a mask of ``color`` blended over grey."""
    return np.array([(1 - alpha) * GREY + alpha * c for c in color])


def test_instance_color_deterministic_and_distinct():
    colors = [instance_color(i) for i in range(64)]
    assert colors == [instance_color(i) for i in range(64)]
    assert all(0 <= c <= 255 for color in colors for c in color)
    assert len(set(colors)) == len(colors)
    # neighbouring ids are clearly apart
    for a, b in itertools.pairwise(colors):
        assert np.abs(np.subtract(a, b)).max() > 40


def test_inputs_to_frames_bgr_to_rgb():
    image = torch.zeros((3, 4, 5), dtype=torch.uint8)
    image[0] = 255  # blue channel in BGR
    (frame, ) = inputs_to_frames(image)
    assert frame.shape == (4, 5, 3)
    assert (frame[..., 2] == 255).all() and (frame[..., :2] == 0).all()
    clip = inputs_to_frames(torch.zeros((3, 3, 4, 5), dtype=torch.uint8))
    assert len(clip) == 3


def test_clip_colors_follow_instance_ids(visualizer):
    state = np.random.get_state()[1].copy()
    rendered = render_sample(_clip_sample(), visualizer, META)
    # unlike mmdet's random_color, the numpy RNG is left alone
    assert (np.random.get_state()[1] == state).all()
    assert rendered.is_clip and rendered.name == 'vid_a'
    assert rendered.frame_ids == [0, 1, 2]
    frames = rendered.frames
    assert len(frames) == 3 and all(f.shape == (H, W, 3) for f in frames)

    id7 = [frames[t][_probe(BOXES_ID7[t])].astype(int) for t in range(3)]
    id9 = frames[0][_probe(BOX_ID9)].astype(int)
    # inside the masks: coloured, with the colour of the id in all frames
    for pixel in id7 + [id9]:
        assert np.abs(pixel - GREY).max() > 20
    assert all((p == id7[0]).all() for p in id7)
    np.testing.assert_allclose(id7[0], _blend(instance_color(7)), atol=2)
    np.testing.assert_allclose(id9, _blend(instance_color(9)), atol=2)
    assert np.abs(id7[0] - id9).max() > 20
    # outside every mask (bottom-right corner): untouched
    for frame in frames:
        assert (frame[55:, 70:] == GREY).all()
    # id 9 left after frame 0: its region is grey again
    y, x = _probe(BOX_ID9)
    assert (frames[1][y, x] == GREY).all()


@pytest.mark.parametrize('polygons', [False, True])
def test_image_colored_by_index(visualizer, polygons):
    rendered = render_sample(_image_sample(polygons), visualizer, META)
    assert not rendered.is_clip and rendered.name == 'cat_001'
    (frame, ) = rendered.frames
    np.testing.assert_allclose(
        frame[_probe(BOXES_ID7[0])], _blend(instance_color(0)), atol=2)
    np.testing.assert_allclose(
        frame[_probe(BOX_ID9)], _blend(instance_color(1)), atol=2)
    assert (frame[55:, 70:] == GREY).all()


def test_labels_and_boxes_are_drawn(visualizer):
    plain = ClipLocalVisualizer(
        name='test_clip_renderer_plain', draw_bbox=False, draw_text=False,
        draw_contour=False)
    sample = _clip_sample(1)
    (bare, ) = render_sample(sample, plain, META).frames
    (full, ) = render_sample(sample, visualizer, META).frames
    assert visualizer.instance_texts(
        sample['data_samples'][0].gt_instances, [7, 9],
        True) == ['person #7', 'dog #9']
    # the label sits at the top-left corner of the box of id 7
    x1, y1 = BOXES_ID7[0][:2]
    assert (bare[y1 + 2:y1 + 8, x1 + 2:x1 + 14] !=
            full[y1 + 2:y1 + 8, x1 + 2:x1 + 14]).any()
    # without boxes, labels and contours only the masks are blended
    expected = np.full((H, W, 3), GREY, dtype=float)
    mask = _rect_mask(BOXES_ID7[0])
    expected[mask] = _blend(instance_color(7))
    mask9 = _rect_mask(BOX_ID9) & ~mask
    expected[mask9] = _blend(instance_color(9))
    np.testing.assert_allclose(bare, expected, atol=2)


def test_registered_and_draws_predictions():
    register_all_modules()
    vis = VISUALIZERS.build(
        dict(type='ClipLocalVisualizer', name='test_clip_renderer_reg'))
    assert isinstance(vis, ClipLocalVisualizer)
    # tracker output style: ``instances_id`` and boolean tensor masks
    pred = InstanceData(
        bboxes=torch.tensor([BOXES_ID7[0]], dtype=torch.float),
        labels=torch.tensor([0]), scores=torch.tensor([0.9]),
        instances_id=torch.tensor([7]),
        masks=torch.from_numpy(_rect_mask(BOXES_ID7[0]))[None])
    image = np.full((H, W, 3), GREY, dtype=np.uint8)
    drawn = vis._draw_instances(image, pred)
    np.testing.assert_allclose(
        drawn[_probe(BOXES_ID7[0])], _blend(instance_color(7)), atol=2)


def test_writers(tmp_path, visualizer):
    rendered = render_sample(_clip_sample(), visualizer, META)
    # identical frames must not be merged by Pillow
    same = [np.full((H, W, 3), GREY, dtype=np.uint8)] * 3
    gif = write_gif(same, tmp_path / 'same.gif', fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 3
        assert image.info['duration'] == 200
    # odd sizes are padded to even for mp4v
    odd = [np.full((47, 63, 3), 50 * t, dtype=np.uint8) for t in range(4)]
    cap = cv2.VideoCapture(str(write_mp4(odd, tmp_path / 'odd.mp4')))
    assert cap.isOpened()
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH),
            cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    cap.release()
    strip = make_strip(rendered.frames, gap=4)
    assert strip.shape == (H, 3 * W + 8, 3)
    files = write_rendered(rendered, tmp_path / 'clip', ['png', 'gif', 'mp4'])
    names = sorted(p.name for p in files)
    assert names == ['clip.gif', 'clip.mp4', 'clip_frame00.png',
                     'clip_frame01.png', 'clip_frame02.png', 'clip_strip.png']
    png = cv2.imread(str(tmp_path / 'clip_frame01.png'))
    np.testing.assert_array_equal(png[..., ::-1], rendered.frames[1])
    with pytest.raises(ValueError):
        write_rendered(rendered, tmp_path / 'x', ['avi'])
    image = render_sample(_image_sample(), visualizer, META)
    files = write_rendered(image, tmp_path / 'img', ['gif', 'mp4'])
    assert [p.name for p in files] == ['img.png']


@pytest.mark.parametrize('boxes', [
    [(40, 30, W, H)],  # touches the right and bottom border
    [(W - 1, H - 1, W, H), (-5, -5, W + 10, H + 10)],  # corner, overflow
])
def test_border_boxes_draw_without_warnings(visualizer, boxes):
    clipped = [(max(x1, 0), max(y1, 0), min(x2, W), min(y2, H))
               for x1, y1, x2, y2 in boxes]
    sample = _frame_sample(clipped, ids=list(range(len(boxes))))
    sample.gt_instances.bboxes = HorizontalBoxes(
        torch.tensor(boxes, dtype=torch.float))
    inputs = torch.full((3, H, W), GREY, dtype=torch.uint8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        rendered = render_sample(dict(inputs=inputs, data_samples=sample),
                                 visualizer, META)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if 'out of bounds' in m], messages
    (frame, ) = rendered.frames
    if len(boxes) == 1:
        # the bottom edge is drawn on the last row, inside the image
        x1 = boxes[0][0]
        assert (frame[H - 1, x1 + 8:W - 8] != frame[H - 6, x1 + 8:W - 8]
                ).any()


def test_clip_boxes_keeps_coordinates_below_the_size():
    boxes = np.array([[-3, -1, W, H], [10, 5, 30, 20]], dtype=np.float32)
    clip_boxes(boxes, H, W)
    np.testing.assert_array_equal(
        boxes, [[0, 0, W - 1, H - 1], [10, 5, 30, 20]])


def test_masks_to_array_decodes_rle_lists():
    """An offline model's predictions carry RLE masks (DecoupledVIS):
    the renderer decodes them instead of failing inside numpy."""
    import numpy as np
    from mmvis_pretrain.structures import encode_rle
    from mmvis_pretrain.visualization.drawing_utils import masks_to_array
    masks = np.zeros((2, 6, 8), dtype=bool)
    masks[0, 1:3, 2:5] = True
    masks[1, 4:, :2] = True
    out = masks_to_array(encode_rle(masks), 6, 8)
    assert out.dtype == bool and np.array_equal(out, masks)
    assert masks_to_array([], 6, 8).shape == (0, 6, 8)


def test_labels_stay_inside_the_frame_and_apart():
    """Issue 14: at 184x115 labels near the right / bottom edge are shifted
    inside, labels of overlapping boxes do not overlap, one font size per
    frame from the frame size (7..24)."""
    import numpy as np
    from mmvis_pretrain.visualization.drawing_utils import (label_font_size,
                                                            label_size,
                                                            place_labels)
    H, W = 115, 184
    size = label_font_size(H, W)
    assert size == 7 and label_font_size(800, 1280) == 24 \
        and label_font_size(360, 640) == 12
    texts = ['person #1 0.91', 'person #2 0.88', 'horse #3 0.75']
    sizes = [label_size(t, size) for t in texts]
    anchors = np.array([[10, 10], [12, 11], [170, 110]], float)
    pos = place_labels(anchors, sizes, H, W)
    rects = [(x, y, w, h) for (x, y), (w, h) in zip(pos, sizes)]
    for x, y, w, h in rects:
        assert 0 <= x and x + w <= W and 0 <= y and y + h <= H
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            xi, yi, wi, hi = rects[i]
            xj, yj, wj, hj = rects[j]
            assert (xi + wi <= xj or xj + wj <= xi or yi + hi <= yj
                    or yj + hj <= yi), (i, j)


def test_drawing_with_labels_at_the_edges_does_not_warn():
    """The whole drawing at a small frame: no mmengine out-of-bounds
    warning, an image of the frame's size."""
    import warnings

    import numpy as np
    import torch
    from mmengine.structures import InstanceData

    from mmvis_pretrain.visualization import ClipLocalVisualizer
    vis = ClipLocalVisualizer(name='edge_labels_test')
    vis.dataset_meta = dict(classes=('person', 'horse'))
    masks = torch.zeros(3, 115, 184, dtype=torch.bool)
    masks[0, 5:40, 5:40] = masks[1, 6:42, 6:44] = True
    masks[2, 90:115, 160:184] = True
    inst = InstanceData(instances_id=torch.tensor([1, 2, 3]),
                        labels=torch.tensor([0, 0, 1]),
                        scores=torch.tensor([0.9, 0.8, 0.7]), masks=masks)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = vis._draw_instances(np.zeros((115, 184, 3), np.uint8), inst)
    assert out.shape == (115, 184, 3)
