"""End-to-end video fps (decode, detect, draw, encode) of our pipeline vs a plain ultralytics loop.

The peer is what an ultralytics user writes: `YOLO(pt).predict(source=video, stream=True)` and
`cv2.VideoWriter` (mp4v) with `result.plot()`. Both run the same weights on the same clip, in
this process, alternating (ours, peer, ours, ...); each side's figure is the median of its runs, and
the headline compares each peer run with our runs on either side of it (median of those ratios).
Ours is `process_video` with the app's default options (tracking on, H.264 ultrafast) on the
detectors the page and the CLI load (`load_video_detectors`: OpenVINO, one inference stream per
core, the input cut to the clip's aspect: 288x320 for 494x448 where ultralytics pads to 320x320).

    python bench/video_fps.py [--seconds 12] [--model PATH] [--clip PATH] [--trackers]

Without a shipped model an untrained yolov8n with 8 organ classes is built from its yaml: the
timing of a random-weight model is the same as a trained one of the same size. Figures are printed
as `name: value`, the headline (our speed-up over the peer) last.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402

from bench.isa_cap import restart_capped  # noqa: E402
from nnus_core.video import VideoOptions, detection_size, flicker_stats, probe_video, process_video  # noqa: E402
from nnus_core.video.tracking import as_columns, detector_threshold, make_tracker  # noqa: E402
from tests.synthetic_video import noisy_detections, write_random_model, write_test_clip  # noqa: E402


class SupervisionTracker:
    """The recipe supervision and `trackers` document: ByteTrackTracker -> drop tracker_id -1 ->
    DetectionsSmoother. Only for comparison (neither package is a requirement)."""

    def __init__(self, conf: float, fps: float = 30.0) -> None:
        import supervision as sv
        from trackers import ByteTrackTracker

        self.sv = sv
        self.tracker = ByteTrackTracker(
            lost_track_buffer=int(round(fps)),
            frame_rate=fps,
            track_activation_threshold=conf,
            minimum_consecutive_frames=2,
            high_conf_det_threshold=conf,
        )
        self.smoother = sv.DetectionsSmoother(length=5)

    def update(self, columns) -> list:
        import warnings

        from nnus_core.detection import Detection
        from nnus_core.geometry import BoxPx

        sv = self.sv
        d = (
            sv.Detections(xyxy=columns.xyxy, confidence=columns.confidence, class_id=columns.class_id)
            if len(columns.confidence)
            else sv.Detections.empty()
        )
        tracked = self.tracker.update(d)
        if len(tracked):
            tracked = tracked[tracked.tracker_id != -1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "smoothing skipped" on a frame without tracks
            sm = self.smoother.update_with_detections(tracked)
        out = []
        for i in range(len(sm)):
            x1, y1, x2, y2 = (float(v) for v in sm.xyxy[i])
            c = float(min(max(sm.confidence[i], 0.0), 1.0))
            out.append(
                Detection(
                    int(sm.class_id[i]), c, BoxPx(x1, y1, max(x1, x2), max(y1, y2)), int(sm.tracker_id[i])
                )
            )
        return out


def id_switches(frames) -> int:
    """How often the most confident box of an organ changes its track id between frames it is shown in."""
    n = 0
    for oid in {d.organ_id for f in frames for d in f}:
        prev = None
        for f in frames:
            best = max((d for d in f if d.organ_id == oid), key=lambda d: d.confidence, default=None)
            if best is not None:
                n += prev is not None and best.track_id != prev
                prev = best.track_id
    return n


def tracker_figures(kinds: list[str], seeds: int = 5, repeats: int = 3) -> None:
    """Flicker, ID switches and ms a frame of each tracker on the same noisy detections, interleaved."""
    import numpy as np

    from nnus_core.geometry import iou

    figures: dict[str, dict[str, list[float]]] = {
        k: {"tog": [], "jit": [], "ids": [], "iou": [], "ms": []} for k in kinds
    }
    for rep in range(repeats):
        for seed in range(seeds):
            frames, truth = noisy_detections(300, seed=seed)
            for kind in kinds:
                tracker = SupervisionTracker(0.25) if kind == "supervision" else make_tracker(kind, 0.25)
                low = detector_threshold("smooth" if kind == "supervision" else kind, 0.25)
                given = [as_columns([d for d in f if d.confidence >= low]) for f in frames]
                t0 = time.perf_counter()
                shown = [tracker.update(f) for f in given]
                figures[kind]["ms"].append((time.perf_counter() - t0) * 1000 / len(frames))
                if rep:
                    continue
                st = flicker_stats(shown)
                figures[kind]["tog"].append(st.toggles_per_100_frames)
                figures[kind]["jit"].append(st.jitter_px)
                figures[kind]["ids"].append(id_switches(shown))
                ious = [
                    max((iou(d.box, box) for d in f if d.organ_id == oid), default=0.0)
                    for f, true in zip(shown, truth, strict=True)
                    for oid, box in true.items()
                ]
                figures[kind]["iou"].append(float(np.mean(ious)))
    for kind, f in figures.items():
        print(
            f"flicker_{kind}: toggles/100 frames {np.mean(f['tog']):.1f}, jitter {np.mean(f['jit']):.2f} px, "
            f"id switches {np.mean(f['ids']):.1f}/300 frames, mean IoU {np.mean(f['iou']):.3f}, "
            f"tracker {statistics.median(f['ms']):.3f} ms/frame (synthetic noisy detections, {seeds} clips)"
        )


def make_clip(folder: Path, seconds: float, fps: float) -> Path:
    """A phantom sweep (494x448 H.264) when the phantom can render one, else moving ellipses 494x447."""
    try:
        from nnus_core.phantom import write_sweep

        return write_sweep(folder, "transverse", seconds, fps, seed=0)
    except ImportError:
        path = folder / "ellipses.mp4"
        write_test_clip(path, width=494, height=447, n_frames=int(seconds * fps), fps=fps)
        return path


def weights_for_bench(folder: Path, model: str | None) -> Path:
    if model:
        return Path(model)
    from nnus_core.detector import default_model_dir

    shipped = default_model_dir()
    if shipped is not None:
        return shipped / "best.pt"
    return write_random_model(folder / "random_yolov8n.pt", "yolov8n.yaml", imgsz=480)


def run_ours(clip: Path, out: Path, detector, options: VideoOptions) -> tuple[float, float, dict]:
    """(frames/s, CPU ms per frame, busy seconds per stage)."""
    cpu0 = time.process_time()
    res = process_video(clip, out, detector, options, csv_path=out.with_suffix(".csv"))
    return res.fps, (time.process_time() - cpu0) * 1000 / res.frames_out, res.timings_s


def run_ultralytics(clip: Path, out: Path, weights: Path, imgsz: int) -> tuple[float, float]:
    """(frames/s, CPU ms per frame) of the plain ultralytics loop."""
    import cv2
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    ok, first = cap.read()
    cap.release()
    model.predict(first, imgsz=imgsz, verbose=False)  # warm-up outside the timing, as for ours
    h, w = first.shape[:2]
    t0, cpu0 = time.perf_counter(), time.process_time()
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    n = 0
    for r in model.predict(source=str(clip), stream=True, imgsz=imgsz, conf=0.25, iou=0.7, verbose=False):
        writer.write(r.plot())
        n += 1
    writer.release()
    return n / (time.perf_counter() - t0), (time.process_time() - cpu0) * 1000 / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=float, default=12.0, help="clip length at 25 fps (default 12 s = 300 frames)"
    )
    ap.add_argument("--model", help="weights .pt (default: the shipped model, else an untrained yolov8n)")
    ap.add_argument("--clip", help="an existing video instead of a phantom sweep")
    ap.add_argument("--skip-peer", action="store_true", help="time only our pipeline")
    ap.add_argument("--pairs", type=int, default=4, help="peer runs, each followed by a run of ours")
    ap.add_argument(
        "--trackers",
        action="store_true",
        help="also compare the trackers on 5 noisy clips: flicker, ID switches, IoU, ms/frame "
        "(with supervision's ByteTrack + smoother when supervision and trackers are installed)",
    )
    ap.add_argument(
        "--max-isa",
        choices=["avx2", "avx2_vnni", "avx512_core", "avx512_core_vnni"],
        help="cap OpenVINO's and PyTorch's kernels at this ISA on both sides (ONEDNN_MAX_CPU_ISA): "
        "what a CPU without the newer instructions runs; ONNX Runtime, which ignores the cap, is left out",
    )
    args = ap.parse_args()
    restart_capped(args.max_isa)

    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        work = Path(tmp)
        clip = Path(args.clip) if args.clip else make_clip(work, args.seconds, 25.0)
        info = probe_video(clip)
        weights = weights_for_bench(work, args.model)
        from nnus_core.detector import Detector
        from nnus_core.detector.cpu import read_cpu
        from nnus_core.detector.fast import weights_info
        from nnus_core.video.runtime import load_video_detectors

        cpu = read_cpu()
        print(f"cpu: {cpu.describe()}")
        print(f"cpu_flags: {' '.join(cpu.flags)}")
        print(f"load_avg_at_start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        own = weights_info(weights).imgsz  # the peer runs at the size the model was trained at
        # What the page and the CLI run: the input cut to the clip's aspect (288x320 for 494x448).
        detectors = load_video_detectors(weights, frame_size=detection_size(info))
        first = detectors[0]
        if first.choice is not None:
            print(f"chosen: {first.choice.summary()}")
            print("\n".join(first.choice.table()))
        print(f"cpu_cores: {os.cpu_count()}  load_avg_1min: {os.getloadavg()[0]:.2f}")
        print(
            f"clip: {clip.name} {info.width_px}x{info.height_px} {info.frames_estimate} frames {info.codec}"
        )
        print(
            f"model: {weights.name} backend={first.backend} precision={first.precision} imgsz={first.imgsz}"
            f" input={first.input_hw[0]}x{first.input_hw[1]} (peer: {own}x{own}, ultralytics' letterbox)"
            f"  detectors: {len(detectors)} streams x {first.threads} thread"
        )
        # One warm-up pass so that both sides start with compiled models and warm caches.
        process_video(clip, work / "warm.mp4", detectors, VideoOptions(), info=info)

        def ours(name: str, dets, opts: VideoOptions) -> float:
            fps, cpu_ms, timings = run_ours(clip, work / f"{name}.mp4", dets, opts)
            print(f"{name}: {fps:.1f}   (CPU {cpu_ms:.1f} ms/frame; stage busy seconds {timings})")
            return fps

        # Ours and the peer alternate (ours, peer, ours, peer, ..., ours), so that a neighbour's load
        # shifting over time hits both sides; each side's figure is the median of its runs.
        runs = [ours("ours_default_fps", detectors, VideoOptions())]
        peers: list[float] = []
        for i in range(0 if args.skip_peer else args.pairs):
            fps, cpu = run_ultralytics(clip, work / "peer.mp4", weights, own)
            peers.append(fps)
            print(
                f"ultralytics_predict_stream_cv2_fps: {fps:.1f}   (CPU {cpu:.1f} ms/frame; PyTorch as "
                "installed, mp4v: does not play in Chromium)"
            )
            runs.append(ours(f"ours_default_run{i + 2}_fps", detectors, VideoOptions()))
        ours("ours_superfast_smaller_file_fps", detectors, VideoOptions(preset="superfast"))
        ours("ours_no_tracking_fps", detectors, VideoOptions(tracker="none"))
        ours("ours_stride2_fps", detectors, VideoOptions(stride=2))  # detector on every 2nd frame only
        if first.imgsz != own:  # the choice at the model's own input size, as the peer's
            full = load_video_detectors(weights, imgsz=own, frame_size=detection_size(info))
            process_video(clip, work / "warm_full.mp4", full, VideoOptions(), info=info)
            ours(f"ours_own_size_{full[0].backend}_{full[0].precision}_fps", full, VideoOptions())
        square = load_video_detectors(weights, imgsz=own)  # the same, on a square input as the peer's
        process_video(clip, work / "warm_sq.mp4", square, VideoOptions(), info=info)
        ours("ours_square_input_fps", square, VideoOptions())
        single = Detector.load(weights, imgsz=first.input_hw)  # one detector on every core, same input
        process_video(clip, work / "warm1.mp4", single, VideoOptions(), info=info)
        ours("ours_one_detector_all_threads_fps", single, VideoOptions())

        frames, _ = noisy_detections(300, seed=0)
        for kind in ("none", "smooth", "bytetrack"):
            tracker = make_tracker(kind, 0.25)
            low = detector_threshold(kind, 0.25)
            st = flicker_stats(
                [tracker.update(as_columns([d for d in f if d.confidence >= low])) for f in frames]
            )
            print(
                f"flicker_{kind}: toggles/100 frames {st.toggles_per_100_frames:.1f}, jitter {st.jitter_px:.2f} px "
                "(synthetic noisy detections)"
            )
        if args.trackers:
            kinds = ["none", "smooth", "bytetrack"]
            if importlib.util.find_spec("trackers") and importlib.util.find_spec("supervision"):
                kinds.append("supervision")
            else:
                print(
                    "supervision: not installed (pip install supervision==0.31.2 trackers==2.6.1 to compare)"
                )
            tracker_figures(kinds)
        with av.open(str(work / "ours_default_fps.mp4")) as c:
            s = c.streams.video[0]
            print(
                f"ours_output: {s.codec_context.name} {s.codec_context.pix_fmt} {s.width}x{s.height} faststart"
            )
        print(f"load_avg_1min_after: {os.getloadavg()[0]:.2f}")
        end_to_end = statistics.median(runs)
        print(f"end_to_end_fps: {end_to_end:.1f}   (median of {len(runs)} runs)")
        if peers:
            peer = statistics.median(peers)
            print(f"ultralytics_loop_fps: {peer:.1f}   (median of {len(peers)} runs)")
            print(f"ratio_of_medians: {end_to_end / peer:.2f}")
            # The host's speed drifts by up to 2x within minutes: each peer run is compared with the
            # mean of our runs just before and just after it, and the headline is the median ratio.
            ratios = [(runs[i] + runs[i + 1]) / 2 / p for i, p in enumerate(peers)]
            print(f"paired_ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
            print(
                f"speedup_vs_ultralytics_loop: {statistics.median(ratios):.2f}   (median of {len(ratios)} pairs)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
