"""INT8 post-training quantisation of an exported OpenVINO model with NNCF, calibrated on phantom frames.

The calibration set is rendered in memory by the phantom generator (a fixed plan and seed, so every
run sees the same pixels): no dataset needs to be on disk, and nothing is downloaded. The held-out
volunteers the accuracy gate measures on (phantom seed 1) are never part of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from nnus_core.detector.processing import letterbox, to_tensor
from nnus_core.errors import ModelError

log = logging.getLogger(__name__)

CALIB_SEED = 0  # the training phantom's plan: its frames, not the held-out seed-1 volunteers
CALIB_PLAN = 790
CALIB_FRAMES = 32  # measured: 32 frames quantise in 5-7 s on 2 cores; 128 took twice that, no better
# Changes whenever the calibration or the NNCF settings change: a model card's accuracy check is
# valid only for the recipe it measured.
RECIPE = f"nncf-ptq-mixed-fbc-float-first-head-cls/phantom-s{CALIB_SEED}-n{CALIB_FRAMES}/v1"
JPEG_QUALITY = 90  # the phantom's own: calibrate on what the model was trained on
# Kept in float: the first convolution (the raw speckle), the head's box decoding (as ultralytics'
# own INT8 export does) and the last 1x1 convolution of each class branch (the class logits).
# Measured on 790 held-out phantom images (seed 1), AP@0.5 of the internal jugular vein (53 boxes),
# the organ quantisation hurt most: everything quantised -0.069, head decoding in float -0.069,
# plus the class logits -0.025, plus the first convolution -0.0035 (mAP@0.5 +0.0004).
_FLOAT_PATTERNS = (
    r".*__module\.model\.0\.conv/.*",
    r".*{head}/.*/Add",
    r".*{head}/.*/Sub.*",
    r".*{head}/.*/Mul.*",
    r".*{head}/.*/Div.*",
    r".*{head}\.dfl.*",
    r".*{head}\.cv3\.\d\.2/.*",
)


def float_patterns(op_names: list[str]) -> list[str]:
    """The ignored-scope patterns for a model's ops: its Detect head is the module holding `dfl`
    (model.22 in YOLOv8n, model.23 in YOLO11n)."""
    found = next((m.group(1) for n in op_names if (m := re.match(r"(__module\.model\.\d+)\.dfl", n))), None)
    head = re.escape(found) if found else r"__module\.model\.22"
    return [p.format(head=head) for p in _FLOAT_PATTERNS]


@lru_cache(maxsize=2)
def calibration_frames(n: int = CALIB_FRAMES) -> tuple[np.ndarray, ...]:
    """`n` grayscale phantom frames (447x494 uint8), evenly spread over the training plan, JPEG'd
    as the phantom writes them.

    Raises:
        ModelError: when the phantom generator is not installed.
    """
    try:
        from nnus_core.phantom import plan_dataset, render_frame
    except ImportError as exc:
        raise ModelError(f"INT8 calibration needs the phantom generator: {exc}") from exc
    plan = plan_dataset(CALIB_PLAN, CALIB_SEED)
    picks = np.linspace(0, len(plan) - 1, n).round().astype(int)
    frames = []
    for i in picks:
        image, _ = render_frame(plan[int(i)])
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        frames.append(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else image)
    return tuple(frames)


def calibration_inputs(shape: tuple[int, int], n: int = CALIB_FRAMES) -> list[np.ndarray]:
    """The calibration frames letterboxed to a model input of `shape` (height, width), as BGR uint8."""
    return [letterbox(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR), shape)[0] for f in calibration_frames(n)]


def quantize_openvino(xml: Path, shape: tuple[int, int], target: Path) -> Path:
    """Quantise the f32 OpenVINO model `xml` to INT8 and save it as `target`/model.xml (atomically).

    Raises:
        ModelError: when NNCF is not installed or the quantisation fails.
    """
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise ModelError(f"INT8 export needs nncf and openvino (pinned in requirements.txt): {exc}") from exc
    inputs = calibration_inputs(shape)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=target.parent))
    try:
        model = ov.Core().read_model(str(xml))
        nncf_log = logging.getLogger("nncf")
        level = nncf_log.level
        nncf_log.setLevel(logging.ERROR)  # a first-use export should not flood the app's log
        # NNCF draws progress bars on stdout, which a CLI printing JSON lines must keep clean.
        try:
            with contextlib.redirect_stdout(sys.stderr):
                quantized = nncf.quantize(
                    model,
                    nncf.Dataset(inputs, to_tensor),
                    # MIXED: symmetric weights, asymmetric activations (SiLU outputs are not centred).
                    preset=nncf.QuantizationPreset.MIXED,
                    subset_size=len(inputs),
                    fast_bias_correction=True,
                    # validate=False: a model without a YOLOv8 head (another architecture) is
                    # quantised whole, and its own accuracy check decides.
                    ignored_scope=nncf.IgnoredScope(
                        patterns=float_patterns([op.get_friendly_name() for op in model.get_ops()]),
                        types=["Sigmoid"],
                        validate=False,
                    ),
                )
        finally:
            nncf_log.setLevel(level)
        staged = work / "staged"
        staged.mkdir()
        ov.save_model(quantized, str(staged / "model.xml"))
        try:
            os.replace(staged, target)
        except OSError:
            if not (target / "model.xml").is_file():  # another process won the race otherwise
                raise
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"INT8 quantisation of {xml} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / "model.xml"


@lru_cache(maxsize=1)
def _check_frames(n: int) -> tuple[np.ndarray, ...]:
    from nnus_core.phantom import plan_dataset, render_frame

    plan = plan_dataset(CALIB_PLAN, CALIB_SEED)
    # Half-way between the calibration frames: other views than the ones the ranges were set on.
    step = (len(plan) - 1) / max(1, CALIB_FRAMES - 1)
    picks = (np.arange(n) * (len(plan) - 1) / max(1, n - 1) + step / 2).round().astype(int) % len(plan)
    return tuple(render_frame(plan[int(i)])[0] for i in picks)


def check_inputs(shape: tuple[int, int], n: int = 16) -> list[np.ndarray]:
    """`n` phantom frames that are not in the calibration set, letterboxed to `shape`, for comparing
    the INT8 model's boxes with f32's.

    Raises:
        ModelError: when the phantom generator is not installed.
    """
    try:
        frames = _check_frames(n)
    except ImportError as exc:
        raise ModelError(f"the INT8 check needs the phantom generator: {exc}") from exc
    return [letterbox(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR), shape)[0] for f in frames]
