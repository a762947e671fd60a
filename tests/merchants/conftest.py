"""Fixtures of the merchant-operation tests: the hand-built tiny warehouse and a small synthetic province."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from youshu.engine import Engine, connect
from youshu.schema.storage import parquet_files
from youshu.schema.tables import TABLES_BY_NAME
from youshu.synth import generate

from .tiny import write_tiny_warehouse

#: Seed of the synthetic province; the uplift test checks one fixed province end to end (coverage in
#: general is the simulation test's job in test_uplift.py).
PROVINCE_SEED = 3
PROVINCE_CUSTOMERS = 20_000

Sql = Callable[[str], pd.DataFrame]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built warehouse of ``tiny.py``."""
    return write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20,000-customer synthetic province (about 5 s), shared by the merchant tests."""
    out = tmp_path_factory.mktemp("province") / "warehouse"
    generate(out, customers=PROVINCE_CUSTOMERS, seed=PROVINCE_SEED, workers=1)
    return out


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


def warehouse_sql(warehouse: Path) -> Sql:
    """Hand-written DuckDB SQL over a warehouse (one view per canonical table)."""
    con = duckdb.connect()
    for name in TABLES_BY_NAME:
        files = parquet_files(warehouse / name)
        if files:
            paths = ", ".join(f"'{f}'" for f in files)
            con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}])")

    def run(query: str) -> pd.DataFrame:
        return con.sql(query).df()

    return run


@pytest.fixture(scope="session")
def province_sql(province: Path) -> Sql:
    return warehouse_sql(province)


@pytest.fixture(scope="session")
def tiny_sql(tiny: Path) -> Sql:
    return warehouse_sql(tiny)
