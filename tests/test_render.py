"""Overlay drawing: organ colours, labels that never cover each other, labels kept in the image."""

from __future__ import annotations

import numpy as np

from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.render import Overlay, adjust, draw_overlays, place_label


def test_box_is_drawn_in_the_organ_colour():
    img = np.zeros((100, 120, 3), np.uint8)
    out = draw_overlays(img, [Overlay(2, BoxPx(20, 30, 80, 90))], show_labels=False)
    assert tuple(out[60, 20]) == ORGANS[2].rgb
    assert img.sum() == 0  # the input is not modified


def test_labels_of_touching_boxes_do_not_overlap():
    taken = []
    a = place_label((100, 100, 160, 160), (60, 14), (494, 447), taken)
    taken.append(a)
    b = place_label((100, 102, 150, 150), (60, 14), (494, 447), taken)  # almost the same corner
    assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_label_stays_inside_the_image_at_the_edges():
    for box in [(0, 0, 30, 30), (480, 430, 494, 447), (-5, 200, 10, 220)]:
        r = place_label(box, (70, 14), (494, 447), [])
        assert 0 <= r[0] and r[2] <= 494 and 0 <= r[1] and r[3] <= 447


def test_adjust_brightness_and_contrast():
    img = np.full((2, 2, 3), 100, np.uint8)
    assert adjust(img) is img
    assert adjust(img, brightness=20)[0, 0, 0] == 120
    assert adjust(img, contrast=2.0)[0, 0, 0] == 72  # (100 - 128) * 2 + 128


def test_crowded_tags_slide_along_the_box_instead_of_covering_each_other():
    """Ten tags on boxes sharing a corner (a crowded detail view): none covers another."""
    taken = []
    for i in range(10):  # more tags than the eight corner positions
        r = place_label((100, 100 + i, 220, 260), (60, 14), (494, 447), taken)
        taken.append(r)
    for i, a in enumerate(taken):
        for b in taken[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
