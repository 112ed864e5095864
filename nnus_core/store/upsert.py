"""Portable INSERT ... ON CONFLICT DO NOTHING RETURNING for SQLite and PostgreSQL (plain insert elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError


def insert_ignore(
    conn: Connection, table: Table, values: dict[str, Any], conflict_cols: Sequence[str]
) -> bool:
    """Insert one row unless a row with the same unique `conflict_cols` exists.

    Whether it inserted is read from RETURNING (a row back, or none), not from the cursor's row
    count: through psycopg the count of an INSERT ... ON CONFLICT DO NOTHING came back as -1, so
    every first answer on PostgreSQL was reported as answered before.

    Returns:
        True when this call inserted the row, False when it already existed.
    """
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        # Other databases: a savepoint keeps the surrounding transaction usable after a conflict.
        try:
            with conn.begin_nested():
                conn.execute(table.insert().values(**values))
            return True
        except IntegrityError:
            return False
    stmt = (
        dialect_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_cols))
        .returning(*(table.c[c] for c in conflict_cols))
    )
    return conn.execute(stmt).first() is not None
