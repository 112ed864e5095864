"""The learnable dataset of the detector tests (tests/fixtures.py) loads with a subject-wise split."""

from __future__ import annotations

from tests.fixtures import make_learnable_folder


def test_made_folder_loads_with_a_subject_wise_split(tmp_path):
    from nnus_core.dataset import load_dataset

    ds = load_dataset(make_learnable_folder(tmp_path / "d", all_organs=True))
    assert ds.report.ok and len(ds) == 16 and ds.n_boxes == 16 * 8
    assert {s: len(ds.split(s)) for s in ("train", "val", "test")} == {"train": 8, "val": 4, "test": 4}
