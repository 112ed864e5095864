"""Runtimes for a YOLO .pt: OpenVINO or ONNX Runtime exports cached on first use, PyTorch fallback.

The exported runtimes never import torch or ultralytics once their cache exists, so a process
that only runs detections starts in well under a second. Exports are cached per weights file
(by SHA-256) and input size under `data/cache/models/` (or $NNUS_MODEL_CACHE).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnus_core.detector.cpu import cpu_threads
from nnus_core.detector.processing import to_tensor
from nnus_core.errors import ModelError
from nnus_core.settings import MODEL_CACHE_ENV as CACHE_ENV  # noqa: F401 - its old home, still imported
from nnus_core.settings import get_settings, ultralytics_offline

log = logging.getLogger(__name__)

BACKENDS = ("openvino", "onnx", "torch")
PRECISIONS = ("f32", "bf16", "int8")  # what a runtime computes in; int8 is an OpenVINO NNCF model
CACHE_FORMAT = 1  # bump when the layout or the export settings change

Shape = tuple[int, int]  # (height, width) of a model input


def input_shape(imgsz: int | Shape) -> Shape:
    """(height, width) of a model input given as a square side or as (height, width)."""
    if isinstance(imgsz, (int, np.integer)):
        return int(imgsz), int(imgsz)
    h, w = imgsz
    return int(h), int(w)


def shape_tag(imgsz: int | Shape) -> str:
    """The cache name of an input shape: 320 for a square input, 288x320 (height x width) otherwise."""
    h, w = input_shape(imgsz)
    return str(h) if h == w else f"{h}x{w}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root() -> Path:
    """Folder for exported models: $NNUS_MODEL_CACHE, else data/cache/models, else a temp folder."""
    candidates = [get_settings().model_cache_dir]
    candidates.append(Path(tempfile.gettempdir()) / "nnus_model_cache")
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
            if os.access(c, os.W_OK):
                return c
        except OSError:
            continue
    raise ModelError(f"no writable folder for the model cache; tried {', '.join(map(str, candidates))}")


@dataclass(frozen=True)
class WeightsInfo:
    """What a .pt file says about itself: class names (model order), training input size, stride."""

    path: Path
    sha256: str
    names: tuple[str, ...]
    imgsz: int
    stride: int

    def to_dict(self) -> dict[str, object]:
        return {
            "cache_format": CACHE_FORMAT,
            "sha256": self.sha256,
            "names": list(self.names),
            "imgsz": self.imgsz,
            "stride": self.stride,
        }


def _load_torch_model(path: Path):  # -> (torch.nn.Module, dict)
    ultralytics_offline()
    try:
        from ultralytics.nn.tasks import load_checkpoint
    except ImportError as exc:  # pragma: no cover - ultralytics is a runtime dependency
        raise ModelError(f"reading {path.name} needs ultralytics and torch: {exc}") from exc
    try:
        return load_checkpoint(str(path), device="cpu", fuse=True)
    except Exception as exc:
        raise ModelError(
            f"{path}: expected an ultralytics YOLO checkpoint, could not load it: {exc}"
        ) from exc


def _imgsz_of(args: dict) -> int:
    v = args.get("imgsz", 640)
    if isinstance(v, (list, tuple)):
        v = max(v)
    return int(v)


@functools.lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    """sha256_file, once per file version (size and modification time): the model card view asks
    on every run of the Home page, and hashing 6 MB took 5 ms of each."""
    return sha256_file(Path(path))


def weights_info(path: Path, sha: str | None = None) -> WeightsInfo:
    """Class names and input size of a .pt, from the cache when known (no torch import then).

    Raises:
        ModelError: when the file is missing or is not a YOLO detection checkpoint.
    """
    if not path.is_file():
        raise ModelError(f"model weights not found: {path}")
    st = path.stat()
    sha = sha or _sha256_of(str(path), st.st_size, st.st_mtime_ns)
    meta = cache_root() / sha[:16] / "weights.json"
    if meta.is_file():
        try:
            d = json.loads(meta.read_text())
            if d.get("cache_format") == CACHE_FORMAT and d.get("sha256") == sha:
                return WeightsInfo(path, sha, tuple(d["names"]), int(d["imgsz"]), int(d["stride"]))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    model, _ = _load_torch_model(path)
    if getattr(model, "task", "detect") != "detect":
        raise ModelError(f"{path}: expected a detection model, got task {model.task!r}")
    names = model.names
    names = tuple(names[i] for i in sorted(names)) if isinstance(names, dict) else tuple(names)
    info = WeightsInfo(path, sha, names, _imgsz_of(getattr(model, "args", {}) or {}), int(max(model.stride)))
    _atomic_write(meta, json.dumps(info.to_dict(), indent=1))
    return info


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- runtimes
class Runtime:
    """A compiled model: a letterboxed (H, W, 3) uint8 BGR image in, its (4 + nc, A) output out.

    `input_hw` is the input's (H, W); `imgsz` its longer side (a square input has H = W = imgsz).
    """

    name = "base"
    imgsz: int
    input_hw: Shape
    precision = "f32"
    threads = 1

    def _set_shape(self, imgsz: int | Shape) -> None:
        self.input_hw = input_shape(imgsz)
        self.imgsz = max(self.input_hw)

    def __call__(self, letterboxed: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def openvino_model_with_preprocessing(xml: Path):  # -> (openvino.Core, openvino.Model)
    """Read an exported OpenVINO model and put the input conversion inside its graph.

    The graph takes a letterboxed (1, H, W, 3) uint8 BGR image and converts it to RGB floats in
    [0, 1] itself, which is faster than doing it in numpy.
    """
    import openvino as ov
    from openvino.preprocess import ColorFormat, PrePostProcessor

    core = ov.Core()
    ppp = PrePostProcessor(core.read_model(str(xml)))
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(
        ColorFormat.BGR
    )
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    ppp.input().preprocess().convert_element_type(ov.Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
    return core, ppp.build()


def openvino_config(xml: Path, precision: str) -> dict[str, object]:
    """Compile settings shared by the latency and the throughput runtimes for one precision.

    The precision is always set: left alone, OpenVINO computes an "FP32" model in bf16 on a CPU
    with AVX-512 BF16 or AMX, and in f32 elsewhere, so the same files would give different
    numbers on different machines without saying so.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return {
        # An INT8 model keeps its few unquantised layers (the head's outputs) in f32.
        "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
        # Compiled blobs make the second load of the same model several times faster.
        "CACHE_DIR": str(xml.parent.parent / "ov_cache"),
    }


