"""Which runtime a detector uses on this CPU: backend, precision, threads and video streams, measured.

At the first load of a model on a CPU (per input shape), every allowed variant is compiled and timed
for a moment: OpenVINO f32, bf16 where the CPU computes bf16 natively, the NNCF INT8 model where the
model card holds a passed accuracy check for it, and ONNX Runtime, each on one thread and on every
core. The fastest wins; the result is cached beside the exports under the CPU's signature
(`cpu.CpuInfo.signature`), so a second start only reads a small JSON file, and a different CPU (or
runtime version) measures again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nnus_core.detector import fast
from nnus_core.detector.cpu import CpuInfo, read_cpu
from nnus_core.errors import ModelError

log = logging.getLogger(__name__)

CHOICE_FORMAT = 3  # bump when the measurement or the file's layout changes
MAX_VIDEO_STREAMS = 4  # beyond a few, memory grows and the encoder starves of cores
TIE = 0.03  # within 3 % of the fastest, the more exact variant is taken (f32 over bf16 over int8)
_EXACTNESS = {"f32": 0, "bf16": 1, "int8": 2}
_WARMUP, _ROUNDS, _PER_ROUND = 3, 5, 6  # ~35 inferences a variant: ~0.2-0.7 s each on 2 cores
MIN_AGREEMENT = 0.9  # INT8 boxes that match f32's (same organ, IoU >= 0.5) on check frames, F1


@dataclass(frozen=True)
class Config:
    """One way to run the model. `imgsz` 0: at the model's own input size; else a smaller longer
    side of the input (a cheaper computation whose accuracy check in the model card passed)."""

    backend: str
    precision: str
    threads: int
    imgsz: int = 0

    def label(self) -> str:
        size = f" at {self.imgsz} px" if self.imgsz else ""
        return (
            f"{self.backend} {self.precision}{size}, {self.threads} thread{'s' if self.threads != 1 else ''}"
        )

    def variant(self) -> str:
        """The candidate it was measured as: `openvino/int8`, or `openvino/int8@256` at a smaller size."""
        return f"{self.backend}/{self.precision}" + (f"@{self.imgsz}" if self.imgsz else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "precision": self.precision,
            "threads": self.threads,
            "imgsz": self.imgsz,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls(str(d["backend"]), str(d["precision"]), int(d["threads"]), int(d.get("imgsz") or 0))


@dataclass(frozen=True)
class RuntimeChoice:
    """The measured choice for one model, input shape and CPU.

    `latency` serves single images (every core on one image); `video` is the per-stream config of
    the video pipeline, which runs `video_streams` frames at once, one thread each.
    """

    latency: Config
    video: Config
    video_streams: int
    shape: tuple[int, int]
    cpu: dict[str, Any]
    measured_ms: tuple[tuple[Config, float], ...] = ()  # median inference ms of each variant tried
    skipped: tuple[tuple[str, str], ...] = ()  # (variant, why it was not a candidate)
    allowed: tuple[str, ...] = ()  # the variants that were candidates ("openvino/int8", ...)
    created_utc: str = ""
    measure_s: float = 0.0
    int8_agreement: float | None = None
    load_avg: float = 0.0  # 1-minute load average when measured
    ranked_at: tuple[int, int] | None = None  # the input shape the variants were timed at
    path: Path | None = field(default=None, compare=False)

    @property
    def provisional(self) -> bool:
        """Measured while other processes held more than every core: worth measuring again."""
        return self.load_avg > int(self.cpu.get("cores") or 1)

    def summary(self) -> str:
        """One line for a bench, a log or the model card view."""
        return (
            f"{self.latency.label()} for images, {self.video.backend} {self.video.precision}"
            f"{f' at {self.video.imgsz} px' if self.video.imgsz else ''} x {self.video_streams} streams for video (measured on {self.cpu.get('model', '?')}, "
            f"{self.cpu.get('cores', '?')} cores)"
        )

    def table(self) -> list[str]:
        """The measured variants, fastest first, and the skipped ones with their reasons."""
        rows = [f"  {c.label():<34} {ms:7.2f} ms" for c, ms in sorted(self.measured_ms, key=lambda t: t[1])]
        if self.ranked_at and self.ranked_at != self.shape:
            rows.append(
                f"  (timed at {self.ranked_at[0]}x{self.ranked_at[1]}; the same ranking holds for this input)"
            )
        if self.provisional:
            rows.append(
                f"  (measured at load {self.load_avg:.1f}: ranked by CPU ms an inference; "
                "measured again on a quieter start)"
            )
        rows += [f"  {v:<34} skipped: {why}" for v, why in self.skipped]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "choice_format": CHOICE_FORMAT,
            "created_utc": self.created_utc,
            "cpu": self.cpu,
            "shape": list(self.shape),
            "latency": self.latency.to_dict(),
            "video": self.video.to_dict(),
            "video_streams": self.video_streams,
            "allowed": list(self.allowed),
            "measured": [{**c.to_dict(), "median_ms": round(ms, 3)} for c, ms in self.measured_ms],
            "skipped": [{"variant": v, "reason": why} for v, why in self.skipped],
            "int8_agreement": self.int8_agreement,
            "measure_s": round(self.measure_s, 2),
            "load_avg": round(self.load_avg, 2),
            "ranked_at": list(self.ranked_at or self.shape),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: Path | None = None) -> RuntimeChoice:
        return cls(
            latency=Config.from_dict(d["latency"]),
            video=Config.from_dict(d["video"]),
            video_streams=int(d["video_streams"]),
            shape=(int(d["shape"][0]), int(d["shape"][1])),
            cpu=dict(d["cpu"]),
            measured_ms=tuple((Config.from_dict(m), float(m["median_ms"])) for m in d.get("measured") or []),
            skipped=tuple((str(s["variant"]), str(s["reason"])) for s in d.get("skipped") or []),
            allowed=tuple(d.get("allowed") or ()),
            created_utc=str(d.get("created_utc", "")),
            measure_s=float(d.get("measure_s", 0.0)),
            int8_agreement=d.get("int8_agreement"),
            load_avg=float(d.get("load_avg", 0.0)),
            ranked_at=tuple(int(v) for v in d["ranked_at"]) if d.get("ranked_at") else None,  # type: ignore[arg-type]
            path=path,
        )


def video_stream_count(cpu: CpuInfo | None = None) -> int:
    """How many frames the video pipeline detects at once: one per core, at most 4."""
    cores = (cpu or read_cpu()).cores
    return max(1, min(cores, MAX_VIDEO_STREAMS))


def thread_options(cores: int) -> tuple[int, ...]:
    """Thread counts worth timing: every core, half of them, one (one is the video stream's)."""
    return tuple(sorted({cores, max(1, cores // 2), 1}, reverse=True))


def allowed_variants(
    cpu: CpuInfo, card_variants: dict[str, Any] | None, shape_tag: str = ""
) -> tuple[list[str], list[tuple[str, str]]]:
    """The (backend/precision) variants to measure on this CPU, and the others with the reason.

    bf16 only on a CPU with native bf16 (elsewhere OpenVINO emulates it, several times slower),
    and not when the card's accuracy check rejected it; INT8 only with a passed accuracy check of
    the current quantisation recipe in the model card. A check measured at this input shape
    (`int8@288x320`) takes precedence over the one at the model's own size (`int8`).
    """
    from nnus_core.detector import quantize
    from nnus_core.detector.gate import gate_status

    variants = dict(card_variants or {})
    for name in ("int8", "bf16"):
        if f"{name}@{shape_tag}" in variants:
            variants[name] = variants[f"{name}@{shape_tag}"]
    allowed = ["openvino/f32"]
    skipped: list[tuple[str, str]] = []
    if not cpu.has_bf16:
        skipped.append(("openvino/bf16", "the CPU has no native bf16 (avx512_bf16 or amx_bf16)"))
    else:
        ok, why = gate_status(variants.get("bf16"), required=False)
        (allowed.append("openvino/bf16") if ok else skipped.append(("openvino/bf16", why)))
    ok, why = gate_status(variants.get("int8"), required=True, recipe=quantize.RECIPE)
    (allowed.append("openvino/int8") if ok else skipped.append(("openvino/int8", why)))
    if cpu.onnxruntime_comparable:
        allowed.append("onnx/f32")
    else:
        skipped.append(("onnx/f32", f"ONNX Runtime ignores the {cpu.cap} ISA cap: not comparable"))
    return allowed, skipped


_SIZED_KEY = re.compile(r"^(f32|bf16|int8)@(\d+)(?:x(\d+))?$")


def size_variants(
    cpu: CpuInfo, card_variants: dict[str, Any] | None, imgsz: int, stride: int = 32
) -> tuple[list[str], list[tuple[str, str]]]:
    """The smaller-input variants (`openvino/int8@256`: longer side 256 instead of the model's own)
    to measure on this CPU, and the rejected ones with the reason.

    A smaller input is an accuracy change whatever the precision: each needs its own passed check
    in the model card, measured on the phantom's images at that side's tight input (for side 256
    and the 494x447 NNUS images the key is `int8@256`, for 288 `int8@256x288`), of the current
    recipe for INT8; bf16 also needs native bf16.
    """
    from nnus_core.detector import quantize
    from nnus_core.detector.gate import gate_status
    from nnus_core.detector.processing import NNUS_IMAGE_WH, tight_input_hw

    variants = dict(card_variants or {})
    sides = sorted(
        {
            max(int(m.group(2)), int(m.group(3) or 0))
            for k in variants
            if (m := _SIZED_KEY.match(k)) and max(int(m.group(2)), int(m.group(3) or 0)) < imgsz
        },
        reverse=True,
    )
    allowed: list[str] = []
    skipped: list[tuple[str, str]] = []
    for side in sides:
        tag = fast.shape_tag(tight_input_hw(*NNUS_IMAGE_WH, side, stride))
        for precision in ("f32", "bf16", "int8"):
            entry = variants.get(f"{precision}@{tag}")
            if entry is None:
                continue
            name = f"openvino/{precision}@{side}"
            if precision == "bf16" and not cpu.has_bf16:
                skipped.append((name, "the CPU has no native bf16 (avx512_bf16 or amx_bf16)"))
                continue
            ok, why = gate_status(entry, required=True, recipe=quantize.RECIPE if precision == "int8" else "")
            (allowed.append(name) if ok else skipped.append((name, why)))
    return allowed, skipped


def choice_path(info: fast.WeightsInfo, shape: fast.Shape, cpu: CpuInfo) -> Path:
    return fast.cache_root() / info.sha256[:16] / f"choice_{fast.shape_tag(shape)}_{cpu.signature()}.json"


def cached_choice(
    info: fast.WeightsInfo, shape: int | fast.Shape, cpu: CpuInfo | None = None
) -> RuntimeChoice | None:
    """The choice measured before on this CPU for this shape, or None (reads one file, no model)."""
    cpu = cpu or read_cpu()
    path = choice_path(info, fast.input_shape(shape), cpu)
    try:
        d = json.loads(path.read_text())
        if d.get("choice_format") != CHOICE_FORMAT:
            return None
        return RuntimeChoice.from_dict(d, path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_avg() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Unix
        return 0.0


def _timing_input(shape: fast.Shape) -> np.ndarray:
    """A letterboxed ultrasound-like frame (blurred noise; a CNN's time does not depend on content)."""
    from nnus_core.detector.processing import letterbox

    rng = np.random.default_rng(0)
    gray = cv2.GaussianBlur((rng.random((447, 494)) * 255).astype(np.uint8), (0, 0), 3)
    return letterbox(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), shape)[0]


def measure(
    runtimes: dict[Config, fast.Runtime], x: np.ndarray | dict[Config, np.ndarray]
) -> dict[Config, float]:
    """Fast-quintile ms per inference of each runtime, in interleaved rounds (a neighbour's load hits
    all alike). The 20th percentile, not the median: on a shared CPU the slow samples are other
    processes' time, and a multi-threaded runtime loses most of them. `x`: one input for all, or
    each config's own (a smaller-input variant takes a smaller frame).

    When other processes hold more than every core, even the fast samples are mostly their time
    (measured at load 22 on 2 cores: a 10 % smaller input timed 2.7x faster): the variants are then
    ranked by the process CPU time of an inference instead, which their load does not change (and
    which favours one thread, the better choice on a busy CPU); such a choice is provisional."""
    from nnus_core.detector.cpu import cpu_threads

    xs = x if isinstance(x, dict) else dict.fromkeys(runtimes, x)
    times: dict[Config, list[float]] = {c: [] for c in runtimes}
    cpu_s: dict[Config, list[float]] = {c: [] for c in runtimes}
    busy = _load_avg() > cpu_threads()
    for c, rt in runtimes.items():
        for _ in range(_WARMUP):
            rt(xs[c])
    for _ in range(_ROUNDS):
        for c, rt in runtimes.items():
            for _ in range(_PER_ROUND):
                t, t_cpu = time.perf_counter(), time.process_time()
                rt(xs[c])
                times[c].append(time.perf_counter() - t)
                cpu_s[c].append(time.process_time() - t_cpu)
    return {c: float(np.percentile((cpu_s if busy else times)[c], 20)) * 1000 for c in runtimes}


def box_agreement(a: fast.Runtime, b: fast.Runtime, inputs: list[np.ndarray], conf: float = 0.25) -> float:
    """F1 of matching the boxes of two runtimes (same class, IoU >= 0.5) over letterboxed inputs."""
    from nnus_core.detection import Detections
    from nnus_core.detector.processing import Letterbox, decode
    from nnus_core.matching import pair_boxes

    matched = total = 0
    for x in inputs:
        lb = Letterbox(x.shape[1], x.shape[0], 1.0, 0, 0)
        da, db = Detections(*decode(a(x), lb, conf)), Detections(*decode(b(x), lb, conf))
        total += len(da) + len(db)
        matched += len(pair_boxes(da, db, 0.5).pairs)
    return 1.0 if total == 0 else 2 * matched / total


def pick(measured: dict[Config, float]) -> Config:
    """The fastest config; within TIE of it, the more exact one (the model's own input size before a
    smaller one, then f32, bf16, int8)."""
    best = min(measured.values())
    near = [c for c, ms in measured.items() if ms <= best * (1 + TIE)]
    return min(
        near,
        key=lambda c: (c.imgsz != 0, -c.imgsz, _EXACTNESS[c.precision], c.backend != "openvino", measured[c]),
    )


def config_for(choice: RuntimeChoice, threads: int | None = None, sized: bool = True) -> Config:
    """The config a detector opens: the latency choice (`threads` None), the video one (1), or the
    fastest measured at another thread count; `sized=False` (an input size the caller fixed) keeps
    to the model's own input size."""
    measured = dict(choice.measured_ms)
    if sized and threads is None:
        return choice.latency
    if sized and threads == 1:
        return choice.video
    pool = {
        c: ms
        for c, ms in measured.items()
        if (sized or c.imgsz == 0) and (threads is None or c.threads == threads)
    }
    if pool:
        return pick(pool)
    base = choice.latency
    return Config(base.backend, base.precision, threads or base.threads, base.imgsz if sized else 0)


def _ranked_elsewhere(
    info: fast.WeightsInfo, hw: fast.Shape, cpu: CpuInfo, allowed: list[str]
) -> RuntimeChoice | None:
    """A choice measured (not derived) for another input shape of this model on this CPU."""
    for path in sorted(choice_path(info, hw, cpu).parent.glob(f"choice_*_{cpu.signature()}.json")):
        try:
            d = json.loads(path.read_text())
            c = RuntimeChoice.from_dict(d, path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (
            d.get("choice_format") == CHOICE_FORMAT
            and c.shape != hw
            and c.ranked_at in (None, c.shape)
            and list(c.allowed) == allowed
            and not c.provisional
        ):
            return c
    return None


def choose(
    info: fast.WeightsInfo,
    shape: int | fast.Shape,
    card_variants: dict[str, Any] | None = None,
    *,
    cpu: CpuInfo | None = None,
    remeasure: bool = False,
    frame_wh: tuple[int, int] | None = None,
) -> RuntimeChoice:
    """The runtime choice for a model and input shape on this CPU: cached, else measured now.

    Args:
        info: the weights.
        shape: the input, a square side or (height, width).
        card_variants: the model card's accuracy checks of its variants (`ModelCard.variants`).
        cpu: the CPU to choose for (default this one; tests pass others).
        remeasure: measure again even when a cached choice exists.
        frame_wh: (width, height) of the frames to come, for sizing the smaller-input variants
            (default: the shape's own aspect).

    Raises:
        ModelError: when no variant could be run at all.
    """
    cpu = cpu or read_cpu()
    hw = fast.input_shape(shape)
    allowed, skipped = allowed_variants(cpu, card_variants, fast.shape_tag(hw))
    sized, sized_skipped = size_variants(cpu, card_variants, max(hw), info.stride)
    allowed, skipped = allowed + sized, skipped + sized_skipped
    if not remeasure:
        cached = cached_choice(info, hw, cpu)
        if (
            cached is not None
            and list(cached.allowed) == allowed
            and not (cached.provisional and _load_avg() < 0.5 * cpu.cores)
        ):
            return cached
        # Another input shape of the same model, measured on this CPU: the ranking of the variants
        # is the CPU's, not the shape's, so a new video size does not wait for a measurement.
        other = _ranked_elsewhere(info, hw, cpu, allowed)
        if other is not None:
            derived = RuntimeChoice.from_dict({**other.to_dict(), "shape": list(hw)})
            path = choice_path(info, hw, cpu)
            fast._atomic_write(path, json.dumps(derived.to_dict(), indent=1))
            return RuntimeChoice.from_dict(derived.to_dict(), path)
    t0, load0 = time.perf_counter(), _load_avg()
    runtimes, shapes = _open_variants(info, allowed, hw, frame_wh or (hw[1], hw[0]), cpu, skipped)
    runtimes, agreement = _check_int8(runtimes, hw, skipped)
    if not runtimes:
        raise ModelError("no detector variant could run: " + "; ".join(f"{v}: {w}" for v, w in skipped))
    inputs = {s: _timing_input(s) for s in set(shapes.values())}
    measured = measure(runtimes, {c: inputs[shapes[c]] for c in runtimes})
    single = {c: ms for c, ms in measured.items() if c.threads == 1} or measured
    choice = RuntimeChoice(
        latency=pick(measured),
        video=pick(single),
        video_streams=video_stream_count(cpu),
        shape=hw,
        cpu=cpu.to_dict(),
        measured_ms=tuple(measured.items()),
        skipped=tuple(skipped),
        allowed=tuple(allowed),
        created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        measure_s=time.perf_counter() - t0,
        int8_agreement=None if agreement is None else round(agreement, 4),
        load_avg=max(load0, _load_avg()),
    )
    path = choice_path(info, hw, cpu)
    try:
        fast._atomic_write(path, json.dumps(choice.to_dict(), indent=1))
    except OSError as exc:  # a read-only cache still runs, it measures again next time
        log.warning("could not cache the runtime choice at %s: %s", path, exc)
    log.info("detector runtime for %s on this CPU: %s", info.path.name, choice.summary())
    return RuntimeChoice.from_dict(choice.to_dict(), path)


def _open_variants(
    info: fast.WeightsInfo,
    allowed: list[str],
    hw: fast.Shape,
    frame: tuple[int, int],
    cpu: CpuInfo,
    skipped: list[tuple[str, str]],
) -> tuple[dict[Config, fast.Runtime], dict[Config, fast.Shape]]:
    """Each allowed variant opened at every thread count worth timing, with its input shape (a
    smaller-input variant sized for `frame`); one that cannot be opened goes to `skipped`."""
    from nnus_core.detector.processing import tight_input_hw

    runtimes: dict[Config, fast.Runtime] = {}
    shapes: dict[Config, fast.Shape] = {}
    for variant in allowed:
        kind, _, side = variant.partition("@")
        backend, precision = kind.split("/")
        shape = tight_input_hw(*frame, int(side), info.stride) if side else hw
        try:
            for threads in thread_options(cpu.cores):
                c = Config(backend, precision, threads, int(side or 0))
                runtimes[c] = fast.open_runtime(info, backend, shape, threads, precision)
                shapes[c] = shape
        except ModelError as exc:
            log.warning("detector variant %s unavailable: %s", variant, exc)
            skipped.append((variant, str(exc).splitlines()[0][:200]))
            runtimes = {c: r for c, r in runtimes.items() if c.variant() != variant}
    return runtimes, shapes


def _check_int8(
    runtimes: dict[Config, fast.Runtime], hw: fast.Shape, skipped: list[tuple[str, str]]
) -> tuple[dict[Config, fast.Runtime], float | None]:
    """The INT8 export itself (quantised on this machine) against f32 on the same input; the
    smaller-input INT8 exports are quantised by the same recipe. Below MIN_AGREEMENT every INT8
    variant is dropped (and named in `skipped`). Returns the runtimes kept and the agreement."""
    int8 = [c for c in runtimes if c.precision == "int8" and not c.imgsz]
    ref = next(
        (r for c, r in runtimes.items() if (c.backend, c.precision, c.imgsz) == ("openvino", "f32", 0)), None
    )
    if not int8 or ref is None:
        return runtimes, None
    from nnus_core.detector.quantize import check_inputs

    agreement = box_agreement(ref, runtimes[int8[0]], check_inputs(hw))
    if agreement < MIN_AGREEMENT:
        skipped += [
            (v, f"the INT8 boxes agree with f32 at F1 {agreement:.2f} < {MIN_AGREEMENT}")
            for v in dict.fromkeys(c.variant() for c in runtimes if c.precision == "int8")
        ]
        runtimes = {c: r for c, r in runtimes.items() if c.precision != "int8"}
    return runtimes, agreement


def runtime_line(weights: Path, frame_size: tuple[int, int] | None = None) -> str:
    """What the model runs on here, for the model card view, without loading it: the cached choice
    for the app's input shape on this CPU, or a note that it is measured at the first detection."""
    from nnus_core.detector.processing import NNUS_IMAGE_WH

    cpu = read_cpu()
    try:
        info = fast.weights_info(weights)
    except ModelError:
        return ""
    from nnus_core.detector.card import read_model_card
    from nnus_core.detector.detector import _chosen_ms, _tight_input_if_allowed

    # As Detector.load decides: the tight input where the card vouches for it, unless the square
    # input measured faster (both choices cached at the first detection).
    sized = _tight_input_if_allowed(read_model_card(weights), frame_size or NNUS_IMAGE_WH, info)
    square = (info.imgsz, info.imgsz)
    shape = square if isinstance(sized, int) else sized
    found = cached_choice(info, shape, cpu)
    if found is not None and shape != square:
        other = cached_choice(info, square, cpu)
        if other is not None and _chosen_ms(other, None) < _chosen_ms(found, None):
            shape, found = square, other
    if found is None:
        return f"Runtime: measured on this CPU ({cpu.describe()}) at the first detection."
    return f"Runtime on this CPU ({cpu.describe()}): {found.summary()}, input {shape[0]}x{shape[1]}."


def main(argv: list[str] | None = None) -> int:
    """`python -m nnus_core.detector choice [--model M] [--remeasure]`: this CPU and the choice."""
    import argparse

    from nnus_core.detector.card import read_model_card
    from nnus_core.detector.detector import WEIGHTS_NAME, default_weights
    from nnus_core.detector.processing import NNUS_IMAGE_WH, tight_input_hw

    ap = argparse.ArgumentParser(prog="python -m nnus_core.detector choice", description=main.__doc__)
    ap.add_argument("--model", help="weights .pt or model folder (default: the shipped model)")
    ap.add_argument("--remeasure", action="store_true", help="measure again (e.g. after a busy first start)")
    args = ap.parse_args(argv)
    try:
        path = default_weights() if args.model is None else Path(args.model)
        path = path / WEIGHTS_NAME if path.is_dir() else path
        info = fast.weights_info(path)
        card = read_model_card(path)
        cpu = read_cpu()
        print(f"cpu: {cpu.describe()} (signature {cpu.signature()})")
        for shape in dict.fromkeys(
            [tight_input_hw(*NNUS_IMAGE_WH, info.imgsz, info.stride), (info.imgsz,) * 2]
        ):
            c = choose(info, shape, card.variants if card else None, remeasure=args.remeasure)
            print(f"{shape[0]}x{shape[1]}: {c.summary()}")
            print("\n".join(c.table()))
    except ModelError as exc:
        print(f"error: {exc}")
        return 2
    return 0
