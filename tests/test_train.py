"""Training CLI: YOLO view of the split, a one-epoch run to a loadable model with card and evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("YOLO_OFFLINE", "1")

from nnus_core.dataset import load_dataset  # noqa: E402
from nnus_core.detector import Detector, read_model_card  # noqa: E402
from nnus_core.detector.fast import CACHE_ENV  # noqa: E402
from nnus_core.detector.training import RECIPES, train, write_yolo_view  # noqa: E402
from nnus_core.organs import ORGAN_NAMES  # noqa: E402
from tests.fixtures import make_learnable_folder as make_nnus_folder

ROOT = Path(__file__).resolve().parents[1]
# One worker runs this module (`--dist loadgroup`): the one-epoch training fixture is built once,
# not once per worker.
pytestmark = pytest.mark.xdist_group("train")


def _phantom_folder(root: Path, n: int = 16) -> Path:
    """A 16-image phantom folder regrouped into 4 volunteers so that it has a train/val/test split."""
    try:
        from nnus_core.phantom import generate_dataset
    except ImportError:
        return make_nnus_folder(root, n)
    folder = generate_dataset(root, n=n, seed=7, jobs=1)
    rows = ["image,subject"] + [f"{i + 1:04d}.jpg,P{i * 4 // n + 1}" for i in range(n)]
    (folder / "subjects.csv").write_text("\n".join(rows) + "\n")
    return folder


def _tiny_train(data, base, **kw):
    """One epoch at 128 px, batch 8, on the CPU, into BASE/models/tiny (the same run each call)."""
    return train(
        data,
        "cpu",
        epochs=1,
        imgsz=128,
        batch=8,
        device="cpu",
        workers=0,
        name="tiny",
        out_dir=base / "models",
        runs_dir=base / "runs",
        verbose=False,
        **kw,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch at 128 px on 16 phantom images (about 15-30 s on 2 cores)."""
    base = tmp_path_factory.mktemp("train")
    data = _phantom_folder(base / "ph16")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(base / "cache"))
        res = _tiny_train(data, base, command="test-train", emit=lines.append, extra={"cache": False})
        yield res, data, base, lines


def test_one_epoch_run_ships_a_loadable_model(trained):
    res, _, base, lines = trained
    assert res.weights == base / "models" / "tiny" / "best.pt"
    assert res.weights.stat().st_size < 15e6
    det = Detector.load(res.weights, backend="torch", threads=1)
    assert det.classes == ORGAN_NAMES and det.imgsz == 128
    assert det.model_card is not None and det.model_card.name == "tiny"
    assert any(line.startswith("[nnus-train] epoch 1/1") for line in lines)


def test_model_card_records_data_split_recipe_and_metrics(trained):
    res, data, _, _ = trained
    card = read_model_card(res.model_dir)
    ds = load_dataset(data)
    assert card.data["synthetic"] == ds.synthetic and card.generator_version == ds.generator_version
    assert card.data["splits"]["test"]["subjects"] == sorted({s.subject for s in ds.split("test")})
    assert len(card.data["splits"]["test"]["subjects"]) == 1
    assert card.data["splits"]["train"]["n_images"] == 8
    assert card.recipe["name"] == "cpu" and card.recipe["epochs"] == 1 and card.recipe["imgsz"] == 128
    assert card.command == "test-train"
    assert card.class_names == ORGAN_NAMES
    assert set(card.metrics["overall"]) >= {"map50", "map50_95", "precision", "recall"}
    assert len(card.metrics["per_class"]) == 8
    assert {"ultralytics", "torch", "python"} <= set(card.versions)
    assert card.weights["sha256"] == Detector.load(res.weights, backend="torch", threads=1).weights_sha256
    assert not card.is_stale(card.generator_version)
    if card.synthetic:
        assert card.is_stale("0.0.1-other")
    md = (res.model_dir / "MODEL_CARD.md").read_text()
    assert "## Data" in md and "test-train" in md and "Sternocleidomastoid" in md
    ev = json.loads((res.model_dir / "eval_test.json").read_text())
    assert ev["split"] == "test" and ev["data"]["n_images"] == 4 and ev["schema_version"] == 2


def test_resume_of_a_finished_run_does_not_train_again(trained):
    res, data, base, _ = trained
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(base / "cache"))
        again = _tiny_train(data, base, resume=True, command="x", emit=lines.append)
    assert any("already finished" in line for line in lines)
    assert not any("epoch 1/1" in line for line in lines)
    assert again.weights.read_bytes() == res.weights.read_bytes()


class _Interrupted(BaseException):
    """Stands for a killed process: raised from the progress line once epoch 1 has saved last.pt."""


def test_an_interrupted_run_resumes_from_its_last_epoch(trained, tmp_path):
    _, data, base, _ = trained

    def kill_after_epoch_1(line: str) -> None:
        if line.startswith("[nnus-train] epoch 1/2"):
            raise _Interrupted

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(base / "cache"))
        kw = {"epochs": 2, "name": "cut", "command": "x", "extra": {"cache": False}}
        run = {"data": data, "recipe": "cpu", "imgsz": 128, "batch": 8, "device": "cpu", "workers": 0}
        where = {"out_dir": tmp_path / "models", "runs_dir": tmp_path / "runs", "verbose": False}
        with pytest.raises(_Interrupted):
            train(**run, **where, **kw, emit=kill_after_epoch_1)
        last = tmp_path / "runs" / "cut" / "train" / "weights" / "last.pt"
        assert last.is_file() and not (tmp_path / "models" / "cut").exists()
        lines: list[str] = []
        res = train(**run, **where, **kw, resume=True, emit=lines.append)
    assert any(line.startswith(f"[nnus-train] resuming {last}") for line in lines)
    epochs = [line for line in lines if line.startswith("[nnus-train] epoch ")]
    assert epochs and all(line.startswith("[nnus-train] epoch 2/2") for line in epochs), epochs
    card = read_model_card(res.model_dir)
    assert card.training["epochs_run"] == 2 and res.weights.is_file()