class OpenVinoRuntime(Runtime):
    name = "openvino"

    def __init__(
        self, xml: Path, imgsz: int | Shape, threads: int | None = None, precision: str = "f32"
    ) -> None:
        core, model = openvino_model_with_preprocessing(xml)
        cfg = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads or cpu_threads(),
            **openvino_config(xml, precision),
        }
        self._compiled = core.compile_model(model, "CPU", cfg)
        self._request = self._compiled.create_infer_request()
        self._set_shape(imgsz)
        self.precision = precision
        self.threads = threads or cpu_threads()

    def __call__(self, letterboxed: np.ndarray) -> np.ndarray:
        self._request.infer({0: letterboxed[None]}, share_inputs=True)
        return self._request.get_output_tensor(0).data[0].copy()


class OnnxRuntime(Runtime):
    name = "onnx"

    def __init__(self, path: Path, imgsz: int | Shape, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or cpu_threads()
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._set_shape(imgsz)
        self.threads = opts.intra_op_num_threads

    def __call__(self, letterboxed: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: to_tensor(letterboxed)})[0][0]


class TorchRuntime(Runtime):
    name = "torch"

    def __init__(self, path: Path, imgsz: int | Shape, threads: int | None = None) -> None:
        import torch

        # ultralytics leaves torch on one thread (it sets OMP_NUM_THREADS=1); use every core.
        self.threads = threads or cpu_threads()
        torch.set_num_threads(self.threads)
        self._torch = torch
        self._model, _ = _load_torch_model(path)
        self._set_shape(imgsz)

    def __call__(self, letterboxed: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            out = self._model(self._torch.from_numpy(to_tensor(letterboxed)))
        out = out[0] if isinstance(out, (list, tuple)) else out
        return out[0].numpy()


# ---------------------------------------------------------------- export + cache
def _export(
    info: WeightsInfo, fmt: str, imgsz: int | Shape, target: Path, produced: Callable[[Path], Path]
) -> None:
    """Export with ultralytics into a temp folder, then move the result to `target` atomically."""
    ultralytics_offline()
    from ultralytics import YOLO

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".export-{fmt}-", dir=target.parent))
    shape = input_shape(imgsz)
    try:
        pt = work / "model.pt"
        shutil.copyfile(info.path, pt)
        kwargs: dict[str, object] = {
            "format": fmt,
            # ultralytics takes [height, width] for a rectangular input.
            "imgsz": shape[0] if shape[0] == shape[1] else list(shape),
            "batch": 1,
            "device": "cpu",
            "verbose": False,
        }
        if fmt == "onnx":
            # onnxslim is not a dependency; a plain export runs the same in ONNX Runtime.
            kwargs.update(simplify=False, dynamic=False)
        from ultralytics.utils import LOGGER

        level = LOGGER.level
        LOGGER.setLevel(logging.WARNING)  # a first-use export should not flood the app's log
        try:
            YOLO(str(pt), task="detect").export(**kwargs)
        finally:
            LOGGER.setLevel(level)
        out = produced(work)
        if not out.exists():
            raise ModelError(f"{fmt} export of {info.path.name} produced no {out.name}")
        staged = work / "staged"
        staged.mkdir()
        for f in list(out.parent.iterdir()) if fmt == "openvino" else [out]:
            shutil.move(str(f), staged / f.name)
        _atomic_write(
            staged / "meta.json", json.dumps({**info.to_dict(), "format": fmt, "export_imgsz": list(shape)})
        )
        try:
            os.replace(staged, target)
        except OSError:
            if not target.exists():  # another process won the race otherwise
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def exported_path(info: WeightsInfo, fmt: str, imgsz: int | Shape) -> Path:
    """The cached export of a weights file for one input shape, exporting it first when missing.

    Raises:
        ModelError: when the export fails.
    """
    folder = cache_root() / info.sha256[:16] / f"{fmt}_{shape_tag(imgsz)}"
    if fmt == "openvino-int8":
        return _int8_path(info, imgsz, folder)
    name = {"openvino": "model.xml", "onnx": "model.onnx"}[fmt]
    if not (folder / name).is_file() or not (folder / "meta.json").is_file():
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        produced = {
            "openvino": lambda w: w / "model_openvino_model" / "model.xml",
            "onnx": lambda w: w / "model.onnx",
        }[fmt]
        try:
            _export(info, fmt, imgsz, folder, produced)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{fmt} export of {info.path} failed: {type(exc).__name__}: {exc}") from exc
    return folder / name


