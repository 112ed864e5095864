"""Detector latency on phantom images: ultralytics' default predict vs PyTorch on all cores vs the fast path.

Usage: python bench/detector_latency.py [--model PATH] [--imgsz N] [--runs 60] [--images 12]

Each backend runs the same images (batch 1, conf 0.25) in interleaved rounds, so a burst of load
from other processes hits all of them alike; medians and 90th percentiles are per image,
pre- and post-processing included, with the process CPU time per image beside them. Then prints the shipped model's held-out phantom metrics
(its eval_test.json, and any further held-out set recorded in its model card). The headline, last: `fast_path_median_ms: X`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.isa_cap import restart_capped  # noqa: E402

os.environ.setdefault("YOLO_OFFLINE", "1")


def _images(n: int, tmp: Path) -> tuple[list[Path], str]:
    try:
        from nnus_core.phantom import generate_dataset

        folder = generate_dataset(tmp / "phantom", n=n, seed=2024, jobs=1)
        return sorted((folder / "images").glob("*.jpg")), "phantom"
    except ImportError:
        import cv2

        rng = np.random.default_rng(0)
        paths = []
        for i in range(n):
            p = tmp / f"noise_{i}.png"
            cv2.imwrite(str(p), cv2.GaussianBlur((rng.random((447, 494)) * 255).astype(np.uint8), (0, 0), 3))
            paths.append(p)
        return paths, "synthetic noise"


def _random_model(path: Path, imgsz: int) -> Path:
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from nnus_core.organs import ORGAN_NAMES

    model = DetectionModel("yolov8n.yaml", nc=8, verbose=False)
    model.names = dict(enumerate(ORGAN_NAMES))
    torch.save({"model": model.half(), "train_args": {"imgsz": imgsz}}, path)
    return path


def _stats(ts: list[float]) -> tuple[float, float]:
    a = np.array(ts) * 1000
    return float(np.median(a)), float(np.percentile(a, 90))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="weights .pt (default: the shipped model, else random yolov8n weights)")
    ap.add_argument("--imgsz", type=int, help="input size (default: the model's)")
    ap.add_argument("--runs", type=int, default=60, help="timed images per backend")
    ap.add_argument("--images", type=int, default=12, help="distinct phantom images")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    ap.add_argument(
        "--max-isa",
        choices=["avx2", "avx2_vnni", "avx512_core", "avx512_core_vnni"],
        help="cap OpenVINO's and PyTorch's kernels at this ISA on both sides (ONEDNN_MAX_CPU_ISA): "
        "what a CPU without the newer instructions runs; ONNX Runtime, which ignores the cap, is left out",
    )
    args = ap.parse_args(argv)
    restart_capped(args.max_isa)

    # ultralytics as installed: importing it first sets OMP_NUM_THREADS=1 before torch starts.
    from ultralytics import YOLO  # noqa: I001 - must come before torch

    import torch

    from nnus_core.detector import Detector, default_weights
    from nnus_core.errors import ModelError

    tmp = Path(tempfile.mkdtemp(prefix="nnus-bench-"))
    shipped = True
    if args.model:
        weights = Path(args.model)
    else:
        try:
            weights = default_weights()
        except ModelError:
            shipped = False
            weights = _random_model(tmp / "random_yolov8n.pt", args.imgsz or 480)
    images, kind = _images(args.images, tmp)
    import cv2

    frames = [cv2.imread(str(p)) for p in images]

    from nnus_core.detector.cpu import read_cpu

    cpu = read_cpu()
    print(f"cpu: {cpu.describe()}")
    print(f"cpu_flags: {' '.join(cpu.flags)}")
    t0 = time.perf_counter()
    from nnus_core.detector.fast import weights_info
    from nnus_core.detector.processing import NNUS_IMAGE_WH, tight_input_hw

    print(f"load_avg_at_start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    info = weights_info(weights)
    # The peer runs at the size the model was trained at; so does every row marked "own size".
    imgsz = args.imgsz or info.imgsz
    full = tight_input_hw(*NNUS_IMAGE_WH, imgsz, info.stride)  # 288x320 for the 320 model
    # What the app and the detect CLI run: the input cut to the NNUS images' aspect, on the runtime
    # measured fastest here (exported, measured and cached on the first run), which may be a
    # smaller input whose accuracy check in the model card passed.
    if args.imgsz:
        fast = Detector.load(weights, imgsz=full)
    else:
        fast = Detector.load(weights, frame_size=NNUS_IMAGE_WH)
    shape = fast.input_hw
    load_s = time.perf_counter() - t0
    choice = fast.choice
    if choice is not None:
        print(f"chosen: {choice.summary()}")
        print(f"choice cached at {choice.path} (load {load_s:.1f} s; measured in {choice.measure_s:.1f} s)")
        print("\n".join(choice.table()))
    else:
        print(f"chosen: {fast.backend} {fast.precision} (no measured choice: fallback)")
    ncpu = os.cpu_count() or 1
    default_threads = torch.get_num_threads()
    yolo = YOLO(str(weights), task="detect")

    def ultra_default(f):
        torch.set_num_threads(default_threads)
        return yolo.predict(f, imgsz=imgsz, conf=0.25, device="cpu", verbose=False)

    def ultra_all_cores(f):
        torch.set_num_threads(ncpu)
        return yolo.predict(f, imgsz=imgsz, conf=0.25, device="cpu", verbose=False)

    ours_torch = Detector.load(weights, backend="torch", imgsz=imgsz)

    def ours_torch_all_cores(f):
        torch.set_num_threads(ncpu)
        return ours_torch.predict(f)

    candidates = {
        "ultralytics predict (as installed)": ultra_default,
        f"ultralytics predict, torch {ncpu} threads": ultra_all_cores,
        f"Detector torch backend, {ncpu} threads": ours_torch_all_cores,
    }
    if not cpu.onnxruntime_comparable:
        print(f"onnx backend: left out, ONNX Runtime ignores the {cpu.cap} ISA cap")
    else:
        try:
            onnx = Detector.load(weights, backend="onnx", imgsz=shape)
            candidates["Detector onnx backend"] = onnx.predict
        except ModelError as exc:
            print(f"onnx backend unavailable: {exc}")
    allowed = choice.allowed if choice is not None else ("openvino/f32",)
    for variant in allowed:
        base, _, side = variant.partition("@")
        backend, precision = base.split("/")
        at = tight_input_hw(*NNUS_IMAGE_WH, int(side), info.stride) if side else full
        if backend == "onnx" or (backend, precision, at) == (fast.backend, fast.precision, shape):
            continue
        for threads in (1,):  # every thread count is in the choice's own table above
            det = Detector.load(weights, backend=backend, imgsz=at, precision=precision, threads=threads)
            candidates[f"Detector {backend} {precision} {at[0]}x{at[1]}, {threads} thread(s)"] = det.predict
    if fast.threads != 1:
        fast_1t = Detector.load(
            weights, backend=fast.backend, imgsz=shape, threads=1, precision=fast.precision
        )
        candidates[f"Detector {fast.backend} {fast.precision} {shape[0]}x{shape[1]}, 1 thread"] = (
            fast_1t.predict
        )
    own = Detector.load(weights, imgsz=full)  # the choice kept to the model's own input size
    candidates[
        f"Detector chosen at own size {full[0]}x{full[1]} ({own.backend} {own.precision}, {own.threads} t)"
    ] = own.predict
    square = Detector.load(weights, imgsz=imgsz)
    candidates[f"Detector chosen, square {imgsz}x{imgsz} ({square.backend} {square.precision})"] = (
        square.predict
    )
    candidates[
        f"Detector fast path (chosen: {fast.backend} {fast.precision}, {fast.threads} threads, {shape[0]}x{shape[1]})"
    ] = fast.predict

    samples: dict[str, list[float]] = {k: [] for k in candidates}
    cpu_ms: dict[str, list[float]] = {k: [] for k in candidates}
    per_round = max(1, args.runs // args.rounds)
    for fn in candidates.values():  # warm-up
        for f in frames[:3]:
            fn(f)
    for _ in range(args.rounds):
        for name, fn in candidates.items():
            for i in range(per_round):
                f = frames[i % len(frames)]
                t, c = time.perf_counter(), time.process_time()
                fn(f)
                samples[name].append(time.perf_counter() - t)
                cpu_ms[name].append((time.process_time() - c) * 1000)

    print(f"\nmodel: {weights}{'' if shipped else ' (RANDOM weights: no shipped model yet)'}")
    print(
        f"imgsz {imgsz} (ours {shape[0]}x{shape[1]} chosen, {full[0]}x{full[1]} at own size: the NNUS aspect; "
        f"ultralytics pads to {imgsz}x{imgsz}), "
        f"{len(frames)} {kind} images 494x447, batch 1, {per_round * args.rounds} runs each"
    )
    print(f"cpu: {cpu.describe()}, load average {os.getloadavg()}")
    load1 = os.getloadavg()[0]
    if load1 > 0.5 * ncpu:
        print(
            f"WARNING: the machine is busy (load {load1:.1f} on {ncpu} cores): every latency is inflated and "
            "multi-threaded runtimes suffer most; compare rows of this run only."
        )
    print(f"\n{'backend':<76} {'median ms':>10} {'p90 ms':>8} {'cpu ms':>8}")
    res = {k: _stats(v) for k, v in samples.items()}
    for k, (med, p90) in res.items():
        print(f"{k:<76} {med:>10.1f} {p90:>8.1f} {float(np.median(cpu_ms[k])):>8.1f}")
    print("(cpu ms: process CPU time per image, summed over threads)")
    base = res["ultralytics predict (as installed)"][0]
    fast_name = next(k for k in res if k.startswith("Detector fast path"))
    fast_med = res[fast_name][0]
    print(
        f"\nspeed-up of the fast path over ultralytics' default predict: {base / fast_med:.1f}x "
        f"(target >= 4x and <= 12 ms on a 2-core AVX2 CPU)"
    )

    card_dir = weights.parent
    ev = card_dir / "eval_test.json"
    if shipped and ev.is_file():
        d = json.loads(ev.read_text())
        o = d["overall"]
        print(
            f"\nheld-out {d['data']['kind']} metrics ({d['split']} split, {d['data']['n_images']} images, "
            f"subjects {', '.join(d['data']['subjects'])}):"
        )
        print(
            f"  mAP@0.5 {o['map50']:.3f}  mAP@0.5:0.95 {o['map50_95']:.3f}  P {o['precision']:.3f}  R {o['recall']:.3f}"
        )
        for c in d["per_class"]:
            print(f"  {c['name']:<24} n={c['n_gt']:<4} AP@0.5 {c['ap50']}  AP@0.5:0.95 {c['ap50_95']}")
    else:
        print("\nno held-out metrics: no shipped model with eval_test.json")
    card = (
        json.loads((card_dir / "model_card.json").read_text())
        if (card_dir / "model_card.json").is_file()
        else {}
    )
    for name, e in (card.get("evaluations") or {}).items() if shipped else ():
        o = e["overall"]
        print(
            f"\nfurther held-out set from the model card, {name!r} ({e['data'].get('kind')}, "
            f"{e['data'].get('n_images')} images, {len(e['data'].get('subjects') or [])} volunteers not trained on):"
        )
        print(
            f"  mAP@0.5 {o['map50']:.3f}  mAP@0.5:0.95 {o['map50_95']:.3f}  P {o['precision']:.3f}  R {o['recall']:.3f}"
        )
        for c in e["per_class"]:
            print(f"  {c['name']:<24} n={c['n_gt']:<4} AP@0.5 {c['ap50']}  AP@0.5:0.95 {c['ap50_95']}")
    print(f"load_avg_at_end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"speedup_vs_ultralytics_default: {base / fast_med:.2f}")
    print(f"fast_path_median_ms: {fast_med:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
