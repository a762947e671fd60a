"""Shared fixtures: the ``engine`` tests run on (DuckDB always, Spark behind a marker) and an empty ``project``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from youshu.config import get_settings
from youshu.engine import Engine, connect
from youshu.engine.spark import java_executable

#: One Spark session for the whole test run: tiny data, so one shuffle partition and no web UI.
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.ui.enabled": "false",
}


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[Engine]:
    """The test run's Spark engine: started once (about 4 s), skipped without Java unless ``CI`` is set."""
    if java_executable() is None:
        reason = (
            "Spark tests need Java (install a JRE 17, e.g. apt-get install openjdk-17-jre-headless, "
            "or deselect them with -m 'not spark')"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so Spark tests must run: {reason}", pytrace=False)
        pytest.skip(reason)
    eng = connect("spark", master="local[2]", conf=SPARK_TEST_CONF)
    yield eng
    eng.close()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each engine in turn: a fresh in-memory DuckDB, or the run's shared Spark engine."""
    if request.param == "spark":
        yield request.getfixturevalue("spark_engine")
        return
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project folder as the working directory (default settings, no youshu.yaml)."""
    monkeypatch.chdir(tmp_path)
    for var in ("YOUSHU_ENGINE", "YOUSHU_WAREHOUSE", "YOUSHU_RUNS_DIR", "YOUSHU_DUCKDB_PATH"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