def _int8_path(info: WeightsInfo, imgsz: int | Shape, folder: Path) -> Path:
    """The cached NNCF INT8 model of one input shape, quantised from the f32 export when missing."""
    from nnus_core.detector import quantize

    xml, meta = folder / "model.xml", folder / "meta.json"
    try:
        current = json.loads(meta.read_text()).get("recipe") == quantize.RECIPE and xml.is_file()
    except (OSError, ValueError):
        current = False
    if not current:
        shutil.rmtree(folder, ignore_errors=True)
        f32 = exported_path(info, "openvino", imgsz)
        quantize.quantize_openvino(f32, input_shape(imgsz), folder)
        _atomic_write(
            meta,
            json.dumps(
                {
                    **info.to_dict(),
                    "format": "openvino-int8",
                    "export_imgsz": list(input_shape(imgsz)),
                    "recipe": quantize.RECIPE,
                }
            ),
        )
    return xml


def open_runtime(
    info: WeightsInfo, backend: str, imgsz: int | Shape, threads: int | None = None, precision: str = "f32"
) -> Runtime:
    """A runtime of one backend ("openvino", "onnx" or "torch") for the weights.

    Args:
        precision: "f32"; OpenVINO also computes in "bf16" or runs the NNCF "int8" model.

    Raises:
        ModelError: when that backend cannot export or run the model in that precision.
    """
    if backend not in BACKENDS:
        raise ModelError(f"backend must be one of {', '.join(BACKENDS)} or 'auto', got {backend!r}")
    if precision not in PRECISIONS or (backend != "openvino" and precision != "f32"):
        raise ModelError(
            f"{backend} runs in f32 only (openvino also bf16 and int8), got precision {precision!r}"
        )
    try:
        if backend == "openvino":
            fmt = "openvino-int8" if precision == "int8" else "openvino"
            return OpenVinoRuntime(exported_path(info, fmt, imgsz), imgsz, threads, precision)
        if backend == "onnx":
            return OnnxRuntime(exported_path(info, "onnx", imgsz), imgsz, threads)
        return TorchRuntime(info.path, imgsz, threads)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{backend} runtime for {info.path} failed: {type(exc).__name__}: {exc}") from exc


def open_fastest(info: WeightsInfo, imgsz: int | Shape, threads: int | None = None) -> Runtime:
    """The first backend that works, fastest first: OpenVINO, ONNX Runtime, PyTorch.

    Raises:
        ModelError: when none works, with each backend's reason.
    """
    reasons = []
    for backend in BACKENDS:
        try:
            return open_runtime(info, backend, imgsz, threads)
        except ModelError as exc:
            log.warning("detector backend %s unavailable, trying the next: %s", backend, exc)
            reasons.append(f"{backend}: {exc}")
    raise ModelError("no backend could run the model:\n  " + "\n  ".join(reasons))
