"""Alembic environment: runs the revisions on the store's migration transaction (batch mode on SQLite)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from nnus_core.store.db import database_url, make_engine, metadata, migration_tx


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most of a table: batch mode rebuilds it (copy, drop, rename).
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
    )
    # The connection is already inside the store's transaction: Alembic joins it, so every
    # revision and the version row commit together or not at all.
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: revision 0001 inspects the database")

_conn = context.config.attributes.get("connection")
if _conn is not None:  # the app's start-up (store.db.migrate)
    _run(_conn)
else:  # the command line (python -m nnus_core.store.migrations ...): the configured database
    _engine = make_engine(database_url())
    try:
        with migration_tx(_engine) as _own:
            _run(_own)
    finally:
        _engine.dispose()
