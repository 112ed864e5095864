"""Train a YOLO organ detector with ultralytics on any dataset the dataset layer reads.

Flow: index the dataset -> write a YOLO-format view of its subject-wise split (symlinked images,
labels with canonical organ ids, data.yaml with the 8 organ names) -> train (or resume) with
ultralytics into runs/ -> copy best.pt to data/models/<name>/ -> evaluate on the test split ->
write eval_test.json and the model card. Only ultralytics, torch, opencv, numpy, pandas and
pyyaml are needed here, so it runs on a bare GPU machine.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from nnus_core.dataset import Dataset, load_dataset
from nnus_core.detector.card import ModelCard, write_model_card
from nnus_core.detector.fast import sha256_file
from nnus_core.errors import DatasetError, ModelError
from nnus_core.organs import ORGAN_NAMES
from nnus_core.settings import get_settings, ultralytics_offline

RUNS_DIR = get_settings().runs_dir
MODELS_DIR = get_settings().models_dir
MAX_WEIGHTS_MB = 15.0
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Recipe:
    """A named set of training settings; `extra` goes to ultralytics' train() unchanged."""

    name: str
    model: str  # a model yaml (built from scratch) or a local .pt (fine-tuned)
    epochs: int
    imgsz: int
    batch: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("extra"))
        return d


RECIPES: dict[str, Recipe] = {
    # From scratch, no downloads. yolov8n at 416 px trains ~9-10 images/s on 2 idle cores, so 50
    # epochs of the phantom's ~540 training images take about an hour with validation. For the
    # fastest CPU inference, fine-tune the result at 320 px (--weights best.pt --imgsz 320): the
    # shipped default model was made that way.
    "cpu": Recipe(
        "cpu",
        "yolov8n.yaml",
        epochs=50,
        imgsz=416,
        batch=16,
        extra={"cache": "ram", "close_mosaic": 10, "patience": 100},
    ),
    # Fine-tuning for real scans (domain randomisation in training, on top of the generator's own
    # per-frame gain, dynamic range and gamma in phantom 2.0.0): brightness over a wide range
    # (real scans are darker and vary more), zoom and shift (depth and probe position), a small
    # tilt, left/right flips (either side of the neck). Start it from a trained model
    # (--weights best.pt --imgsz 320); 30 epochs of the phantom's ~540 training images.
    "sim2real": Recipe(
        "sim2real",
        "yolov8n.yaml",
        epochs=30,
        imgsz=320,
        batch=16,
        extra={
            "cache": "ram",
            "close_mosaic": 5,
            "patience": 100,
            "hsv_v": 0.6,
            "hsv_s": 0.0,
            "hsv_h": 0.0,
            "scale": 0.6,
            "translate": 0.2,
            "degrees": 5.0,
            "fliplr": 0.5,
            "lr0": 0.005,
            "warmup_epochs": 1.0,
        },
    ),
    # The dataset authors' recipe: YOLOv5s family, 100 epochs, 640 px, batch 32. With --weights a
    # local pretrained YOLOv5s-family .pt (e.g. ultralytics' yolov5su.pt) is fine-tuned.
    "paper": Recipe("paper", "yolov5s.yaml", epochs=100, imgsz=640, batch=32, extra={"patience": 100}),
}


def _recipe_record(rec: Recipe) -> dict[str, Any]:
    """The recipe for the card; a fine-tuned model also records the SHA-256 of the weights it started from."""
    d = rec.to_dict()
    start = Path(rec.model)
    if start.suffix == ".pt" and start.is_file():
        d["init_weights_sha256"] = sha256_file(start)
    return d


# ---------------------------------------------------------------- the YOLO view
def _safe_name(stem: str) -> str:
    return stem.replace("/", "__").replace("\\", "__")


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        dst.symlink_to(src.resolve())
    except OSError:  # file systems without symlinks
        shutil.copyfile(src, dst)


