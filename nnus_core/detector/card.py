"""The model card written next to every trained model: data, split, recipe, command, metrics, versions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnus_core.errors import ModelError

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"
SCHEMA = "nnus-model-card/1"


@dataclass(frozen=True)
class ModelCard:
    """What a trained model was trained on, how, and how well it did on its held-out split."""

    name: str
    created_utc: str
    data: dict[str, Any]  # root, kind, synthetic, generator_version, splits {name: {n_images, subjects}}
    recipe: dict[str, Any]  # name, model, epochs, imgsz, batch, device, weights, extra hyper-parameters
    command: str
    class_names: tuple[str, ...]
    metrics: dict[str, Any]  # the evaluation's "overall" and "per_class" on the test split
    versions: dict[str, str]
    training: dict[str, Any] = field(default_factory=dict)  # wall_s, epochs_run, best_epoch
    weights: dict[str, Any] = field(default_factory=dict)  # file, sha256, size_bytes
    # Further held-out evaluations by name: {data, split, command, overall, per_class}.
    evaluations: dict[str, Any] = field(default_factory=dict)
    # Accuracy checks of cheaper variants against f32 by variant ("int8", "bf16"); see detector.gate.
    variants: dict[str, Any] = field(default_factory=dict)
    # Real scans the model was never trained on (`bench/sim2real.py --record`): data, command,
    # created_utc and per mode (plain, scan_area, gate) the CCA AP@0.5 and false boxes per image.
    real_scans: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    @property
    def synthetic(self) -> bool:
        return bool(self.data.get("synthetic"))

    @property
    def generator_version(self) -> str:
        return str(self.data.get("generator_version") or "")

    def is_stale(self, current_generator_version: str) -> bool:
        """True when the model was trained on phantom data of another generator version."""
        return (
            self.synthetic
            and bool(current_generator_version)
            and (self.generator_version != current_generator_version)
        )

    @property
    def trained_on(self) -> str:
        """What the model was trained on, in words ("synthetic phantom", "real NNUS")."""
        return str(self.data.get("kind") or ("synthetic phantom" if self.synthetic else "real NNUS"))

    def domain_note(self, input_synthetic: bool) -> str | None:
        """A warning for boxes drawn on data unlike the training data; None when they match.

        A phantom-trained model on a real or imported scan (or a real-trained one on the phantom)
        draws boxes that look as sure as on its own data but are not.
        """
        if self.synthetic and not input_synthetic:
            return (
                f"Trained on {self.trained_on} images only: its boxes on real scans are unreliable "
                "(a demonstration of the pipeline, not a reading of this scan)."
            )
        if not self.synthetic and input_synthetic:
            return (
                f"Trained on {self.trained_on} images: its boxes on these synthetic images say little "
                "about how it does on real scans."
            )
        return None

    def burn_note(self, input_synthetic: bool) -> str:
        """`domain_note` short enough to burn into a video frame (ASCII, <= 80 characters); "" if none."""
        if self.synthetic and not input_synthetic:
            return "MODEL TRAINED ON SYNTHETIC IMAGES: BOXES ON REAL SCANS UNRELIABLE"
        if not self.synthetic and input_synthetic:
            return "SYNTHETIC PHANTOM - MODEL TRAINED ON REAL SCANS"
        return ""

    def real_scans_line(self) -> str | None:
        """One sentence with the figures measured on real scans (`real_scans`), or None."""
        gate = (self.real_scans.get("modes") or {}).get("gate")
        if not gate:
            return None
        return (
            f"On {self.real_scans.get('data', 'real scans').split(' with ')[0]} it was never trained on: "
            f"carotid (CCA) AP@0.5 {gate.get('cca_ap50', 0):.2f}, {gate.get('false_boxes_per_image', 0):.2f} "
            "wrong boxes per image (only the carotid is labelled there: its other organs are unmeasured)."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "name": self.name,
            "created_utc": self.created_utc,
            "data": self.data,
            "recipe": self.recipe,
            "command": self.command,
            "class_names": list(self.class_names),
            "metrics": self.metrics,
            "versions": self.versions,
            "training": self.training,
            "weights": self.weights,
            "evaluations": self.evaluations,
            "variants": self.variants,
            "real_scans": self.real_scans,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCard:
        """Parse a card; raises ModelError naming the missing field."""
        try:
            return cls(
                name=str(d["name"]),
                created_utc=str(d["created_utc"]),
                data=dict(d["data"]),
                recipe=dict(d["recipe"]),
                command=str(d["command"]),
                class_names=tuple(d["class_names"]),
                metrics=dict(d.get("metrics") or {}),
                versions=dict(d.get("versions") or {}),
                training=dict(d.get("training") or {}),
                weights=dict(d.get("weights") or {}),
                evaluations=dict(d.get("evaluations") or {}),
                variants=dict(d.get("variants") or {}),
                real_scans=dict(d.get("real_scans") or {}),
                schema=str(d.get("schema", SCHEMA)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model card: expected field {exc} with a valid value") from exc

    def to_markdown(self) -> str:
        """A human-readable card (the JSON file is the source of truth)."""
        d, r, m = self.data, self.recipe, self.metrics
        overall = m.get("overall", {})
        lines = [
            f"# Model card: {self.name}",
            "",
            f"Created {self.created_utc} (UTC).",
            "",
            "## Data",
            f"- Kind: **{d.get('kind', '?')}**"
            + (f" (phantom generator version {self.generator_version})" if self.synthetic else ""),
            f"- Root: `{d.get('root', '?')}`, {d.get('n_images', '?')} images",
        ]
        if self.synthetic:
            lines.append(
                "- Trained on synthetic images only: it shows what the pipeline does, not how a model "
                "performs on real neck ultrasound."
            )
        for split, s in (d.get("splits") or {}).items():
            subj = ", ".join(s.get("subjects", []))
            lines.append(f"- {split}: {s.get('n_images', 0)} images, subjects: {subj or '-'}")
        lines += [
            "",
            "## Recipe",
            f"- Recipe `{r.get('name', '?')}`: " + ", ".join(f"{k}={v}" for k, v in r.items() if k != "name"),
            "",
            "## Command",
            "```",
            self.command,
            "```",
            "",
            "## Classes",
        ]
        lines += [f"{i}. {n}" for i, n in enumerate(self.class_names)]
        lines += ["", f"## Metrics ({m.get('split', 'test')} split)"]
        if overall:
            lines.append(
                f"- mAP@0.5 {overall.get('map50')}, mAP@0.5:0.95 {overall.get('map50_95')}, "
                f"precision {overall.get('precision')}, recall {overall.get('recall')} "
                f"(at confidence {overall.get('f1_conf')})"
            )
        if m.get("ap_definition"):
            lines.append(f"- AP: {m['ap_definition']}")
        lines += _per_class_table(m.get("per_class") or [])
        for name, ev in self.evaluations.items():
            ed, eo = ev.get("data") or {}, ev.get("overall") or {}
            lines += [
                "",
                f"## Held-out evaluation: {name}",
                f"- Data: {ed.get('kind', '?')}"
                + (f" (generator {ed['generator_version']})" if ed.get("generator_version") else "")
                + (f", seed {ed['seed']}" if ed.get("seed") is not None else "")
                + f", split `{ev.get('split', '?')}`: {ed.get('n_images', '?')} images, "
                f"{len(ed.get('subjects') or [])} subjects",
            ]
            if ev.get("note"):
                lines.append(f"- {ev['note']}")
            if ev.get("command"):
                lines.append(f"- Command: `{ev['command']}`")
            lines.append(
                f"- mAP@0.5 {eo.get('map50')}, mAP@0.5:0.95 {eo.get('map50_95')}, "
                f"precision {eo.get('precision')}, recall {eo.get('recall')}"
            )
            if ev.get("ap_definition"):
                lines.append(f"- AP: {ev['ap_definition']}")
            lines += _per_class_table(ev.get("per_class") or [])
        if self.variants:
            from nnus_core.detector.gate import describe_entry

            lines += ["", "## Faster variants: accuracy checks against f32"]
            for name, v in self.variants.items():
                data = v.get("data") or {}
                lines.append(
                    f"- {describe_entry(name, v)} ({data.get('kind', '?')}, {data.get('n_images', '?')} images"
                    + (f", seed {data['seed']}" if data.get("seed") is not None else "")
                    + f"; recipe `{v.get('recipe') or '-'}`)"
                )
        if self.real_scans:
            lines += _real_scans_lines(self.real_scans)
        if self.training:
            lines += ["", "## Training", *[f"- {k}: {v}" for k, v in self.training.items()]]
        if self.weights:
            lines += ["", "## Weights", *[f"- {k}: {v}" for k, v in self.weights.items()]]
        lines += ["", "## Versions", *[f"- {k}: {v}" for k, v in self.versions.items()], ""]
        return "\n".join(lines)


def _real_scans_lines(r: dict[str, Any]) -> list[str]:
    """The card's Markdown section for `real_scans` (bench/sim2real.py --record)."""
    return [
        "",
        "## On real scans (never trained on)",
        f"- Data: {r.get('data', '?')}",
        f"- Command: `{r.get('command', '?')}` ({r.get('created_utc', '?')}, {r.get('cpu', '?')})",
        "",
        "| mode | CCA AP@0.5 | false boxes per image | CCA found | boxes outside the B-mode image per screen |",
        "|---|---|---|---|---|",
        *[
            f"| {mode} | {m.get('cca_ap50', 0):.3f} | {m.get('false_boxes_per_image', 0):.2f} | "
            f"{_figure(m.get('cca_found'))} | {_figure(m.get('screen_margin_per_image'))} |"
            for mode, m in (r.get("modes") or {}).items()
        ],
    ]


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _per_class_table(per: list[dict[str, Any]]) -> list[str]:
    if not per:
        return []
    lines = ["", "| organ | n | AP@0.5 | AP@0.5:0.95 | P | R |", "|---|---|---|---|---|---|"]
    for c in per:
        lines.append(
            f"| {c['name']} | {c['n_gt']} | {c['ap50']} | {c['ap50_95']} | {c['precision']} | {c['recall']} |"
        )
    return lines


