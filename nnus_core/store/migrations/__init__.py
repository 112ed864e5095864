"""Alembic migrations of the progress store: env.py, the revisions under versions/, and a CLI."""