def write_yolo_view(dataset: Dataset, out_dir: Path) -> Path:
    """Write images/<split>/ and labels/<split>/ with canonical class ids and data.yaml.

    A split with no images borrows another so that ultralytics can run: val falls back to test,
    then train; the substitution is recorded in data.yaml under `nnus_fallbacks`.

    Returns:
        Path of data.yaml.

    Raises:
        DatasetError: when the training split is empty.
    """
    import yaml

    by_split = {s: dataset.split(s) for s in SPLITS}
    if not by_split["train"]:
        raise DatasetError(
            f"{dataset.root}: the training split is empty ({len(dataset)} images, subjects "
            f"{', '.join(dataset.subjects) or '-'}); a subject-wise split needs at least 3 subjects"
        )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for split, samples in by_split.items():
        img_dir, lab_dir = out_dir / "images" / split, out_dir / "labels" / split
        img_dir.mkdir(parents=True)
        lab_dir.mkdir(parents=True)
        for s in samples:
            name = _safe_name(s.stem)
            _link_or_copy(s.image_path, img_dir / f"{name}{s.image_path.suffix.lower()}")
            lines = []
            for a in s.annotations:
                cx, cy, w, h = a.box.clamp(s.width, s.height).to_yolo(s.width, s.height)
                if w > 0 and h > 0:
                    lines.append(f"{a.organ_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            (lab_dir / f"{name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    fallbacks = {}
    use = {s: s for s in SPLITS}
    if not by_split["val"]:
        use["val"] = "test" if by_split["test"] else "train"
        fallbacks["val"] = use["val"]
    data = {
        "path": str(out_dir.resolve()),
        "train": "images/train",
        "val": f"images/{use['val']}",
        "test": f"images/{use['test']}" if by_split["test"] else None,
        "nc": len(ORGAN_NAMES),
        "names": {i: n for i, n in enumerate(ORGAN_NAMES)},
        "nnus_fallbacks": fallbacks,
    }
    if data["test"] is None:
        del data["test"]
    yaml_path = out_dir / "data.yaml"
    yaml_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return yaml_path


# ---------------------------------------------------------------- training
@dataclass(frozen=True)
class TrainResult:
    """Where a finished training left its files."""

    model_dir: Path
    weights: Path
    card: ModelCard
    eval_json: Path | None
    wall_s: float


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("ultralytics", "torch", "numpy", "cv2"):
        try:
            out[mod] = str(__import__(mod).__version__)
        except Exception:  # noqa: BLE001 - a version string is informative only
            out[mod] = "?"
    import nnus_core

    out["nnus_core"] = nnus_core.__version__
    return out


def _progress_callback(emit: Callable[[str], None], t0: float) -> Callable[[Any], None]:
    seen: set[int] = set()

    def on_fit_epoch_end(trainer: Any) -> None:
        epoch, epochs = trainer.epoch + 1, trainer.epochs
        if epoch in seen or epoch > epochs:  # the final validation of best.pt calls back again
            return
        seen.add(epoch)
        m = trainer.metrics or {}
        elapsed = time.time() - t0
        eta = elapsed / max(epoch - getattr(trainer, "start_epoch", 0), 1) * (epochs - epoch)
        loss_s = ""
        try:
            items = trainer.label_loss_items(trainer.tloss, prefix="train")
            loss_s = " loss " + "/".join(f"{float(v):.3f}" for v in items.values())
        except Exception:  # noqa: BLE001 - the progress line must never stop a training
            pass
        emit(
            f"[nnus-train] epoch {epoch}/{epochs}{loss_s} "
            f"mAP50 {m.get('metrics/mAP50(B)', float('nan')):.3f} "
            f"mAP50-95 {m.get('metrics/mAP50-95(B)', float('nan')):.3f} "
            f"elapsed {elapsed / 60:.1f} min eta {eta / 60:.1f} min"
        )

    return on_fit_epoch_end


def _split_summary(dataset: Dataset) -> dict[str, dict[str, Any]]:
    return {
        s: {
            "n_images": len(dataset.split(s)),
            "subjects": sorted({x.subject for x in dataset.split(s)}),
        }
        for s in SPLITS
    }


def train(
    data: str | Path,
    recipe: str | Recipe = "cpu",
    *,
    epochs: int | None = None,
    imgsz: int | None = None,
    batch: int | None = None,
    device: str | None = None,
    workers: int | None = None,
    weights: str | Path | None = None,
    name: str | None = None,
    out_dir: str | Path = MODELS_DIR,
    runs_dir: str | Path = RUNS_DIR,
    resume: bool = False,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
    command: str | None = None,
    emit: Callable[[str], None] = print,
    verbose: bool = True,
) -> TrainResult:
    """Train (or resume), then ship best.pt with its evaluation and model card.

    Args:
        data: dataset folder or zip (anything `load_dataset` reads).
        recipe: "cpu", "paper" or a Recipe.
        epochs, imgsz, batch: override the recipe.
        device: "cpu", "0", "0,1"...; default ultralytics' choice (a GPU when there is one).
        workers: data-loader workers; default ultralytics' (at most the CPU count).
        weights: a local .pt to start from (pretrained); default the recipe's yaml, from scratch.
        name: model name (folder under out_dir and runs_dir); default "<recipe>-<model>-<imgsz>".
        out_dir: where <name>/best.pt, model_card.json, MODEL_CARD.md, eval_test.json go.
        runs_dir: ultralytics' work folder (keep it out of git).
        resume: continue runs_dir/<name>/train/weights/last.pt if it exists.
        seed: training seed.
        extra: more ultralytics train() arguments.
        command: the command line to record in the card (default: sys.argv).
        emit: where progress lines go.
        verbose: ultralytics' own console output.

    Raises:
        DatasetError: the dataset cannot be read or has no training images.
        ModelError: training produced no weights, or weights over the size limit.
    """
    ultralytics_offline()
    rec = _resolved_recipe(recipe, epochs, imgsz, batch, weights, extra)
    name = name or f"{rec.name}-{Path(rec.model).stem}-{rec.imgsz}"
    out_dir, runs_dir = Path(out_dir), Path(runs_dir)
    work = runs_dir / name
    command = command or _command_line()

    t0 = time.time()
    dataset = _load_for_training(data, emit)
    best = _train_or_resume(
        rec, dataset, work, resume, bool(weights), seed, verbose, _loader_args(device, workers), emit
    )
    shipped = _ship(best, out_dir / name)
    train_wall_s = time.time() - t0

    return finalize_model(
        shipped,
        dataset,
        rec,
        command=command,
        training={
            "wall_s": round(train_wall_s, 1),
            "device": device or "auto",
            "run_dir": str(work / "train"),
            **_results_summary(work / "train" / "results.csv"),
        },
        emit=emit,
        t0=t0,
    )


def _resolved_recipe(
    recipe: str | Recipe,
    epochs: int | None,
    imgsz: int | None,
    batch: int | None,
    weights: str | Path | None,
    extra: dict[str, Any] | None,
) -> Recipe:
    """The recipe with the caller's overrides; a start from weights that are not a local file fails."""
    if isinstance(recipe, str) and recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
    rec = RECIPES[recipe] if isinstance(recipe, str) else recipe
    rec = replace(
        rec,
        epochs=epochs or rec.epochs,
        imgsz=imgsz or rec.imgsz,
        batch=batch or rec.batch,
        model=str(weights) if weights else rec.model,
        extra={**rec.extra, **(extra or {})},
    )
    if weights and not Path(weights).is_file():
        raise ModelError(f"--weights {weights}: no such file (pretrained weights must be local)")
    return rec


def _command_line() -> str:
    """This process's training command as the card records it (`python -m nnus_core.detector train ...`)."""
    return " ".join(
        shlex.quote(a)
        for a in [
            Path(sys.executable).name,
            "-m",
            "nnus_core.detector",
            "train",
            *sys.argv[1 + (sys.argv[1:2] == ["train"]) :],
        ]
    )


def _load_for_training(data: str | Path, emit: Callable[[str], None]) -> Dataset:
    """The dataset, its errors and its split said in progress lines."""
    dataset = load_dataset(data)
    if dataset.report.errors:
        emit(f"[nnus-train] dataset has {len(dataset.report.errors)} error(s); affected files are skipped:")
        emit(dataset.report.format(max_lines=10))
    emit(
        f"[nnus-train] {dataset.kind}: {len(dataset)} images; "
        + ", ".join(
            f"{s} {v['n_images']} ({len(v['subjects'])} subjects)" for s, v in _split_summary(dataset).items()
        )
    )
    return dataset


def _train_or_resume(
    rec: Recipe,
    dataset: Dataset,
    work: Path,
    resume: bool,
    pretrained: bool,
    seed: int,
    verbose: bool,
    loader: dict[str, Any],
    emit: Callable[[str], None],
) -> Path:
    """Train in WORK (continuing its last.pt when `resume` and there is one); the run's best.pt."""
    last = work / "train" / "weights" / "last.pt"
    best = work / "train" / "weights" / "best.pt"
    if resume and last.is_file() and _finished(last) and best.is_file():
        emit(f"[nnus-train] {work / 'train'} already finished; shipping its best.pt")
    elif resume and last.is_file():
        emit(f"[nnus-train] resuming {last}")
        _resume_run(last, work, dataset, loader, emit)
    else:
        if resume:
            emit(f"[nnus-train] no {last} to resume; starting a new run")
        _new_run(rec, dataset, work, pretrained, seed, verbose, loader, emit)
    return best


def _loader_args(device: str | None, workers: int | None) -> dict[str, Any]:
    """The device and data-loader workers asked for (ultralytics' own choice where None)."""
    return {k: v for k, v in (("device", device), ("workers", workers)) if v is not None}


def _resume_run(
    last: Path, work: Path, dataset: Dataset, loader: dict[str, Any], emit: Callable[[str], None]
) -> None:
    """Continue an interrupted run from its last.pt."""
    from ultralytics import YOLO

    model = YOLO(str(last))
    model.add_callback("on_fit_epoch_end", _progress_callback(emit, time.time()))
    yaml_path = work / "data" / "data.yaml"
    if not yaml_path.is_file():
        yaml_path = write_yolo_view(dataset, work / "data")
    # Name the data explicitly: a checkpoint stripped at the end of a run may have lost it.
    model.train(resume=True, data=str(yaml_path), **loader)


def _new_run(
    rec: Recipe,
    dataset: Dataset,
    work: Path,
    pretrained: bool,
    seed: int,
    verbose: bool,
    loader: dict[str, Any],
    emit: Callable[[str], None],
) -> None:
    """A fresh run of the recipe in work/train (an old run there is removed first)."""
    from ultralytics import YOLO

    yaml_path = write_yolo_view(dataset, work / "data")
    model = YOLO(rec.model, task="detect")
    model.add_callback("on_fit_epoch_end", _progress_callback(emit, time.time()))
    args: dict[str, Any] = {
        "data": str(yaml_path),
        "epochs": rec.epochs,
        "imgsz": rec.imgsz,
        "batch": rec.batch,
        "project": str(work.resolve()),
        "name": "train",
        "exist_ok": True,
        "pretrained": pretrained,
        "seed": seed,
        # Plots fetch a font from the internet on first use; the app draws its own charts.
        "plots": False,
        "verbose": verbose,
        **rec.extra,
        **loader,
    }
    if (work / "train").exists():
        shutil.rmtree(work / "train")  # a fresh run must not mix with an old one's weights
    model.train(**args)


def _ship(best: Path, model_dir: Path) -> Path:
    """Copy a run's best.pt into the model folder, refusing a missing or oversized file."""
    if not best.is_file():
        raise ModelError(f"training finished without {best}")
    size_mb = best.stat().st_size / 1e6
    if size_mb > MAX_WEIGHTS_MB:
        raise ModelError(f"{best} is {size_mb:.1f} MB; shipped weights must be <= {MAX_WEIGHTS_MB} MB")
    model_dir.mkdir(parents=True, exist_ok=True)
    shipped = model_dir / "best.pt"
    shutil.copyfile(best, shipped)
    return shipped


def _finished(last: Path) -> bool:
    """True for a run that ended normally: ultralytics then strips last.pt and marks epoch -1."""
    import torch

    try:
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint cannot be resumed either
        return False
    return ckpt.get("epoch", -1) == -1 and ckpt.get("optimizer") is None


def _results_summary(csv_path: Path) -> dict[str, Any]:
    """Epochs run and the best epoch (by ultralytics' fitness) from its results.csv."""
    if not csv_path.is_file():
        return {}
    import pandas as pd

    df = pd.read_csv(csv_path)
    df.columns = [c.strip() for c in df.columns]
    out: dict[str, Any] = {"epochs_run": int(len(df))}
    m50, m95 = "metrics/mAP50(B)", "metrics/mAP50-95(B)"
    if m50 in df and m95 in df and len(df):
        fit = 0.1 * df[m50] + 0.9 * df[m95]  # ultralytics' fitness in 8.x
        i = int(fit.idxmax())
        out.update(
            best_epoch=int(df["epoch"][i]) if "epoch" in df else i + 1,
            val_map50=round(float(df[m50][i]), 4),
            val_map50_95=round(float(df[m95][i]), 4),
        )
    return out


def finalize_model(
    weights: Path,
    dataset: Dataset,
    rec: Recipe,
    *,
    command: str,
    training: dict[str, Any],
    emit: Callable[[str], None] = print,
    t0: float | None = None,
) -> TrainResult:
    """Evaluate shipped weights on the test split and write eval_test.json and the model card."""
    from nnus_core.detector.detector import Detector
    from nnus_core.detector.evaluation import evaluate_detector, format_comparison

    model_dir = weights.parent
    eval_json: Path | None = None
    metrics: dict[str, Any] = {}
    # PyTorch on the CPU: the reference numbers, independent of any export's precision.
    det = Detector.load(weights, backend="torch")
    if dataset.split("test"):
        report = evaluate_detector(det, dataset, "test", progress=None)
        eval_json = model_dir / "eval_test.json"
        eval_json.write_text(json.dumps(report, indent=1) + "\n")
        metrics = {
            "split": "test",
            "overall": report["overall"],
            "per_class": report["per_class"],
            "ap_definition": report["settings"]["ap"],
        }
        emit(format_comparison(report))
    else:
        emit("[nnus-train] no test split (fewer than 3 subjects): the card carries no test metrics")
    card = ModelCard(
        name=model_dir.name,
        created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        data={
            "root": str(dataset.root),
            "kind": dataset.kind,
            "synthetic": dataset.synthetic,
            "generator_version": dataset.generator_version,
            "n_images": len(dataset),
            "n_boxes": dataset.n_boxes,
            "splits": _split_summary(dataset),
        },
        recipe=_recipe_record(rec),
        command=command,
        class_names=tuple(det.class_names),
        metrics=metrics,
        versions=_versions(),
        training=training,
        weights={
            "file": weights.name,
            "sha256": sha256_file(weights),
            "size_bytes": weights.stat().st_size,
        },
    )
    write_model_card(card, model_dir)
    wall = time.time() - t0 if t0 else 0.0
    emit(
        f"[nnus-train] model: {weights} ({weights.stat().st_size / 1e6:.1f} MB); card: {model_dir / 'MODEL_CARD.md'}"
    )
    return TrainResult(model_dir, weights, card, eval_json, wall)
