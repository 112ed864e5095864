"""CLI: detect organs in images and print one JSON line per image (`python -m nnus_core.detector detect IMG...`)."""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nnus_core.detector detect",
        description='Print {"image": ..., "detections": [...]} per image, boxes in image pixels.',
    )
    p.add_argument("images", nargs="+", help="JPG/PNG files")
    p.add_argument("--model", help="weights .pt or model folder (default: the shipped model)")
    p.add_argument("--conf", type=float, default=0.25)
    p.add_argument("--iou", type=float, default=0.7)
    p.add_argument("--backend", default="auto", choices=["auto", "openvino", "onnx", "torch"])
    p.add_argument(
        "--square",
        action="store_true",
        help="run the square input the model was trained at, not the input cut to the NNUS images' "
        "aspect (288x320 for 494x447)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported here so that --help answers at once; none of this imports torch on the fast path.
    from nnus_core.detector.detector import Detector, to_json_line
    from nnus_core.detector.processing import NNUS_IMAGE_WH
    from nnus_core.errors import NnusError

    try:
        det = Detector.load(
            args.model, backend=args.backend, frame_size=None if args.square else NNUS_IMAGE_WH
        )
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = 0
    for image in args.images:
        try:
            print(to_json_line(image, det.predict(image, conf=args.conf, iou=args.iou)), flush=True)
        except NnusError as exc:
            print(json.dumps({"image": image, "error": str(exc)}), flush=True)
            status = 1
    return status
