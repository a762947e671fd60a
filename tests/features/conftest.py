"""Shared fixtures of the feature tests: a tiny synthetic province, a copy with rows after the as-of date, SQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from youshu.engine import Engine, connect
from youshu.features import FEATURES, ID_COLUMNS, compute_features
from youshu.schema.storage import TRUTH_DIR, parquet_files, read_table, write_part
from youshu.schema.tables import TABLES_BY_NAME, get_table
from youshu.synth import generate

#: The default demo as-of date of a province generated for 2024-2025 (end date minus 92 days).
AS_OF = date(2025, 9, 30)
#: Later rows are copies of the last 91 days moved forward by this much, so they land after the as-of date.
SHIFT = timedelta(days=91)

Sql = Callable[[str], pd.DataFrame]


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-customer synthetic province (seed 5), generated once for every feature test module.

    3,000 customers give 37 merchants (16 acquired) and 19 outlets: enough merchants for the merchant
    features to be checked on more than a handful of rows, and still about 8 s to generate.
    """
    out = tmp_path_factory.mktemp("province") / "warehouse"
    generate(out, customers=3000, seed=5, workers=1)
    return out


@pytest.fixture(scope="session")
def later_province(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``province`` with an extra Parquet part of rows dated after ``AS_OF`` in most tables."""
    out = tmp_path_factory.mktemp("later") / "warehouse"
    shutil.copytree(province, out, ignore=shutil.ignore_patterns(TRUTH_DIR))
    append_later_rows(out, AS_OF)
    return out


@pytest.fixture(scope="session")
def sql(province: Path) -> Sql:
    """Run a hand-written DuckDB query over the province (a view per canonical table)."""
    return warehouse_sql(province)


def warehouse_sql(warehouse: Path) -> Sql:
    con = duckdb.connect()
    for name in TABLES_BY_NAME:
        files = parquet_files(warehouse / name)
        if files:
            paths = ", ".join(f"'{f}'" for f in files)
            con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}])")

    def run(query: str) -> pd.DataFrame:
        return con.sql(query).df()

    return run


def features(engine: Engine, warehouse: Path, entity: str, as_of: date = AS_OF) -> pa.Table:
    """The entity's feature table as Arrow (the same conversion on every engine), sorted by id."""
    table = engine.to_pyarrow(compute_features(engine, warehouse, entity, as_of))
    return table.sort_by(ID_COLUMNS[entity])


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    """One in-memory DuckDB engine for the module's feature tables."""
    with connect("duckdb") as eng:
        yield eng


def _next_part(warehouse: Path, name: str) -> int:
    return len(parquet_files(warehouse / name))


def _append(warehouse: Path, name: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    spec = get_table(name)
    table = pa.Table.from_pandas(frame[spec.column_names], preserve_index=False)
    write_part(warehouse / name, _next_part(warehouse, name), table, spec)


def _read(warehouse: Path, name: str) -> pd.DataFrame:
    return read_table(warehouse, get_table(name)).to_pandas()


def _recent(frame: pd.DataFrame, column: str, as_of: date) -> pd.DataFrame:
    """Rows of the 91 days ending on ``as_of`` (timestamps or dates)."""
    at = pd.to_datetime(frame[column])
    first = pd.Timestamp(as_of - SHIFT + timedelta(days=1))
    return frame[(at >= first) & (at < pd.Timestamp(as_of + timedelta(days=1)))].copy()


def _shifted(frame: pd.DataFrame, column: str, as_of: date, id_column: str, prefix: str) -> pd.DataFrame:
    out = _recent(frame, column, as_of)
    moved = pd.to_datetime(out[column]) + pd.Timedelta(SHIFT)
    out[column] = moved if pd.api.types.is_datetime64_any_dtype(frame[column]) else moved.dt.date
    out[id_column] = [f"{prefix}{i:09d}" for i in range(len(out))]
    return out


def append_later_rows(warehouse: Path, as_of: date) -> None:
    """Append rows dated after ``as_of`` to a warehouse (a new part per table), as a later extract would.

    Transactions, QR payments, coupon redemptions, purchases and CRM contacts of the last 91 days are copied
    91 days later, and a few more land exactly at midnight after the as-of date; month ends after the data
    window get balances and holdings ten times the latest ones; new customers, accounts, loans, instalments
    and an outlet (on the first merchant's spot) start the day after.
    """
    midnight = datetime.combine(as_of + timedelta(days=1), time())
    next_day = as_of + timedelta(days=1)

    txn = _read(warehouse, "transactions")
    later_txn = _shifted(txn, "txn_at", as_of, "txn_id", "LATER")
    edge = txn.head(50).copy()
    edge["txn_at"] = midnight
    edge["txn_id"] = [f"EDGE{i:06d}" for i in range(len(edge))]
    _append(warehouse, "transactions", pd.concat([later_txn, edge], ignore_index=True))

    acq = _read(warehouse, "acquiring_transactions")
    later_acq = _shifted(acq, "paid_at", as_of, "acq_txn_id", "LATERQ")
    edge_acq = acq.head(20).copy()
    edge_acq["paid_at"] = midnight
    edge_acq["acq_txn_id"] = [f"EDGEQ{i:06d}" for i in range(len(edge_acq))]
    _append(warehouse, "acquiring_transactions", pd.concat([later_acq, edge_acq], ignore_index=True))

    _append(
        warehouse,
        "redemptions",
        _shifted(_read(warehouse, "redemptions"), "redeemed_at", as_of, "redemption_id", "LR"),
    )
    _append(
        warehouse,
        "purchases",
        _shifted(_read(warehouse, "purchases"), "purchase_date", as_of, "purchase_id", "LP"),
    )
    _append(
        warehouse,
        "crm_contacts",
        _shifted(_read(warehouse, "crm_contacts"), "contact_at", as_of, "contact_id", "LC"),
    )

    balances = _read(warehouse, "balances")
    last = pd.to_datetime(balances["month_end_date"]).max()
    for month_end in (date(2026, 1, 31), date(2026, 2, 28)):
        assert pd.Timestamp(month_end) > last
        rows = balances[pd.to_datetime(balances["month_end_date"]) == last].copy()
        rows["month_end_date"] = month_end
        rows[["balance_fen", "avg_balance_fen"]] *= 10
        _append(warehouse, "balances", rows)
    holdings = _read(warehouse, "holdings")
    rows = holdings[pd.to_datetime(holdings["month_end_date"]) == last].copy()
    rows["month_end_date"] = date(2026, 1, 31)
    rows["value_fen"] *= 10
    _append(warehouse, "holdings", rows)

    customers = _read(warehouse, "customers")
    new_customers = customers.head(5).copy()
    new_customers["customer_id"] = [f"CLATER{i:04d}" for i in range(len(new_customers))]
    new_customers["onboard_date"] = next_day
    _append(warehouse, "customers", new_customers)
    accounts = _read(warehouse, "accounts")
    new_accounts = accounts.head(10).copy()  # new accounts of existing customers
    new_accounts["customer_id"] = list(accounts["customer_id"].head(5)) + list(new_customers["customer_id"])
    new_accounts["account_id"] = [f"ALATER{i:05d}" for i in range(len(new_accounts))]
    new_accounts["open_date"] = next_day
    new_accounts["close_date"] = None
    _append(warehouse, "accounts", new_accounts)
    loans = _read(warehouse, "loans")
    new_loans = loans.head(5).copy()
    new_loans["loan_id"] = [f"LLATER{i:04d}" for i in range(len(new_loans))]
    new_loans["issue_date"] = next_day
    new_loans["maturity_date"] = as_of + timedelta(days=400)
    _append(warehouse, "loans", new_loans)
    _append(
        warehouse,
        "loan_repayments",
        pd.DataFrame(
            {
                "loan_id": new_loans["loan_id"],
                "due_date": as_of + timedelta(days=31),
                "amount_due_fen": np.int64(100_000),
                "paid_date": None,
                "amount_paid_fen": np.int64(0),
            }
        ),
    )
    outlets = _read(warehouse, "outlets")
    new_outlet = outlets.head(1).copy()
    new_outlet["outlet_id"] = "OLATER"
    new_outlet["opened_date"] = next_day
    shop = _read(warehouse, "merchants").iloc[0]  # right on a shop: it would be its nearest outlet
    new_outlet["lat"], new_outlet["lon"] = shop["lat"], shop["lon"]
    _append(warehouse, "outlets", new_outlet)


ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "date": pa.date32(),
}


def assert_catalog_schema(table: pa.Table, entity: str) -> None:
    """Columns are the id, ``as_of_date`` and every catalog feature in order, each with its declared type."""
    specs = FEATURES[entity]
    assert table.column_names == [ID_COLUMNS[entity], "as_of_date", *(s.name for s in specs)]
    assert table.schema.field("as_of_date").type == pa.date32()
    actual = {s.name: table.schema.field(s.name).type for s in specs}
    wrong = {
        s.name: f"{actual[s.name]} (declared {s.dtype})"
        for s in specs
        if actual[s.name] != ARROW_TYPES[s.dtype]
        and not (s.dtype == "string" and actual[s.name] == pa.large_string())
    }
    assert wrong == {}


def assert_no_nulls_where_defaulted(frame: pd.DataFrame, entity: str) -> None:
    """Counts, amounts and flags (features with a catalog default) are never null."""
    defaulted = [s.name for s in FEATURES[entity] if s.default is not None]
    nulls = {c: int(n) for c, n in frame[defaulted].isna().sum().items() if n}
    assert nulls == {}


def assert_same_frames(left: pd.DataFrame, right: pd.DataFrame, key: str) -> None:
    """Equal tables up to row order, floats to 1e-9 relative (engines may sum in another order)."""
    left = left.sort_values(key).reset_index(drop=True)
    right = right.sort_values(key).reset_index(drop=True)
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            close = np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=0.0, equal_nan=True)
            assert close.all(), f"{column}: {a[~close].head().tolist()} != {b[~close].head().tolist()}"
        else:
            same = (a == b) | (a.isna() & b.isna())
            assert same.all(), f"{column}: {a[~same].head().tolist()} != {b[~same].head().tolist()}"


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle metres between two points written out in DuckDB SQL (mean Earth radius 6,371,008.8 m)."""
    h = (
        f"pow(sin((radians({lat2}) - radians({lat1})) / 2), 2) + cos(radians({lat1})) * cos(radians({lat2}))"
        f" * pow(sin((radians({lon2}) - radians({lon1})) / 2), 2)"
    )
    return f"2 * 6371008.8 * asin(sqrt(least(1.0, greatest(0.0, {h}))))"


def assert_matches(frame: pd.DataFrame, expected: pd.DataFrame, entity: str) -> pd.DataFrame:
    """Every column of a hand query ``expected`` equals the feature of the same name, entity by entity.

    An entity missing from ``expected`` expects the feature's catalog default (0 for counts and amounts,
    False for flags, null otherwise). Floats compare to 1e-9 relative, nulls equal nulls. Returns the
    expected values aligned on the feature table's ids.
    """
    key = ID_COLUMNS[entity]
    defaults = {s.name: s.default for s in FEATURES[entity]}
    columns = [c for c in expected.columns if c != key]
    assert expected[key].is_unique
    aligned = frame[[key]].merge(expected, on=key, how="left")
    for column in columns:
        default = defaults[column]
        want = aligned[column]
        if default is not None:  # np.where: pandas' fillna would warn about downcasting object columns
            want = pd.Series(np.where(want.isna(), default, want.astype(object)), index=want.index)
        got = frame[column]
        if pd.api.types.is_float_dtype(got):
            close = np.isclose(got.astype(float), want.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True)
        else:
            close = ((got == want) | (got.isna() & want.isna())).to_numpy()
        bad = frame.loc[~close, key].head().tolist()
        assert close.all(), (
            f"{column}: {got[~close].head().tolist()} != {want[~close].head().tolist()} for {bad}"
        )
    return aligned
