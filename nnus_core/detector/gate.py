"""The accuracy gate of a cheaper model variant (INT8, bf16): measured against f32 on held-out images.

A variant is adopted only when its mAP@0.5 drops by at most 0.01 and no organ's AP@0.5 by more
than 0.03 on the same images. The check is recorded in the model card (`variants`), with the
quantisation recipe it measured; the runtime choice reads it from there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

MAX_MAP_DROP = 0.01
MAX_ORGAN_DROP = 0.03


def gate_entry(reference: dict[str, Any], variant: dict[str, Any], recipe: str = "") -> dict[str, Any]:
    """Compare two evaluation reports of the same images (see `evaluate_detector`) and decide.

    Returns:
        The card entry: both mAPs, each organ's AP and drop, the worst organ, `accepted`.
    """
    ref_o, var_o = reference["overall"], variant["overall"]
    ref_ap = {c["name"]: c["ap50"] for c in reference["per_class"]}
    per_class = []
    for c in variant["per_class"]:
        r = ref_ap.get(c["name"])
        if r is None or c["ap50"] is None or c.get("n_gt", 1) == 0:
            continue
        per_class.append(
            {
                "name": c["name"],
                "n_gt": c.get("n_gt"),
                "ref_ap50": r,
                "ap50": c["ap50"],
                "drop": round(r - c["ap50"], 4),
            }
        )
    worst = max(per_class, key=lambda c: c["drop"], default=None)
    map_drop = round(ref_o["map50"] - var_o["map50"], 4)
    organ_drop = worst["drop"] if worst else 0.0
    return {
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "recipe": recipe,
        "reference": {k: (reference.get("model") or {}).get(k) for k in ("backend", "precision", "imgsz")},
        "model": {k: (variant.get("model") or {}).get(k) for k in ("backend", "precision", "imgsz")},
        "data": {k: (variant.get("data") or {}).get(k) for k in ("root", "kind", "n_images", "seed")},
        "split": variant.get("split"),
        "ref_map50": ref_o["map50"],
        "map50": var_o["map50"],
        "map50_drop": map_drop,
        "worst_organ": worst["name"] if worst else None,
        "worst_organ_drop": organ_drop,
        "per_class": per_class,
        "limits": {"map50_drop": MAX_MAP_DROP, "organ_drop": MAX_ORGAN_DROP},
        "accepted": bool(map_drop <= MAX_MAP_DROP and organ_drop <= MAX_ORGAN_DROP),
    }


def gate_status(entry: dict[str, Any] | None, *, required: bool, recipe: str = "") -> tuple[bool, str]:
    """Whether a variant may be used given its card entry, and why not when it may not.

    Args:
        entry: the card's check of the variant, or None.
        required: a variant without any check is refused (INT8) rather than allowed (bf16).
        recipe: the recipe the check must have measured (a check of another recipe does not count).
    """
    if entry is None:
        return (
            not required
        ), "no accuracy check in the model card (python -m nnus_core.detector evaluate --gate)"
    if recipe and entry.get("recipe") != recipe:
        return False, f"the card's accuracy check measured recipe {entry.get('recipe')!r}, not {recipe!r}"
    if not entry.get("accepted"):
        return (
            False,
            f"failed its accuracy check ({describe_entry('variant', entry)}; limits {MAX_MAP_DROP}, {MAX_ORGAN_DROP})",
        )
    return True, ""


def describe_entry(name: str, entry: dict[str, Any]) -> str:
    """One line: `int8: mAP@0.5 0.9710 -> 0.9690 (-0.0020), worst organ Esophagus -0.0100: accepted`."""
    verdict = "accepted" if entry.get("accepted") else "REJECTED"
    return (
        f"{name}: mAP@0.5 {entry.get('ref_map50', 0):.4f} -> {entry.get('map50', 0):.4f} "
        f"({-float(entry.get('map50_drop') or 0):+.4f}), worst organ {entry.get('worst_organ')} "
        f"{-float(entry.get('worst_organ_drop') or 0):+.4f}: {verdict}"
    )
