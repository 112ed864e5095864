"""Detectors for video: the runtime chosen for this CPU, one inference stream (one thread) per core."""

from __future__ import annotations

import queue
from pathlib import Path

import numpy as np

# The tight input rectangle lives with the letterbox; video sizes its detectors with it.
from nnus_core.detector.processing import MAX_SHRINK  # noqa: F401 - re-exported
from nnus_core.detector.processing import tight_input_hw as video_input_hw  # noqa: F401 - re-exported
from nnus_core.errors import ModelError

# One frame takes 5-40 ms here; a request that has not answered in this long never will, and the
# run is failed with a message instead of leaving the page waiting.
INFER_TIMEOUT_S = 60.0
_WAIT_SLICE_MS = 1000


def video_stream_count() -> int:
    """How many frames to detect at once: one per core the process may use, at most 4."""
    from nnus_core.detector.choice import video_stream_count as count

    return count()


class _Slot:
    """One infer request with numpy views of its own input and output tensors."""

    def __init__(self, request) -> None:  # noqa: ANN001 - an openvino.InferRequest
        self.request = request
        self.input = request.get_input_tensor(0).data
        self.output = request.get_output_tensor(0).data


class ThroughputOpenVino:
    """A detector runtime that many threads may call at once: one compiled model in OpenVINO's
    THROUGHPUT mode with `streams` single-thread streams, and a pool of infer requests.

    Measured here (yolov8n, 416 px, 2 cores): two threads each calling a one-thread LATENCY model
    ran one after the other (12.5 ms a frame, one core busy); the same two threads on one
    THROUGHPUT model with two streams ran side by side (5.7 ms a frame).

    No call into OpenVINO that keeps the GIL can wait on anything. A run once froze for good (a
    0.5 fps clip, once in 45 runs; not reproduced here in 3,400 short runs): one detector thread
    held the GIL while waiting inside the binding, the other waited for the GIL inside it. Each
    detector thread used to create its request on first use (in every run: the worker threads
    live for one run, and their requests died with them at thread exit, inside CPython's
    thread teardown) and to call `infer(..., share_inputs=True)`, whose input set-up and result
    read run inside the binding with the GIL held, beside the other thread's inference. Now every
    request is created here, before any inference, with numpy views of its own tensors: a call
    copies the frame into its request's input in numpy, then calls only `start_async` and
    `wait_for`, both of which release the GIL before they touch OpenVINO. A thread takes a request
    from the pool for one call, so no two threads ever share one, and `wait_for` bounds the wait:
    a request that does not answer within INFER_TIMEOUT_S raises ModelError (and is retired)
    instead of hanging the page.

    Same contract as the detector package's runtimes: a letterboxed (H, W, 3) uint8 BGR image in,
    the (4 + nc, A) output out, with the same in-graph conversion to RGB floats in [0, 1].
    """

    name = "openvino"

    def __init__(
        self,
        xml: Path,
        imgsz: int | tuple[int, int],
        streams: int,
        precision: str = "f32",
        requests: int | None = None,
    ) -> None:
        from nnus_core.detector.fast import openvino_config, openvino_model_with_preprocessing

        core, model = openvino_model_with_preprocessing(xml)
        cfg = {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams, **openvino_config(xml, precision)}
        self._compiled = core.compile_model(model, "CPU", cfg)
        self.input_hw = (imgsz, imgsz) if isinstance(imgsz, int) else (int(imgsz[0]), int(imgsz[1]))
        self.imgsz = max(self.input_hw)
        self.streams = streams
        self.threads = 1  # per stream
        self.precision = precision
        # Two requests a stream: two runs at once (two sessions of the page) still never wait.
        self.requests = requests or 2 * streams
        self._pool: queue.Queue[_Slot] = queue.Queue()
        for _ in range(self.requests):
            self._pool.put(_Slot(self._compiled.create_infer_request()))

    def __call__(self, letterboxed: np.ndarray, timeout_s: float | None = None) -> np.ndarray:
        limit = INFER_TIMEOUT_S if timeout_s is None else timeout_s
        try:
            slot = self._pool.get(timeout=limit)
        except queue.Empty:
            raise ModelError(
                f"no OpenVINO infer request came free within {limit:.0f} s ({self.requests} in use): "
                "the detector is stuck; the run was stopped"
            ) from None
        try:
            np.copyto(slot.input, letterboxed.reshape(slot.input.shape))
            slot.request.start_async()
            waited_ms = 0
            while not slot.request.wait_for(_WAIT_SLICE_MS):
                waited_ms += _WAIT_SLICE_MS
                if waited_ms >= limit * 1000:
                    slot = None  # still running: this request is never given out again
                    raise ModelError(
                        f"the detector gave no answer within {limit:.0f} s (OpenVINO inference did not "
                        "finish); the run was stopped"
                    )
            return slot.output[0].copy()
        finally:
            if slot is not None:
                self._pool.put(slot)


