"""Browsing logic: filters, paging, neighbours, thumbnails, overlays, the zoomed view and the click lookup."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nnus_core.browse import (
    BrowseFilter,
    box_rows,
    filter_samples,
    gt_overlays,
    model_overlays,
    neighbours,
    organ_at,
    page_of,
    paginate,
    render_view,
    thumbnail_jpeg,
    zoom_window,
)
from nnus_core.dataset.model import Annotation, Sample
from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.render import Overlay
from tests.fixtures import write_image


def sample(stem: str, organs: list[int], subject: str = "S1", split: str = "train", path: Path | None = None):
    anns = tuple(Annotation(o, BoxPx(10 * o, 10, 10 * o + 50, 60)) for o in organs)
    return Sample(stem, path or Path(f"/x/{stem}.jpg"), 494, 447, anns, subject, split)


SAMPLES = (
    sample("0001", [1, 2, 6, 7], "S1", "train"),
    sample("0002", [1, 2, 3], "S1", "train"),
    sample("0003", [0, 1], "S2", "val"),
    sample("0104", [], "S3", "test"),
    sample("0105", [1, 2, 3, 4, 5, 6, 7], "S3", "test"),
)


def stems(flt: BrowseFilter) -> list[str]:
    return [s.stem for s in filter_samples(SAMPLES, flt)]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (BrowseFilter(), ["0001", "0002", "0003", "0104", "0105"]),
        (BrowseFilter(present=frozenset({3})), ["0002", "0105"]),
        (BrowseFilter(present=frozenset({1, 2})), ["0001", "0002", "0105"]),
        (BrowseFilter(absent=frozenset({1})), ["0104"]),
        (BrowseFilter(present=frozenset({2}), absent=frozenset({3})), ["0001"]),
        (BrowseFilter(subjects=frozenset({"S3"})), ["0104", "0105"]),
        (BrowseFilter(splits=frozenset({"val", "test"})), ["0003", "0104", "0105"]),
        (BrowseFilter(min_organs=3, max_organs=4), ["0001", "0002"]),
        (BrowseFilter(max_organs=0), ["0104"]),
        (BrowseFilter(text="010"), ["0104", "0105"]),
        (BrowseFilter(text=" 0003.JPG "), ["0003"]),
        (BrowseFilter(present=frozenset({3}), splits=frozenset({"train"})), ["0002"]),
        (BrowseFilter(present=frozenset({0}), absent=frozenset({0})), []),
    ],
)
def test_filters(flt, expected):
    assert stems(flt) == expected


def test_filter_activity():
    assert not BrowseFilter().active
    assert BrowseFilter(text="1").active


@pytest.mark.parametrize(
    ("n", "size", "page", "expected"),
    [
        (790, 24, 0, (0, 33, 0, 24)),
        (790, 24, 32, (32, 33, 768, 790)),
        (790, 24, 99, (32, 33, 768, 790)),  # clamped to the last page
        (790, 24, -3, (0, 33, 0, 24)),
        (0, 24, 5, (0, 1, 0, 0)),  # an empty list still has one (empty) page
        (48, 24, 1, (1, 2, 24, 48)),
    ],
)
def test_paginate(n, size, page, expected):
    sl = paginate(n, size, page)
    assert (sl.page, sl.n_pages, sl.start, sl.stop) == expected


def test_paginate_rejects_zero_page_size():
    with pytest.raises(ValueError, match="page_size"):
        paginate(10, 0, 0)


def test_page_of():
    assert [page_of(i, 24) for i in (0, 23, 24, 789)] == [0, 0, 1, 32]


def test_neighbours():
    s = ["a", "b", "c"]
    assert neighbours(s, "a") == (None, "b")
    assert neighbours(s, "b") == ("a", "c")
    assert neighbours(s, "c") == ("b", None)
    assert neighbours(s, "zz") == (None, None)


def test_thumbnail_is_a_small_jpeg_with_coloured_boxes(tmp_path):
    path = tmp_path / "0001.jpg"
    write_image(path)
    anns = [Annotation(2, BoxPx(100, 100, 300, 300))]
    data = thumbnail_jpeg(path, anns, width_px=240)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert data[:2] == b"\xff\xd8" and img.shape[1] == 240 and img.shape[0] == round(447 * 240 / 494)
    scale = 240 / 494
    b, g, r = img[round(200 * scale), round(100 * scale)].astype(int)  # a pixel on the box's left edge
    cr, cg, cb = ORGANS[2].rgb
    assert abs(r - cr) + abs(g - cg) + abs(b - cb) < 120
    plain = thumbnail_jpeg(path, (), width_px=240)
    assert plain != data


def test_thumbnail_of_unreadable_file_raises(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError):
        thumbnail_jpeg(bad)


def test_overlays_filter_by_organ_and_confidence():
    anns = SAMPLES[0].annotations
    assert [o.label for o in gt_overlays(anns, organs=[1, 7])] == ["THY", "SCM"]
    assert {o.style for o in gt_overlays(anns)} == {"solid"}
    dets = [Detection(1, 0.9, BoxPx(0, 0, 10, 10)), Detection(2, 0.3, BoxPx(0, 0, 10, 10))]
    assert [o.label for o in model_overlays(dets, min_confidence=0.5)] == ["THY 0.90"]
    assert [o.label for o in model_overlays(dets, organs=[2])] == ["CCA 0.30"]
    assert {o.style for o in model_overlays(dets)} == {"dashed"}


def test_box_rows_list_ground_truth_then_model():
    rows = box_rows(SAMPLES[2].annotations, [Detection(0, 0.8123, BoxPx(1.4, 2.6, 50, 40))])
    assert [r["source"] for r in rows] == ["ground truth", "ground truth", "model"]
    assert rows[-1] == {
        "source": "model",
        "organ": "Trachea",
        "organ_id": 0,
        "confidence": 0.812,
        "x1": 1,
        "y1": 3,
        "width_px": 49,
        "height_px": 37,
    }


def test_organ_at_prefers_the_smallest_box():
    boxes = [(1, BoxPx(0, 0, 300, 300)), (2, BoxPx(100, 100, 150, 150))]
    assert organ_at(120, 120, boxes) == 2
    assert organ_at(10, 10, boxes) == 1
    assert organ_at(400, 10, boxes) is None


@pytest.mark.parametrize(
    ("zoom", "center", "expected"),
    [
        (1.0, (0.5, 0.5), (0, 0, 494, 447)),
        (2.0, (0.5, 0.5), (123.5, 111.75, 370.5, 335.25)),
        (2.0, (0.0, 0.0), (0, 0, 247, 223.5)),  # shifted to stay inside, never shrunk
        (2.0, (1.0, 1.0), (247, 223.5, 494, 447)),
    ],
)
def test_zoom_window(zoom, center, expected):
    assert zoom_window(494, 447, zoom, *center).as_tuple() == pytest.approx(expected)


def test_zoom_below_one_is_refused():
    with pytest.raises(ValueError, match="zoom"):
        zoom_window(494, 447, 0.5)


def test_render_view_maps_clicks_back_to_the_source():
    img = np.zeros((447, 494, 3), np.uint8)
    view, tr = render_view(img, [], out_width_px=988, zoom=2.0, center=(0.0, 0.0))
    assert view.shape[1] == 988
    assert tr.to_source(0, 0) == (0, 0)
    x, y = tr.to_source(988, 400)
    assert x == pytest.approx(247, abs=0.5) and y == pytest.approx(100, abs=0.5)


def test_render_view_draws_boxes_in_view_coordinates_and_keeps_colours_under_brightness():
    img = np.full((447, 494, 3), 60, np.uint8)
    ov = [Overlay(2, BoxPx(100, 100, 200, 200))]
    view, tr = render_view(img, ov, out_width_px=988, brightness=100, contrast=2.0, show_labels=False)
    assert tr.scale == 2.0
    # Background brightened: (60-128)*2+128+100 = 92; the box edge keeps the organ colour.
    assert tuple(view[10, 10]) == (92, 92, 92)
    assert tuple(view[300, 200]) == ORGANS[2].rgb
    # A box outside the zoomed window is not drawn at all.
    view2, _ = render_view(img, [Overlay(2, BoxPx(400, 380, 480, 440))], zoom=2.0, center=(0, 0))
    assert (view2 == view2[0, 0]).all()


def test_study_overlays_give_one_tag_per_organ_box_when_truth_and_model_agree():
    """GT "STR" and model "STR 0.88" on the same box become one tag; the model's other box keeps its own."""
    from nnus_core.browse import first_image, study_overlays

    straps = Annotation(6, BoxPx(100, 40, 300, 80))
    thyroid = Annotation(1, BoxPx(120, 90, 260, 200))
    dets = [
        Detection(6, 0.88, BoxPx(104, 42, 298, 84)),  # the labelled straps, found
        Detection(6, 0.51, BoxPx(320, 40, 420, 80)),  # a second straps box where none is labelled
        Detection(2, 0.70, BoxPx(122, 92, 258, 198)),
    ]  # another organ on the thyroid: not merged
    out = study_overlays([straps, thyroid], dets)
    tags = [o.label for o in out if o.label]
    assert tags == ["STR + model 0.88", "THY", "STR 0.51", "CCA 0.70"]
    assert [o.style for o in out] == ["solid", "solid", "dashed", "dashed", "dashed"]
    assert study_overlays([straps], []) == gt_overlays([straps])
    assert first_image(SAMPLES) == max(SAMPLES, key=lambda s: len(s.organ_ids))
    assert first_image(()) is None
