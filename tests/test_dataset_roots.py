"""Server folders: only below the data roots, symlinks and '..' resolved, one message for every refusal."""

from __future__ import annotations

import pytest

from nnus_core.dataset.roots import NOT_OFFERED, offered_folders, resolve_below_roots
from nnus_core.errors import DatasetError


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "NNUS" / "images").mkdir(parents=True)
    (root / "imports" / "other-session" / "images").mkdir(parents=True)
    (tmp_path / "secret" / "images").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path / "secret")
    return tmp_path, root


def test_a_folder_inside_a_root_resolves(tree):
    _, root = tree
    assert resolve_below_roots(str(root / "NNUS"), [root]) == (root / "NNUS").resolve()
    assert resolve_below_roots("NNUS", [root]) == (root / "NNUS").resolve()


@pytest.mark.parametrize(
    "raw",
    [
        "/etc",
        "/nonexistent",
        "../secret",
        "NNUS/../../secret",
        "link",
        "imports/other-session",
        "",
        "x\x00y",
        "/" * 5000,
    ],
)
def test_every_refusal_reads_the_same(tree, raw):
    tmp, root = tree
    with pytest.raises(DatasetError) as exc:
        resolve_below_roots(raw, [root], exclude=[root / "imports"])
    assert str(exc.value) == NOT_OFFERED  # no path, no hint whether it exists


def test_offered_folders_lists_datasets_but_not_excluded_or_escaping_links(tree):
    _, root = tree
    names = [p.name for p in offered_folders([root], exclude=[root / "imports"])]
    assert names == ["NNUS"]  # 'link' escapes the root; imports are other sessions'
