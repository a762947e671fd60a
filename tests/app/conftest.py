"""Fixtures of the web workbench tests: one small pipeline run (built once), the app on SQLite and, where
``YOUSHU_TEST_POSTGRES_URL`` is set (CI starts PostgreSQL with scripts/start-postgres.sh), on PostgreSQL too;
users of every role and scope, and logged-in test clients."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from youshu.app import AppSettings, create_app
from youshu.app.db import Base, make_engine
from youshu.app.security import create_user
from youshu.config import get_settings
from youshu.engine import connect
from youshu.pipeline.run import run_pipeline

AS_OF = date(2025, 9, 30)
CUSTOMERS, SEED = 4_000, 11
PASSWORD = "correct-horse-1"
POSTGRES_ENV = "YOUSHU_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def app_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, warehouse) of a 4,000-customer province run through the whole pipeline once."""
    from youshu.synth import generate

    root = tmp_path_factory.mktemp("app_province")
    generate(root / "warehouse", customers=CUSTOMERS, seed=SEED, workers=1)
    with pytest.MonkeyPatch.context() as mp, connect("duckdb") as engine:
        mp.chdir(root)
        get_settings.cache_clear()
        try:
            result = run_pipeline(AS_OF, engine=engine, warehouse=root / "warehouse", runs_dir=root / "runs")
        finally:
            get_settings.cache_clear()
    return result.folder, root / "warehouse"


def _database_urls() -> list[pytest.param]:  # type: ignore[valid-type]
    urls = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(POSTGRES_ENV) or os.environ.get("CI"):
        urls.append(pytest.param("postgresql", id="postgresql"))
    return urls


def reset_database(url: str) -> None:
    """Drop every app table (and Alembic's version table) so migrations start from nothing."""
    engine = make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def database_url(kind: str, folder: Path) -> str:
    """A fresh app database of ``kind`` (``sqlite`` in ``folder``, or the CI PostgreSQL, emptied)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'app.db'}"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_ENV} is not set: in CI, scripts/start-postgres.sh must run before the tests")
    reset_database(url)
    return url


@dataclass(frozen=True)
class TestUser:
    """A user of the standard set: name, role and the outlets they may see (``None``: all)."""

    __test__ = False

    username: str
    role: str
    scope_kind: str
    scope_values: tuple[str, ...]
    outlets: frozenset[str] | None


@dataclass
class Workbench:
    """The app under test with its standard users."""

    app: FastAPI
    users: dict[str, TestUser]
    outlet_a: str  # an outlet with customers, merchants in its circle, list entries and (if any) risk alerts
    outlet_b: str  # another outlet with customers, in another county
    county_a: str

    def client(self, username: str | None = None) -> TestClient:
        """A test client, logged in as ``username`` (anonymous when None)."""
        client = TestClient(self.app)
        if username is not None:
            login(client, username)
        return client


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Log ``client`` in through the login form (with its CSRF token)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form has no CSRF token"
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, f"login as {username} failed: {answer.status_code} {answer.text[:300]}"


def _pick_outlets(app: FastAPI) -> tuple[str, str, str]:
    run = app.state.run
    customers = run.table("customers")
    members = run.table("circle_members")
    targets = run.table("wealth_targets")
    alerts = run.table("risk_alerts") if run.has("risk_alerts") else None
    outlets = run.table("outlets").set_index("outlet_id")
    score = (
        customers["outlet_id"]
        .value_counts()
        .rename("customers")
        .to_frame()
        .join(members["outlet_id"].value_counts().rename("merchants"), how="left")
        .join(targets["outlet_id"].value_counts().rename("targets"), how="left")
        .fillna(0)
    )
    if alerts is not None:
        score = score.join(alerts["outlet_id"].value_counts().rename("alerts"), how="left").fillna(0)
    rich = score[(score["merchants"] > 0) & (score["targets"] > 0)]
    rich = rich.sort_values([c for c in ("alerts", "merchants", "customers") if c in rich], ascending=False)
    outlet_a = str(rich.index[0])
    county_a = str(outlets.loc[outlet_a, "county_id"])
    others = rich[[outlets.loc[o, "county_id"] != county_a for o in rich.index]]
    outlet_b = str(others.index[0])
    return outlet_a, outlet_b, county_a


@pytest.fixture(scope="session", params=_database_urls())
def workbench(
    request: pytest.FixtureRequest, app_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workbench]:
    """The app on a fresh database (SQLite; PostgreSQL too where configured), with the standard users:

    ``admin`` (all), ``analyst`` (all), ``analyst_cty`` (county of outlet A), ``manager_a`` (outlet A),
    ``manager_b`` (outlet B), ``viewer`` (outlet A).
    """
    folder, warehouse = app_run
    url = database_url(request.param, tmp_path_factory.mktemp("appdb"))
    settings = AppSettings(run_folder=folder, warehouse=warehouse, database_url=url)
    app = create_app(settings)
    outlet_a, outlet_b, county_a = _pick_outlets(app)
    county_outlets = frozenset(app.state.run.outlets.query("county_id == @county_a")["outlet_id"])
    users = {
        u.username: u
        for u in (
            TestUser("admin", "admin", "all", (), None),
            TestUser("analyst", "analyst", "all", (), None),
            TestUser("analyst_cty", "analyst", "counties", (county_a,), county_outlets),
            TestUser("manager_a", "outlet_manager", "outlets", (outlet_a,), frozenset({outlet_a})),
            TestUser("manager_b", "outlet_manager", "outlets", (outlet_b,), frozenset({outlet_b})),
            TestUser("viewer", "viewer", "outlets", (outlet_a,), frozenset({outlet_a})),
        )
    }
    with app.state.sessions() as db:
        for u in users.values():
            create_user(
                db, u.username, PASSWORD, u.role, scope_kind=u.scope_kind, scope_values=list(u.scope_values)
            )
    yield Workbench(app, users, outlet_a, outlet_b, county_a)
    app.state.engine.dispose()