def test_card_of_a_fine_tuned_model_names_the_weights_it_started_from(trained, tmp_path):
    from dataclasses import replace

    from nnus_core.detector.training import _recipe_record

    res, *_ = trained
    scratch = _recipe_record(RECIPES["cpu"])
    assert "init_weights_sha256" not in scratch
    tuned = _recipe_record(replace(RECIPES["cpu"], model=str(res.weights)))
    assert tuned["model"] == str(res.weights)
    assert tuned["init_weights_sha256"] == read_model_card(res.model_dir).weights["sha256"]


def test_yolo_view_uses_canonical_class_ids(tmp_path):
    folder = make_nnus_folder(tmp_path / "d", all_organs=True)
    # The same dataset with classes.txt in another order (and one known misspelling).
    names = list(reversed(ORGAN_NAMES))
    names[names.index("Internal jugular vein")] = "Internal juglar vein"
    (folder / "labels" / "classes.txt").write_text("\n".join(names) + "\n")
    for f in (folder / "labels").glob("0*.txt"):
        rows = [line.split() for line in f.read_text().splitlines() if line.strip()]
        f.write_text("\n".join(" ".join([str(7 - int(r[0])), *r[1:]]) for r in rows) + "\n")
    ds = load_dataset(folder)
    y = write_yolo_view(ds, tmp_path / "view")
    data = yaml.safe_load(y.read_text())
    assert data["names"] == dict(enumerate(ORGAN_NAMES)) and data["nc"] == 8
    sample = ds.split("train")[0]
    label = (tmp_path / "view" / "labels" / "train" / f"{sample.stem}.txt").read_text().split("\n")
    ids = sorted(int(line.split()[0]) for line in label if line)
    assert ids == sorted(a.organ_id for a in sample.annotations) == list(range(8))
    img = tmp_path / "view" / "images" / "train" / sample.image_path.name
    assert img.exists() and img.resolve() == sample.image_path.resolve()
    assert sorted(p.name for p in (tmp_path / "view" / "images").iterdir()) == ["test", "train", "val"]


def test_view_of_a_dataset_without_val_borrows_a_split(tmp_path):
    ds = load_dataset(make_nnus_folder(tmp_path / "d", n_images=6, n_subjects=1))
    data = yaml.safe_load(write_yolo_view(ds, tmp_path / "view").read_text())
    assert data["val"] == "images/train" and data["nnus_fallbacks"] == {"val": "train"}


def test_recipes_are_what_the_docs_say():
    assert RECIPES["paper"].epochs == 100 and RECIPES["paper"].imgsz == 640 and RECIPES["paper"].batch == 32
    assert RECIPES["cpu"].model.endswith(".yaml")


def test_training_and_evaluation_clis_import_no_ui_or_export_packages():
    code = (
        "import sys, nnus_core.detector.cli_train, nnus_core.detector.cli_evaluate, nnus_core.detector.training, "
        "nnus_core.detector.evaluation; "
        "bad = {'streamlit', 'plotly', 'openvino', 'onnxruntime', 'torch', 'ultralytics'} & set(sys.modules); "
        "assert not bad, bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    helptext = subprocess.run(
        [sys.executable, "-m", "nnus_core.detector", "train", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert helptext.returncode == 0 and "--resume" in helptext.stdout and "--device" in helptext.stdout


def _evaluate_cli(base: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `python -m nnus_core.detector evaluate ARGS` with the tiny model's export cache."""
    return subprocess.run(
        [sys.executable, "-m", "nnus_core.detector", "evaluate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, CACHE_ENV: str(base / "cache")},
        timeout=300,
    )


def test_evaluate_cli_writes_the_report(trained, tmp_path):
    res, data, base, _ = trained
    out_json = tmp_path / "eval.json"
    out = _evaluate_cli(
        base, "--model", str(res.model_dir), "--data", str(data), "--split", "val", "--out", str(out_json)
    )
    assert out.returncode == 0, out.stderr
    assert "published: real NNUS" in out.stdout and "mAP@0.5" in out.stdout
    report = json.loads(out_json.read_text())
    assert report["split"] == "val" and len(report["per_image"]) == report["data"]["n_images"] == 4


def test_evaluate_cli_records_a_further_held_out_set_in_the_model_card(trained, tmp_path):
    import shutil

    res, data, base, _ = trained
    model_dir = tmp_path / "model"
    shutil.copytree(res.model_dir, model_dir)
    before = read_model_card(model_dir)
    out = _evaluate_cli(
        base,
        *("--model", str(model_dir), "--data", str(data), "--split", "all"),
        *("--card-entry", "all 16", "--note", "every image"),
    )
    assert out.returncode == 0, out.stderr
    card = read_model_card(model_dir)
    entry = card.evaluations["all 16"]
    assert entry["split"] == "all" and entry["data"]["n_images"] == 16 and entry["note"] == "every image"
    assert "--card-entry" in entry["command"]
    assert entry["command"].startswith("python -m nnus_core.detector evaluate --model ")  # once
    assert len(entry["per_class"]) == 8 and set(entry["overall"]) >= {"map50", "map50_95"}
    if (data / "phantom.json").is_file():
        assert entry["data"]["seed"] == 7
    # Everything else in the card is unchanged, and the Markdown shows the new section.
    assert (card.metrics, card.weights, card.recipe) == (before.metrics, before.weights, before.recipe)
    md = (model_dir / "MODEL_CARD.md").read_text()
    assert "## Held-out evaluation: all 16" in md and "every image" in md
