"""The organ detector: loads a YOLO model, maps its classes onto the catalogue, returns Detections."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nnus_core.detection import Detection, Detections
from nnus_core.detector import familiar, fast
from nnus_core.detector.card import ModelCard, read_model_card
from nnus_core.detector.choice import RuntimeChoice, choose, config_for
from nnus_core.detector.processing import (
    NNUS_IMAGE_WH,
    as_bgr,
    decode,
    in_scan_area,
    letterbox,
    preprocess,
    tight_input_hw,
)
from nnus_core.errors import ClassMappingError, ModelError
from nnus_core.organs import ORGAN_NAMES, map_class_names
from nnus_core.settings import MODEL_ENV, get_settings

MODELS_DIR = get_settings().models_dir
DEFAULT_FILE = "DEFAULT"  # optional data/models/DEFAULT naming the default model folder
WEIGHTS_NAME = "best.pt"

ImageInput = np.ndarray | str | Path
log = logging.getLogger(__name__)


def default_model_dir(models_dir: Path | None = None) -> Path | None:
    """The folder of the model the app uses by default, or None when no model is shipped.

    Order: $NNUS_MODEL (a folder, or a weights file whose folder is used); the folder named in
    data/models/DEFAULT; the only folder holding best.pt; else the one whose card is newest.
    """
    p = get_settings().model
    if p and models_dir is None:
        return p.parent if p.is_file() else p
    root = models_dir or MODELS_DIR
    marker = root / DEFAULT_FILE
    if marker.is_file():
        named = root / marker.read_text().strip()
        if (named / WEIGHTS_NAME).is_file():
            return named
    found = sorted(p.parent for p in root.glob(f"*/{WEIGHTS_NAME}")) if root.is_dir() else []
    if len(found) <= 1:
        return found[0] if found else None

    def created(folder: Path) -> str:
        try:
            return json.loads((folder / "model_card.json").read_text()).get("created_utc", "")
        except (OSError, ValueError):
            return ""

    return max(found, key=lambda f: (created(f), f.name))


def default_weights(models_dir: Path | None = None) -> Path:
    """The shipped default weights file.

    Raises:
        ModelError: when no model is shipped.
    """
    p = get_settings().model
    if p and models_dir is None:
        if p.is_file():
            return p
        if not (p / WEIGHTS_NAME).is_file():
            raise ModelError(
                f"${MODEL_ENV} = {p}: expected a weights file or a folder holding {WEIGHTS_NAME}"
            )
    folder = default_model_dir(models_dir)
    if folder is None or not (folder / WEIGHTS_NAME).is_file():
        raise ModelError(
            f"no trained model found under {models_dir or MODELS_DIR} (expected <name>/{WEIGHTS_NAME}); "
            "train one with `python -m nnus_core.detector train --data DIR`"
        )
    return folder / WEIGHTS_NAME


class Detector:
    """A loaded organ detector; build it with `Detector.load`, share one per process (thread-unsafe)."""

    def __init__(
        self,
        runtime: fast.Runtime,
        info: fast.WeightsInfo,
        class_map: dict[int, int],
        model_card: ModelCard | None,
        choice: RuntimeChoice | None = None,
    ) -> None:
        self._runtime = runtime
        self.weights_path = info.path
        self.weights_sha256 = info.sha256
        self.class_names = info.names  # as the model names them, in model order
        self.imgsz = runtime.imgsz  # the input's longer side
        self.input_hw: tuple[int, int] = getattr(runtime, "input_hw", (runtime.imgsz, runtime.imgsz))
        self.backend = runtime.name
        self.precision = getattr(runtime, "precision", "f32")
        self.threads = int(getattr(runtime, "threads", 1))
        self.model_card = model_card
        self.choice: RuntimeChoice | None = choice  # how `auto` chose the runtime on this CPU
        self._lut = np.array([class_map[i] for i in range(len(info.names))], dtype=np.int64)

    @property
    def classes(self) -> tuple[str, ...]:
        """Catalogue names of the model's classes, in model order."""
        return tuple(ORGAN_NAMES[int(o)] for o in self._lut)

    @property
    def organ_ids(self) -> tuple[int, ...]:
        """Canonical organ id of each model class."""
        return tuple(int(o) for o in self._lut)

    @classmethod
    def load(
        cls,
        weights_path: str | Path | None = None,
        backend: str = "auto",
        imgsz: int | tuple[int, int] | None = None,
        threads: int | None = None,
        precision: str | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> Detector:
        """Load a detector.

        Args:
            weights_path: a YOLO .pt (or a model folder holding best.pt); default the shipped model.
            backend: "auto" (the runtime measured fastest on this CPU, see `detector.choice`; PyTorch
                when nothing else runs), "openvino", "onnx", "torch".
            imgsz: input size, a square side or (height, width); default the size the model was
                trained at. Each side must be a multiple of the model's stride.
            threads: inference threads; default every core (with "auto": the measured best).
                With "auto" and `threads=1`, the variant measured fastest on one thread.
            precision: "f32" (default for a named backend), or for OpenVINO "bf16" or "int8";
                with "auto" the measured choice decides.
                With "auto" and no `imgsz`, the choice may also run a smaller input (a longer
                side below the model's own) when that variant passed its accuracy check in the
                model card and was measured faster here; a given `imgsz` is kept as it is.
            frame_size: (width, height) of the images to come, when `imgsz` is not given: the
                input becomes the tight rectangle around them (`tight_input_hw`: 256x288 for the
                494x447 NNUS images and a 288 model, 11 % less work than 288x288) where the model
                card vouches for it (`_tight_input_if_allowed`) and it measured faster here than
                the square input (whose INT8 may be allowed where the tight input's is not).
                Other sizes stay right, only letterboxed more.

        Raises:
            ModelError: no model shipped, unreadable weights, or no backend can run them.
            ClassMappingError: the model's class names do not map onto the 8 organs.
        """
        if backend != "auto" and backend not in fast.BACKENDS:
            raise ModelError(f"backend must be one of auto, {', '.join(fast.BACKENDS)}, got {backend!r}")
        if weights_path is None:
            path = default_weights()
        else:
            path = Path(weights_path)
            if path.is_dir():
                path = path / WEIGHTS_NAME
        info = fast.weights_info(path)
        try:
            class_map = map_class_names(list(info.names))
        except ClassMappingError as exc:
            raise ClassMappingError(f"model {path} cannot be used: {exc}") from exc
        sized = imgsz is None  # the choice may pick a smaller input only when none was asked for
        card = read_model_card(path)
        if imgsz is None and frame_size is not None:
            imgsz = _tight_input_if_allowed(card, frame_size, info)
        size = fast.input_shape(imgsz or info.imgsz)
        frame = frame_size or (size[1], size[0])
        if min(size) < info.stride or any(side % info.stride for side in size):
            raise ModelError(
                f"imgsz must be a multiple of the model stride {info.stride}, got {fast.shape_tag(size)}"
            )
        if size[0] == size[1]:
            size = size[0]  # a square input keeps its plain cache name
        choice = None
        if backend == "auto" and precision is None:
            runtime, choice = _open_chosen(info, size, threads, card, frame if sized else None)
        elif backend == "auto":
            runtime = fast.open_runtime(info, "openvino", size, threads, precision)
        else:
            runtime = fast.open_runtime(info, backend, size, threads, precision or "f32")
        return cls(runtime, info, class_map, card, choice)

    def raw_output(self, image: ImageInput) -> np.ndarray:
        """The model's undecoded (4 + nc, A) output for one image (for parity checks)."""
        boxed, _ = preprocess(image, self.input_hw)
        return self._runtime(boxed)

    def predict_arrays(
        self,
        image: ImageInput,
        conf: float = 0.25,
        iou: float = 0.7,
        max_det: int = 300,
        *,
        scan_area: bool = True,
        gate: bool = True,
    ) -> Detections:
        """Detections of one image as columns (the evaluation's fast path); see `predict`."""
        bgr = as_bgr(image)
        boxed, lb = letterbox(bgr, self.input_hw)
        boxes, scores, cls = decode(self._runtime(boxed), lb, conf, iou, max_det)
        if scan_area and len(boxes):
            keep = in_scan_area(boxes, bgr)
            boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
        found = Detections(boxes, scores, self._lut[cls] if len(cls) else cls)
        return familiar.gate(found) if gate else found

    def predict(
        self,
        image: ImageInput,
        conf: float = 0.25,
        iou: float = 0.7,
        max_det: int = 300,
        *,
        scan_area: bool = True,
        gate: bool = True,
    ) -> list[Detection]:
        """Detect organs in one image.

        Args:
            image: a JPG/PNG path, or a grayscale, BGR or BGRA uint8 array of any size.
            conf: minimum confidence.
            iou: NMS IoU threshold within an organ.
            max_det: most detections returned.
            scan_area: keep only boxes centred inside the image's scan area and below its skin
                line (`in_scan_area`): none on a screenshot's dark margins, the scanner's text,
                logo and scales, or the skin.
            gate: on a frame unlike the training images (`familiar.is_familiar`: the model is
                less sure than on 99 % of its held-out phantom images), keep only the best box
                per organ at `familiar.GATED_CONF` or more.

        Returns:
            Detections by descending confidence, boxes in the input image's pixels.

        Raises:
            ImageReadError: for an image file that cannot be read.
            ModelError: for an array of another shape or type.
        """
        return list(self.predict_arrays(image, conf, iou, max_det, scan_area=scan_area, gate=gate))

    def predict_batch(
        self, images: Iterable[ImageInput], conf: float = 0.25, iou: float = 0.7, max_det: int = 300
    ) -> list[list[Detection]]:
        """`predict` for several images (one at a time: a batch of 1 is the fastest on a CPU)."""
        return [self.predict(im, conf, iou, max_det) for im in images]

    def describe(self) -> dict[str, object]:
        """Facts for a model page or a log line."""
        return {
            "weights": str(self.weights_path),
            "sha256": self.weights_sha256,
            "backend": self.backend,
            "precision": self.precision,
            "threads": self.threads,
            "imgsz": self.imgsz,
            "input_hw": list(self.input_hw),
            "classes": list(self.classes),
            "runtime_choice": self.choice.summary() if self.choice else None,
        }


def _open_chosen(
    info: fast.WeightsInfo,
    size: int | tuple[int, int],
    threads: int | None,
    card: ModelCard | None,
    frame: tuple[int, int] | None = None,
) -> tuple[fast.Runtime, RuntimeChoice | None]:
    """The runtime `auto` means: the measured choice for this CPU, or the first backend that runs.

    `frame`: (width, height) of the frames to come, when the input size is the choice's to make
    (a smaller-input variant is then sized for them); None keeps `size`.
    """
    variants = card.variants if card else None
    try:
        choice = choose(info, size, variants, frame_wh=frame)
        if frame is not None and fast.input_shape(size) != fast.input_shape(info.imgsz):
            # A tight input, with fewer precisions vouched for by the card (INT8 may fail its check
            # there and pass at the square input): run whichever input measured faster.
            square = choose(info, info.imgsz, variants, frame_wh=frame)
            if _chosen_ms(square, threads) < _chosen_ms(choice, threads):
                log.info("the square input %s measured faster than %s here", info.imgsz, fast.shape_tag(size))
                choice, size = square, info.imgsz
    except ModelError as exc:  # nothing exported runs: PyTorch may still
        log.warning("no measured runtime choice, falling back: %s", exc)
        return fast.open_fastest(info, size, threads), None
    # threads None: the latency choice; 1: what each video stream runs; else the fastest measured
    # at that thread count.
    cfg = config_for(choice, threads, sized=frame is not None)
    if cfg.imgsz and frame is not None:
        size = tight_input_hw(*frame, cfg.imgsz, info.stride)
    try:
        return fast.open_runtime(info, cfg.backend, size, cfg.threads, cfg.precision), choice
    except ModelError as exc:  # e.g. a cache folder removed since the measurement
        log.warning("chosen runtime %s failed, falling back: %s", cfg.label(), exc)
        return fast.open_fastest(info, size, threads), None


def _chosen_ms(choice: RuntimeChoice, threads: int | None) -> float:
    """Milliseconds measured for the config a detector with `threads` would open from `choice`."""
    cfg = config_for(choice, threads, sized=True)
    return dict(choice.measured_ms).get(cfg, float("inf"))


def _tight_input_if_allowed(card, frame_wh: tuple[int, int], info: fast.WeightsInfo) -> tuple[int, int] | int:  # noqa: ANN001
    """The tight input around `frame_wh` (256x288 for NNUS images and a 288 model), or the model's
    own square size where the model card does not vouch for it.

    A card that records accuracy checks of f32 at other inputs (`f32@HxW`) vouches only for the
    inputs whose check passed: measured, these models lean on the letterbox's padding (a 320 model
    lost 0.09 AP on the deep organs at 288x320; a 288 model drew boxes on scanner screens' margins
    at 224x288 that it never drew at 288x288). A model without such checks keeps the tight input.
    """
    tight = tight_input_hw(*frame_wh, info.imgsz, info.stride)
    if tight == (info.imgsz, info.imgsz):
        return info.imgsz
    variants = card.variants if card else {}
    entry = variants.get(f"f32@{fast.shape_tag(tight)}")
    checked = any(k.startswith("f32@") for k in variants)
    if (entry is not None and not entry.get("accepted")) or (entry is None and checked):
        log.info(
            "tight input %s not vouched for by the model card's checks; using %s",
            fast.shape_tag(tight),
            info.imgsz,
        )
        return info.imgsz
    return tight


def load_default_detector(backend: str = "auto") -> Detector:
    """The shipped detector for NNUS images on the fastest backend (wrap in the app's resource cache).

    Its input is cut to the NNUS images' aspect where the model card's check passed (256x288 for
    the 288 model: on 790 held-out phantom images, mAP@0.5 0.936 against 0.932 at 288x288).

    Raises:
        ModelError: when no model is shipped or it cannot be run.
    """
    return Detector.load(None, backend=backend, frame_size=NNUS_IMAGE_WH)


def to_json_line(image: str, detections: Sequence[Detection]) -> str:
    """One JSON line for the detect CLI."""
    return json.dumps({"image": image, "detections": [d.to_dict() for d in detections]})
