"""Alembic's command line on this package's migrations and $NNUS_DB_URL: `python -m nnus_core.store.migrations current`."""

from __future__ import annotations

import sys

from alembic.config import CommandLine

from nnus_core.store.db import alembic_config


def main(argv: list[str] | None = None) -> None:
    """Run one Alembic command (upgrade, current, history, revision --autogenerate -m ...)."""
    cli = CommandLine(prog="python -m nnus_core.store.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(), options)


if __name__ == "__main__":
    main(sys.argv[1:])
