"""Alembic environment of the app database: runs on the connection ``youshu.app.db.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from youshu.app.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the project runs migrations only through youshu.app.db.migrate
    raise RuntimeError("run the app migrations with youshu.app.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
