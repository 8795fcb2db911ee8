"""mmvis_pretrain.visualization.raster: exact blending, only drawn pixels
change, boxes and labels inside the frame; label placement."""
import numpy as np

from mmvis_pretrain.visualization.drawing_utils import (label_size,
                                                        place_labels)
from mmvis_pretrain.visualization.raster import (blend_masks, draw_boxes,
                                                 draw_label)

H, W, GREY = 40, 60, 100


def _grey():
    return np.full((H, W, 3), GREY, np.uint8)


def test_blend_masks_exact_and_local():
    image = _grey()
    masks = np.zeros((2, H, W), bool)
    masks[0, 5:20, 5:30] = True
    masks[1, 10:30, 20:50] = True  # overlaps mask 0, drawn on top
    blend_masks(image, masks, [(255, 0, 0), (0, 0, 255)], alpha=0.5)
    assert image[7, 7].tolist() == [178, 50, 50]  # rint(0.5*100 + 127.5)
    assert image[25, 40].tolist() == [50, 50, 178]
    # overlap: blended twice, the later mask on top
    assert image[15, 25].tolist() == [89, 25, 152]  # rint: half to even
    assert (image[~masks.any(0)] == GREY).all()  # outside: untouched


def test_contours_only_on_the_border():
    image = _grey()
    masks = np.zeros((1, H, W), bool)
    masks[0, 10:30, 10:40] = True
    blend_masks(image, masks, [(0, 0, 0)], alpha=0.5, contour_alpha=1.0)
    assert (image[10, 10:40] == 255).all() and (image[29, 10:40] == 255).all()
    assert (image[15:25, 15:35] == 50).all()  # inside: only the fill
    assert (image[~masks[0]] == GREY).all()


def test_boxes_inclusive_and_clipped():
    image = _grey()
    draw_boxes(image, np.array([[30, 20, W - 1, H - 1], [-5, -5, 500, 3]]),
               [(0, 255, 0), (255, 0, 0)], line_width=1, alpha=1.0)
    assert image[H - 1, 45].tolist() == [0, 255, 0]  # the last row
    assert image[30, W - 1].tolist() == [0, 255, 0]  # the last column
    assert image[30, 40].tolist() == [GREY] * 3  # inside the box
    assert image[0, 30].tolist() == [255, 0, 0]  # clipped box, top edge


def test_label_box_is_label_size_and_text_is_drawn():
    image = _grey()
    w, h = label_size('dog #3', 9)
    draw_label(image, 'dog #3', 4, 6, 9, (0, 200, 0), alpha=1.0)
    changed = (image != GREY).any(2)
    rows, cols = np.nonzero(changed)
    assert (rows.min(), cols.min()) == (6, 4)
    assert (rows.max() + 1 - 6, cols.max() + 1 - 4) == (h, w)
    box = image[6:6 + int(h), 4:4 + int(w)]
    assert (box[..., 1] < 100).sum() > 10  # dark text on the green box
    # a label at the edge is clipped to the frame, no error
    draw_label(image, 'horse #12 0.50', W - 5, H - 3, 9, (0, 0, 200))


def test_place_labels_finds_the_free_gap_of_a_crowded_column():
    """Three labels fill the column below an anchor; the fourth goes to the
    free place above them (a finer search than whole label heights)."""
    sizes = [(30, 10)] * 4
    anchors = np.array([[5, 12], [5, 22], [5, 32], [5, 22]], float)
    pos = place_labels(anchors, sizes, 42, 60)
    assert pos[:3, 1].tolist() == [12, 22, 32]
    # the gap 0..12 above the first (heights on a quarter-label grid)
    assert pos[3].tolist() == [5, 0]
