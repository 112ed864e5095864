"""Command line: `python -m nnus_core.video IN OUT.mp4 [options]`, the Video page's pipeline for lecture prep."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from nnus_core.errors import NnusError, VideoError
from nnus_core.organs import N_ORGANS, ORGAN_NAMES, organ_id_for
from nnus_core.video.pipeline import (
    LABEL_STYLES,
    PRESETS,
    Progress,
    VideoOptions,
    detection_size,
    process_image,
    process_video,
)
from nnus_core.video.probe import IMAGE_SUFFIXES, is_image_path, probe_video
from nnus_core.video.tracking import TRACKERS

DEFAULTS = VideoOptions()


def parse_organs(text: str) -> tuple[int, ...]:
    """Organs from "all", ids ("1,2") or names/abbreviations ("Thyroid,CCA").

    Raises:
        VideoError: for a name or id that is not one of the 8 organs.
    """
    if text.strip().lower() in ("", "all"):
        return tuple(range(N_ORGANS))
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        oid = int(part) if part.isdigit() else organ_id_for(part)
        if oid is None or not 0 <= oid < N_ORGANS:
            raise VideoError(
                f"unknown organ {part!r}; expected ids 0-{N_ORGANS - 1} or names: {', '.join(ORGAN_NAMES)}"
            )
        if oid not in out:
            out.append(oid)
    return tuple(out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nnus_core.video",
        description="Detect neck organs in every frame of a video and write an annotated H.264 MP4 that "
        "plays in any browser (a still image gives an annotated image).",
    )
    p.add_argument("input", help="video (mp4, mov, avi, mkv, webm) or image (jpg, png)")
    p.add_argument("output", help="annotated .mp4 (or an image file for an image input)")
    p.add_argument("--model", help="weights (.pt) or model folder; default the shipped model ($NNUS_MODEL)")
    p.add_argument(
        "--conf",
        type=float,
        default=DEFAULTS.conf,
        help=f"confidence to show a box (default {DEFAULTS.conf})",
    )
    p.add_argument(
        "--iou", type=float, default=DEFAULTS.iou, help=f"NMS IoU threshold (default {DEFAULTS.iou})"
    )
    p.add_argument(
        "--organs", default="all", help='organs to show: "all", ids or names, e.g. "Thyroid,CCA,IJV"'
    )
    p.add_argument(
        "--stride", type=int, default=DEFAULTS.stride, help="detect on every n-th frame (default 1)"
    )
    p.add_argument(
        "--tracker", choices=TRACKERS, default=DEFAULTS.tracker, help="temporal smoothing (default smooth)"
    )
    p.add_argument("--no-track", action="store_true", help="same as --tracker none: raw per-frame boxes")
    p.add_argument("--label-style", choices=LABEL_STYLES, default=DEFAULTS.label_style)
    p.add_argument("--side-by-side", action="store_true", help="write original | annotated")
    p.add_argument(
        "--no-trim",
        action="store_true",
        help="detect on the whole frame, even when dark borders surround the scan (a screen recording)",
    )
    p.add_argument("--csv", type=Path, help="write per-frame detections (boxes in original pixels) here")
    p.add_argument(
        "--gt",
        type=Path,
        help="per-frame ground truth (a phantom sweep's CSV): print detection rate and mean IoU per organ",
    )
    p.add_argument("--preset", choices=PRESETS, default=DEFAULTS.preset, help="x264 speed preset")
    p.add_argument(
        "--max-mb", type=int, default=None, help="input size cap in MB (default $NNUS_VIDEO_MAX_MB or 500)"
    )
    p.add_argument(
        "--phantom-input",
        action="store_true",
        help="the input is a synthetic phantom sweep (implied by --gt): no note that a phantom-trained "
        "model's boxes are unreliable is burnt in",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def _progress_printer(quiet: bool):
    if quiet:
        return None

    def show(p: Progress) -> None:
        end = "\r" if sys.stderr.isatty() else "\n"
        print(f"  {p.text()}", end=end, file=sys.stderr, flush=True)

    return show


def model_note(model: str | None, phantom_input: bool) -> str:
    """The model card's short note for frames its training data does not cover ("" when none).

    A phantom-trained model's boxes on a real scan look as sure as on the phantom: the note travels
    with the downloaded video. No card (or no readable one) means nothing is known, so no note.
    """
    from nnus_core.detector import default_model_dir, read_model_card

    try:
        folder = Path(model) if model else default_model_dir()
        card = read_model_card(folder) if folder is not None else None
    except (NnusError, OSError):
        return ""
    return card.burn_note(phantom_input) if card is not None else ""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a `kill`, a job scheduler's stop), raised where the run is, so that it cleans up."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # As Ctrl-C does: the run removes its partial output before the process ends (a SIGKILL can
    # not be caught; the next run in the folder sweeps what such a run leaves).
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        options = VideoOptions(
            conf=args.conf,
            iou=args.iou,
            organs=parse_organs(args.organs),
            stride=args.stride,
            tracker="none" if args.no_track else args.tracker,
            label_style=args.label_style,
            side_by_side=args.side_by_side,
            trim_borders=not args.no_trim,
            preset=args.preset,
        )
        image_in = is_image_path(args.input)
        if image_in and Path(args.output).suffix.lower() not in IMAGE_SUFFIXES:
            raise VideoError(
                f"{args.input} is an image: give an image output (.png or .jpg), got {args.output}"
            )
        if not image_in and Path(args.output).suffix.lower() != ".mp4":
            raise VideoError(f"the output must be an .mp4 file, got {args.output}")
        info = None if image_in else probe_video(args.input, max_mb=args.max_mb)
        # After the input checks: loading a model takes a second.
        from nnus_core.video.runtime import load_video_detectors

        detectors = load_video_detectors(
            args.model,
            n=1 if image_in else None,
            frame_size=None if info is None else detection_size(info, options),
        )
        if image_in:
            import cv2

            res = process_image(args.input, detectors[0], options)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(args.output), cv2.cvtColor(res.annotated_rgb, cv2.COLOR_RGB2BGR)):
                raise VideoError(f"could not write {args.output}")
            for d in res.detections:
                print(
                    f"{d.organ_name}\t{d.confidence:.3f}\t" + "\t".join(f"{v:.1f}" for v in d.box.as_tuple())
                )
            return 0
        note = model_note(args.model, args.phantom_input or args.gt is not None)
        if note:
            options = options.update(caption=note)
            print(f"  note burnt into every frame: {note}", file=sys.stderr)
        print(f"{info.display_name}: {info.summary()}", file=sys.stderr)
        for note in info.notes:
            print(f"  note: {note}", file=sys.stderr)
        csv_path = args.csv
        if args.gt is not None and csv_path is None:
            csv_path = Path(args.output).with_suffix(".csv")  # scoring needs the per-frame detections
        result = process_video(
            args.input,
            args.output,
            detectors,
            options,
            csv_path=csv_path,
            progress=_progress_printer(args.quiet),
            info=info,
        )
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("\nterminated: nothing was written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written", file=sys.stderr)
        return 130
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    for w in result.warnings:
        if w not in result.info.notes:
            print(f"  warning: {w}", file=sys.stderr)
    print(
        f"wrote {result.output_path} ({result.frames_out} frames, {result.width_px}x{result.height_px}, "
        f"{result.fps:.1f} fps end to end)" + (f" and {result.csv_path}" if result.csv_path else "")
    )
    if args.gt is not None:
        from nnus_core.video.evaluate import score_clip, scores_table

        try:
            table = scores_table(score_clip(result.csv_path, args.gt, options.organs))
        except NnusError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
