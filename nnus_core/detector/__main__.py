"""CLI: `python -m nnus_core.detector train|evaluate|detect|choice ...` (also nnus-train, nnus-evaluate, ...)."""

from __future__ import annotations

import importlib
import sys

# Each command is a module with `main(argv) -> int`, imported only when asked for, so `detect`
# starts without the training stack.
COMMANDS = {
    "train": ("nnus_core.detector.cli_train", "train a detector on an NNUS-format dataset"),
    "evaluate": (
        "nnus_core.detector.cli_evaluate",
        "evaluate a model on a split; write the JSON the app reads",
    ),
    "detect": ("nnus_core.detector.cli_detect", "detect organs in images, one JSON line per image"),
    "choice": ("nnus_core.detector.choice", "this CPU and the runtime measured fastest on it"),
}


def usage() -> str:
    lines = ["usage: python -m nnus_core.detector COMMAND [ARGS]  (COMMAND --help for its options)", ""]
    lines += [f"  {name:<9} {about}" for name, (_, about) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"unknown command {argv[0]!r}\n{usage()}", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]][0]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