def load_video_detectors(
    weights_path: str | Path | None = None,
    n: int | None = None,
    imgsz: int | None = None,
    frame_size: tuple[int, int] | None = None,
) -> list:
    """Detectors for `process_video`, which runs each on its own thread on alternate frames.

    The backend, precision and input size are the ones measured fastest on one thread on this CPU
    (`nnus_core.detector.choice`, the same choice the image detector makes). With OpenVINO: one
    Detector on a ThroughputOpenVino runtime, listed `n` times (it is safe to call from `n`
    threads). Otherwise (ONNX Runtime chosen, or no OpenVINO): `n` single-thread copies.

    Args:
        weights_path: a .pt or model folder; default the shipped model.
        n: frames in flight; default one per core (at most 4).
        imgsz: input size (the longer side); default the size the model was trained at.
        frame_size: (width, height) of the frames to come: the input becomes the tight
            rectangle `video_input_hw` for them (exported once per shape, then cached) instead of
            a square. Detections stay right for frames of any other size, only slower.

    Raises:
        ModelError: when no model is shipped or it cannot be run.
        ClassMappingError: when its classes are not the 8 organs.
    """
    from nnus_core.detector import Detector
    from nnus_core.detector.card import read_model_card
    from nnus_core.detector.detector import WEIGHTS_NAME, default_weights
    from nnus_core.detector.fast import exported_path, weights_info
    from nnus_core.errors import ModelError
    from nnus_core.organs import map_class_names

    path = default_weights() if weights_path is None else Path(weights_path)
    if path.is_dir():
        path = path / WEIGHTS_NAME
    shape: int | tuple[int, int] | None = imgsz
    if frame_size is not None and imgsz is not None:
        info = weights_info(path)
        shape = video_input_hw(*frame_size, imgsz, info.stride)
    # Detector.load validates the weights, the class names and the size, exports the model and
    # (backend "auto", one thread) opens the variant measured fastest on one thread here: with no
    # `imgsz`, sized for the frames (`video_input_hw`), maybe at a smaller input whose accuracy
    # check passed, exactly as the image detector chooses.
    first = Detector.load(path, imgsz=shape, threads=1, frame_size=frame_size if shape is None else None)
    count = n or (first.choice.video_streams if first.choice else video_stream_count())
    if count == 1:
        return [first]
    if first.backend == "openvino":
        try:
            info = weights_info(path)
            fmt = "openvino-int8" if first.precision == "int8" else "openvino"
            runtime = ThroughputOpenVino(
                exported_path(info, fmt, first.input_hw), first.input_hw, count, first.precision
            )
            shared = Detector(
                runtime, info, map_class_names(list(info.names)), read_model_card(path), first.choice
            )
            return [shared] * count
        except (ImportError, ModelError, RuntimeError):
            pass  # copies below
    # Copies on one thread each still overlap detection with decoding and encoding.
    return [first] + [
        Detector.load(path, backend=first.backend, imgsz=first.input_hw, threads=1, precision=first.precision)
        for _ in range(count - 1)
    ]