def evaluation_entry(report: dict[str, Any], command: str, note: str = "") -> dict[str, Any]:
    """The summary of an evaluation report (see nnus_core.detector.evaluation) kept in a model card."""
    keep = ("name", "n_gt", "ap50", "ap50_95", "precision", "recall")
    return {
        "created_utc": report.get("created_utc"),
        "split": report.get("split"),
        "data": report.get("data") or {},
        "model": {k: (report.get("model") or {}).get(k) for k in ("backend", "precision", "imgsz", "sha256")},
        "command": command,
        "note": note,
        "overall": report.get("overall") or {},
        "ap_definition": (report.get("settings") or {}).get("ap"),
        "per_class": [{k: c.get(k) for k in keep} for c in report.get("per_class") or []],
    }


def write_model_card(card: ModelCard, folder: Path) -> tuple[Path, Path]:
    """Write model_card.json and MODEL_CARD.md into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    j, md = folder / CARD_JSON, folder / CARD_MD
    j.write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    md.write_text(card.to_markdown())
    return j, md


def read_model_card(path: Path) -> ModelCard | None:
    """The card of a model folder or of the weights file inside it; None when there is none.

    Raises:
        ModelError: for a card that exists but cannot be parsed.
    """
    folder = path.parent if path.suffix else path
    j = folder / CARD_JSON
    if not j.is_file():
        return None
    try:
        d = json.loads(j.read_text())
    except ValueError as exc:
        raise ModelError(f"{j}: expected JSON, {exc}") from exc
    return ModelCard.from_dict(d)
