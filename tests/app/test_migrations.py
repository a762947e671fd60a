"""The app database is made only by the Alembic migrations: on a fresh SQLite file and on PostgreSQL they create
exactly the tables and columns of the models, can run twice, go down to nothing and up again, and leave no
difference for autogenerate to find."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text
from tests.app.conftest import POSTGRES_ENV

from youshu.app.db import Base, downgrade, make_engine, migrate

ALEMBIC_VERSION = "alembic_version"


def _postgres_engine() -> Iterator[Engine]:
    """An engine on the test PostgreSQL whose every connection works in a schema of its own.

    The ``workbench`` fixture of the same test run keeps its tables in the database's default schema; dropping
    them there (as ``conftest.reset_database`` does) would pull them from under the other tests.
    """
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                f"{POSTGRES_ENV} is not set: in CI, scripts/start-postgres.sh must run before the tests"
            )
        pytest.skip(f'{POSTGRES_ENV} is not set (eval "$(scripts/start-postgres.sh)" to test on PostgreSQL)')
    schema = f"youshu_migrations_{secrets.token_hex(4)}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_conn.commit()

    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty app database: a new SQLite file, or a new schema of the test PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield eng
        eng.dispose()
        return
    yield from _postgres_engine()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {ALEMBIC_VERSION}


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_migrate_creates_exactly_the_model_tables_and_columns(engine: Engine) -> None:
    assert _tables(engine) == set()
    migrate(engine)
    inspector = inspect(engine)
    assert _tables(engine) == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        found = {c["name"]: c for c in inspector.get_columns(name)}
        assert set(found) == {c.name for c in table.columns}, name
        for column in table.columns:
            assert found[column.name]["nullable"] == column.nullable, f"{name}.{column.name} nullable"
            length = getattr(column.type, "length", None)
            if length is not None:
                assert getattr(found[column.name]["type"], "length", None) == length, f"{name}.{column.name}"
        primary = inspector.get_pk_constraint(name)["constrained_columns"]
        assert primary == [c.name for c in table.primary_key.columns], name
        indexes = {i["name"] for i in inspector.get_indexes(name)}
        assert {i.name for i in table.indexes} <= indexes, name
    assert _revision(engine) is not None


def test_models_and_migrations_agree_for_autogenerate(engine: Engine) -> None:
    migrate(engine)
    assert _diff(engine) == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    head = _revision(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, role, scope_kind, scope_values, "
                "active, created_at) VALUES ('keep', 'keep', 'x', 'viewer', 'all', '', true, CURRENT_TIMESTAMP)"
            )
        )
    migrate(engine)
    assert _revision(engine) == head
    assert _tables(engine) == set(Base.metadata.tables)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["keep"]


def test_downgrade_to_base_then_upgrade_rebuilds_the_schema(engine: Engine) -> None:
    migrate(engine)
    head = _revision(engine)
    downgrade(engine, "base")
    assert _tables(engine) == set()
    assert _revision(engine) is None
    migrate(engine)
    assert _revision(engine) == head
    assert _tables(engine) == set(Base.metadata.tables)
    assert _diff(engine) == []
