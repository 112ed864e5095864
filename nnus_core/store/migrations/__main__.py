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
    cfg = alembic_config()
    # A new revision file comes out in the house format (ruff is a dev requirement).
    cfg.set_section_option("post_write_hooks", "hooks", "ruff")
    cfg.set_section_option("post_write_hooks", "ruff.type", "module")
    cfg.set_section_option("post_write_hooks", "ruff.module", "ruff")
    cfg.set_section_option("post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME")
    cli.run_cmd(cfg, options)


if __name__ == "__main__":
    main(sys.argv[1:])
