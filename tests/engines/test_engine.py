"""One suite for every engine: canonical tables in, identical answers out (see tests/conftest.py ``engine``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from youshu.config import Settings
from youshu.engine import (
    CAPABILITIES,
    UNSUPPORTED,
    Engine,
    canonical_schema,
    connect,
    connect_from_settings,
    safe_divide,
)
from youshu.engine import spark as spark_module
from youshu.errors import EngineError, TruthAccessError
from youshu.schema import TABLES, DType, TableSpec, get_table
from youshu.schema.storage import write_part

AS_OF = dt.date(2024, 2, 1)
T = dt.datetime


# -- a tiny hand-written warehouse ------------------------------------------------------------------------
def _write(warehouse: Path, name: str, rows: list[dict[str, object]]) -> None:
    """Write ``rows`` (missing optional columns are null) as one part of canonical table ``name``."""
    spec = get_table(name)
    columns = {c: [row.get(c) for row in rows] for c in spec.column_names}
    write_part(warehouse / name, 0, pa.table(columns, schema=spec.arrow_schema), spec)


def _customer(customer_id: str, county_id: str) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "customer_type": "individual",
        "name": f"客户{customer_id}",
        "id_card_no": "110101199001011234",
        "occupation": "farmer",
        "county_id": county_id,
        "home_outlet_id": "O1",
        "lat": 30.0,
        "lon": 120.0,
        "onboard_date": dt.date(2020, 1, 1),
    }


def _account(
    account_id: str, customer_id: str, opened: dt.date, closed: dt.date | None = None
) -> dict[str, object]:
    return {
        "account_id": account_id,
        "customer_id": customer_id,
        "outlet_id": "O1",
        "account_type": "debit_card",
        "open_date": opened,
        "close_date": closed,
        "status": "closed" if closed else "active",
    }


def _txn(txn_id: str, account_id: str, at: dt.datetime, direction: str, amount_fen: int) -> dict[str, object]:
    return {
        "txn_id": txn_id,
        "account_id": account_id,
        "txn_at": at,
        "direction": direction,
        "amount_fen": amount_fen,
        "channel": "mobile",
        "counterparty_category": "p2p",
    }


def _balance(account_id: str, month_end: dt.date, balance_fen: int) -> dict[str, object]:
    return {
        "account_id": account_id,
        "month_end_date": month_end,
        "balance_fen": balance_fen,
        "avg_balance_fen": balance_fen,
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Three customers in two counties, four accounts, transactions either side of AS_OF (2024-02-01)."""
    wh = tmp_path / "warehouse"
    _write(wh, "customers", [_customer("C1", "K1"), _customer("C2", "K1"), _customer("C3", "K2")])
    _write(
        wh,
        "accounts",
        [
            _account("A1", "C1", dt.date(2023, 1, 10)),
            _account("A2", "C1", dt.date(2024, 3, 1)),  # opened after the as-of date
            _account("A3", "C2", dt.date(2023, 5, 5), closed=dt.date(2024, 1, 15)),
            _account("A4", "C3", dt.date(2023, 7, 7)),
        ],
    )
    _write(
        wh,
        "transactions",
        [
            _txn("T1", "A1", T(2024, 1, 5, 10, 0), "in", 10_000),
            _txn("T2", "A1", T(2024, 1, 20, 18, 30), "out", 2_500),
            _txn("T3", "A1", T(2024, 1, 31, 23, 59, 59, 999_999), "out", 1_500),  # last instant before
            _txn("T4", "A1", T(2024, 2, 1, 0, 0), "in", 99_999),  # on the as-of date: excluded
            _txn("T5", "A3", T(2024, 1, 10, 9, 0), "in", 5_000),
            _txn("T6", "A3", T(2024, 1, 12, 12, 0), "out", 5_000),
            _txn("T7", "A4", T(2024, 1, 15, 8, 0), "out", 700),  # no inflow at all
            _txn("T8", "A2", T(2024, 3, 5, 8, 0), "in", 1_000),
        ],
    )
    _write(
        wh,
        "balances",
        [
            _balance("A1", dt.date(2023, 12, 31), 50_000),
            _balance("A1", dt.date(2024, 1, 31), 61_000),
            _balance("A1", dt.date(2024, 2, 29), 150_000),  # after the as-of date
            _balance("A3", dt.date(2023, 12, 31), 5_000),
            _balance("A4", dt.date(2023, 12, 31), 3_000),
            _balance("A4", dt.date(2024, 1, 31), 2_300),
        ],
    )
    return wh


def _before_as_of(txns: ir.Table) -> ir.Table:
    return txns.filter(txns.txn_at < ibis.timestamp(T(AS_OF.year, AS_OF.month, AS_OF.day)))


def _rows(frame: pd.DataFrame, *by: str) -> list[dict[str, object]]:
    """Rows as plain dicts in a fixed order, NaN/NaT/None all as None, numpy scalars as Python ones."""
    frame = frame.sort_values(list(by)).reset_index(drop=True).astype(object)
    frame = frame.where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


# -- reading ----------------------------------------------------------------------------------------------
def _one_row(spec: TableSpec) -> dict[str, object]:
    """A valid-looking row for any canonical table: enumerations take their first value."""
    values: dict[DType, object] = {
        DType.INT: 7,
        DType.FLOAT: 0.25,
        DType.BOOL: True,
        DType.DATE: dt.date(2024, 1, 31),
        DType.TIMESTAMP: T(2024, 1, 31, 23, 30, 0, 123_456),
    }
    return {
        c.name: (c.allowed[0] if c.allowed else f"{c.name}-1") if c.dtype is DType.STRING else values[c.dtype]
        for c in spec.columns
    }


def test_every_canonical_table_reads_back_with_its_canonical_schema_and_values(
    engine: Engine, tmp_path: Path
) -> None:
    for spec in TABLES:
        _write(tmp_path, spec.name, [_one_row(spec)])
    for spec in TABLES:
        table = engine.table(tmp_path, spec.name)
        assert table.schema() == canonical_schema(spec), spec.name
        result = engine.to_pyarrow(table)
        assert [f.type for f in result.schema] == [f.type for f in spec.arrow_schema], spec.name
        assert result.to_pylist() == [_one_row(spec)], spec.name


def test_tables_returns_each_named_table(engine: Engine, warehouse: Path) -> None:
    tables = engine.tables(warehouse, ["customers", "accounts"])
    assert list(tables) == ["customers", "accounts"]
    assert engine.execute(tables["accounts"].count()).iat[0, 0] == 4


def test_all_parts_of_a_table_are_read(engine: Engine, tmp_path: Path) -> None:
    spec = get_table("counties")
    for index, county_id in enumerate(["K1", "K2", "K3"]):
        write_part(
            tmp_path / "counties", index, pa.Table.from_pylist([{**_one_row(spec), "county_id": county_id}])
        )
    (tmp_path / "counties" / "README.txt").write_text("not a part")
    counties = engine.table(tmp_path, "counties")
    assert sorted(engine.to_pyarrow(counties).column("county_id").to_pylist()) == ["K1", "K2", "K3"]


def test_stored_types_and_column_order_are_made_canonical(engine: Engine, tmp_path: Path) -> None:
    # An older export: columns shuffled, an extra column, int32 money, millisecond timestamps.
    stored = pa.table(
        {
            "extra_column": ["x"],
            "amount_fen": pa.array([12_345], pa.int32()),
            "txn_at": pa.array([T(2024, 1, 1, 23, 30, 0, 250_000)], pa.timestamp("ms")),
            **{
                k: [v]
                for k, v in _txn("T1", "A1", T(2024, 1, 1), "in", 1).items()
                if k not in ("amount_fen", "txn_at")
            },
            **{k: pa.nulls(1, pa.string()) for k in ("counterparty_id", "counterparty_account_id")},
            **{k: pa.nulls(1, pa.string()) for k in ("counterparty_industry", "outlet_id")},
        }
    )
    (tmp_path / "transactions").mkdir()
    pq.write_table(stored, tmp_path / "transactions" / "part-00000.parquet")
    table = engine.table(tmp_path, "transactions")
    assert table.schema() == canonical_schema(get_table("transactions"))
    row = engine.to_pyarrow(table).to_pylist()[0]
    assert (row["amount_fen"], row["txn_at"]) == (12_345, T(2024, 1, 1, 23, 30, 0, 250_000))


def test_parts_lacking_a_canonical_column_are_refused(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "counties").mkdir()
    pq.write_table(pa.table({"county_id": ["K1"]}), tmp_path / "counties" / "part-00000.parquet")
    with pytest.raises(EngineError, match="lacks canonical columns"):
        engine.table(tmp_path, "counties")


@pytest.mark.parametrize("name", ["truth", "truth/customer_states"])
def test_truth_tables_are_refused(engine: Engine, warehouse: Path, name: str) -> None:
    (warehouse / "truth" / "customer_states").mkdir(parents=True)
    with pytest.raises(TruthAccessError, match="evaluation only"):
        engine.table(warehouse, name)


def test_unknown_table_names_the_canonical_ones(engine: Engine, warehouse: Path) -> None:
    with pytest.raises(KeyError, match="canonical tables are"):
        engine.table(warehouse, "customer")


@pytest.mark.parametrize("folder", ["absent", "empty"])
def test_missing_table_is_empty_with_the_canonical_schema(
    engine: Engine, warehouse: Path, folder: str
) -> None:
    if folder == "empty":
        (warehouse / "loans").mkdir()
    spec = get_table("loans")
    loans = engine.table(warehouse, "loans")
    assert loans.schema() == canonical_schema(spec)
    frame = engine.execute(loans)
    assert (len(frame), list(frame.columns)) == (0, spec.column_names)
    arrow = engine.to_pyarrow(loans)
    assert arrow.num_rows == 0
    assert [f.type for f in arrow.schema] == [f.type for f in spec.arrow_schema]
    # ... and it joins like any other table.
    customers = engine.table(warehouse, "customers")
    joined = customers.left_join(loans, "customer_id").group_by("county_id").agg(n=loans.loan_id.count())
    assert _rows(engine.execute(joined), "county_id") == [
        {"county_id": "K1", "n": 0},
        {"county_id": "K2", "n": 0},
    ]


# -- the same answers on every engine ---------------------------------------------------------------------
def test_money_sums_by_account_and_direction_before_the_as_of_date(engine: Engine, warehouse: Path) -> None:
    txns = _before_as_of(engine.table(warehouse, "transactions"))
    sums = txns.group_by(["account_id", "direction"]).agg(amount_fen=txns.amount_fen.sum(), n=txns.count())
    assert _rows(engine.execute(sums), "account_id", "direction") == [
        {"account_id": "A1", "direction": "in", "amount_fen": 10_000, "n": 1},
        {"account_id": "A1", "direction": "out", "amount_fen": 4_000, "n": 2},
        {"account_id": "A3", "direction": "in", "amount_fen": 5_000, "n": 1},
        {"account_id": "A3", "direction": "out", "amount_fen": 5_000, "n": 1},
        {"account_id": "A4", "direction": "out", "amount_fen": 700, "n": 1},
    ]


def test_distinct_active_customers_per_county_through_a_join(engine: Engine, warehouse: Path) -> None:
    t = engine.tables(warehouse, ["transactions", "accounts", "customers"])
    txns = _before_as_of(t["transactions"])
    joined = txns.join(t["accounts"], "account_id").join(t["customers"], "customer_id")
    per_county = joined.group_by("county_id").agg(
        customers=joined.customer_id.nunique(), accounts=joined.account_id.nunique(), txns=joined.count()
    )
    assert _rows(engine.execute(per_county), "county_id") == [
        {"county_id": "K1", "customers": 2, "accounts": 2, "txns": 5},
        {"county_id": "K2", "customers": 1, "accounts": 1, "txns": 1},
    ]


def test_accounts_open_and_latest_balance_as_of_a_date(engine: Engine, warehouse: Path) -> None:
    accounts = engine.table(warehouse, "accounts")
    as_of = ibis.date(AS_OF)
    open_now = accounts.filter(
        (accounts.open_date < as_of) & (accounts.close_date.isnull() | (accounts.close_date >= as_of))
    )
    balances = engine.table(warehouse, "balances")
    known = balances.filter(balances.month_end_date < as_of)
    # Portable form of "filter on a window": name the window value first (see "window_filter").
    known = known.mutate(latest_date=known.month_end_date.max().over(group_by="account_id"))
    latest = known.filter(known.month_end_date == known.latest_date)
    result = open_now.left_join(latest, "account_id").select(
        "account_id", "month_end_date", "balance_fen", open_days=as_of.delta(open_now.open_date, unit="day")
    )
    frame = engine.execute(result)
    frame["month_end_date"] = pd.to_datetime(frame["month_end_date"]).dt.date
    assert _rows(frame, "account_id") == [
        {"account_id": "A1", "month_end_date": dt.date(2024, 1, 31), "balance_fen": 61_000, "open_days": 387},
        {"account_id": "A4", "month_end_date": dt.date(2024, 1, 31), "balance_fen": 2_300, "open_days": 209},
    ]


def test_guarded_division_is_null_where_the_divisor_is_zero(engine: Engine, warehouse: Path) -> None:
    txns = _before_as_of(engine.table(warehouse, "transactions"))
    flows = txns.group_by("account_id").agg(
        in_fen=txns.amount_fen.sum(where=txns.direction == "in").fill_null(0),
        out_fen=txns.amount_fen.sum(where=txns.direction == "out").fill_null(0),
    )
    ratios = flows.select(
        "account_id",
        out_share=safe_divide(flows.out_fen, flows.in_fen),
        spelled_out=flows.out_fen / flows.in_fen.nullif(0),
    )
    assert _rows(engine.execute(ratios), "account_id") == [
        {"account_id": "A1", "out_share": 0.4, "spelled_out": 0.4},
        {"account_id": "A3", "out_share": 1.0, "spelled_out": 1.0},
        {"account_id": "A4", "out_share": None, "spelled_out": None},
    ]


def test_unguarded_division_by_zero_differs_between_engines(engine: Engine, warehouse: Path) -> None:
    # Why every division needs .nullif(0): DuckDB answers inf, Spark 4 (ANSI mode) raises.
    txns = engine.table(warehouse, "transactions")
    expr = txns.select(ratio=txns.amount_fen / (txns.amount_fen - txns.amount_fen))
    if engine.name == "spark":
        with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
            engine.execute(expr)
    else:
        assert engine.execute(expr)["ratio"].abs().eq(float("inf")).all()


# -- timestamps: zone-less local times, unchanged everywhere ----------------------------------------------
STAMPS = [
    T(2024, 1, 1, 23, 30),  # late evening: a zone shift would change its date
    T(2024, 6, 30, 0, 15, 1),  # just after midnight
    T(1999, 12, 31, 23, 59, 59),
    T(2024, 2, 29, 7, 59, 59),  # 8 hours from midnight: UTC+8 would land on the day before
]


@pytest.fixture
def stamped(tmp_path: Path) -> Path:
    rows = [_txn(f"T{i}", "A1", at, "in", 100) for i, at in enumerate(STAMPS)]
    rows.append(_txn("T9", "A1", T(2024, 3, 1, 12, 0, 0, 123_456), "in", 100))  # microseconds
    _write(tmp_path / "wh", "transactions", rows)
    return tmp_path / "wh"


def test_timestamps_written_by_pyarrow_read_back_unchanged(engine: Engine, stamped: Path) -> None:
    txns = engine.table(stamped, "transactions").order_by("txn_id")
    expected = [*STAMPS, T(2024, 3, 1, 12, 0, 0, 123_456)]
    arrow = engine.to_pyarrow(txns.select("txn_at"))
    assert arrow.schema.field("txn_at").type == pa.timestamp("us")
    assert arrow.column("txn_at").to_pylist() == expected
    frame = engine.execute(txns.select("txn_at"))
    assert frame["txn_at"].dt.tz is None
    assert [ts.to_pydatetime() for ts in frame["txn_at"]] == expected


def test_date_parts_of_timestamps_agree_between_engines(engine: Engine, stamped: Path) -> None:
    txns = engine.table(stamped, "transactions")
    whole_seconds = txns.filter(txns.txn_id != "T9")  # DuckDB's epoch_seconds fails on fractions (ibis 12)
    parts = whole_seconds.select(
        "txn_id",
        day=whole_seconds.txn_at.date(),
        hour=whole_seconds.txn_at.hour(),
        epoch=whole_seconds.txn_at.epoch_seconds().cast("int64"),
        before=whole_seconds.txn_at < ibis.timestamp("2024-02-29 08:00:00"),
        same_day=whole_seconds.txn_at.date() == ibis.date("2024-02-29"),
    )
    frame = engine.execute(parts)
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    epoch = dt.datetime(1970, 1, 1)
    assert _rows(frame, "txn_id") == [
        {
            "txn_id": f"T{i}",
            "day": at.date(),
            "hour": at.hour,
            "epoch": int((at - epoch).total_seconds()),  # zone-less: seconds as if the wall clock were UTC
            "before": at < T(2024, 2, 29, 8),
            "same_day": at.date() == dt.date(2024, 2, 29),
        }
        for i, at in enumerate(STAMPS)
    ]


def test_written_timestamps_stay_zone_less(engine: Engine, stamped: Path, tmp_path: Path) -> None:
    txns = engine.table(stamped, "transactions")
    out = txns.select(
        "txn_id",
        "txn_at",
        day_start=txns.txn_at.date().cast("timestamp"),
        as_of=ibis.timestamp("2024-02-01 00:00:00"),
        written_at=ibis.now(),
    )
    dest = engine.write_parquet(out, tmp_path / "out")
    written = pq.read_table(dest).sort_by("txn_id")
    for name in ("txn_at", "day_start", "as_of", "written_at"):
        assert pa.types.is_timestamp(written.schema.field(name).type), name
        assert written.schema.field(name).type.tz is None, name
    at = written.column("txn_at").cast(pa.timestamp("us")).to_pylist()
    assert at == [*STAMPS, T(2024, 3, 1, 12, 0, 0, 123_456)]
    day_start = written.column("day_start").cast(pa.timestamp("us")).to_pylist()
    assert day_start == [T(a.year, a.month, a.day) for a in at]
    assert set(written.column("as_of").cast(pa.timestamp("us")).to_pylist()) == {T(2024, 2, 1)}


# -- writing ----------------------------------------------------------------------------------------------
def _county_totals(engine: Engine, warehouse: Path) -> ir.Table:
    t = engine.tables(warehouse, ["transactions", "accounts", "customers"])
    joined = t["transactions"].join(t["accounts"], "account_id").join(t["customers"], "customer_id")
    return joined.group_by("county_id").agg(amount_fen=joined.amount_fen.sum()).order_by("county_id")


def test_write_parquet_writes_a_folder_of_parts(engine: Engine, warehouse: Path, tmp_path: Path) -> None:
    dest = tmp_path / "runs" / "2024-02-01" / "county_totals"
    assert engine.write_parquet(_county_totals(engine, warehouse), dest) == dest
    names = sorted(p.name for p in dest.iterdir())
    assert names and all(re.fullmatch(r"part-\d{5}\.parquet", n) for n in names), names
    assert pq.read_table(dest).to_pylist() == [
        {"county_id": "K1", "amount_fen": 124_999},
        {"county_id": "K2", "amount_fen": 700},
    ]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["county_totals"]  # no temporary siblings


def test_write_parquet_of_an_empty_result_keeps_the_schema(
    engine: Engine, warehouse: Path, tmp_path: Path
) -> None:
    txns = engine.table(warehouse, "transactions")
    dest = engine.write_parquet(txns.filter(txns.amount_fen < 0), tmp_path / "none")
    written = pq.read_table(dest)
    assert written.num_rows == 0
    assert written.schema.names == get_table("transactions").column_names


def test_written_parquet_has_the_types_ibis_promises(engine: Engine, warehouse: Path, tmp_path: Path) -> None:
    # The engines' own result types differ (DuckDB: SUM of BIGINT is HUGEINT; a literal 1 is INTEGER on
    # both); what lands on disk is the same everywhere: the Ibis schema.
    txns = engine.table(warehouse, "transactions")
    per_day = txns.group_by(day=txns.txn_at.date()).agg(
        amount_fen=txns.amount_fen.sum(),
        accounts=txns.account_id.nunique(),
        mean_fen=txns.amount_fen.mean(),
        last_at=txns.txn_at.max(),
        flag=ibis.literal(1),
        is_big=(txns.amount_fen > 5_000).any(),
    )
    written = pq.read_table(engine.write_parquet(per_day, tmp_path / "per_day"))
    promised = per_day.schema().to_pyarrow()
    assert [(f.name, f.type) for f in written.schema] == [(f.name, f.type) for f in promised]
    assert written.num_rows == 8


def _failing(engine: Engine, warehouse: Path) -> ir.Table:
    customers = engine.table(warehouse, "customers")
    return customers.select(n=customers.customer_id.cast("int64"))  # "C1" is no number: fails at run time


def test_failed_write_leaves_no_folder(engine: Engine, warehouse: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "result"
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own conversion error
        engine.write_parquet(_failing(engine, warehouse), dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_failed_write_keeps_the_previous_folder(engine: Engine, warehouse: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "result"
    engine.write_parquet(_county_totals(engine, warehouse), dest)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    with pytest.raises(Exception):  # noqa: B017
        engine.write_parquet(_failing(engine, warehouse), dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert sorted(p.name for p in dest.parent.iterdir()) == ["result"]


def test_successful_write_replaces_the_previous_folder(
    engine: Engine, warehouse: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "result"
    engine.write_parquet(_county_totals(engine, warehouse), dest)
    customers = engine.table(warehouse, "customers")
    engine.write_parquet(customers.select("customer_id"), dest)
    assert sorted(pq.read_table(dest).column("customer_id").to_pylist()) == ["C1", "C2", "C3"]


def test_execute_and_to_pyarrow_accept_scalars_and_columns(engine: Engine, warehouse: Path) -> None:
    txns = engine.table(warehouse, "transactions")
    total = engine.execute(txns.amount_fen.sum().name("total"))
    assert (list(total.columns), total.iat[0, 0]) == (["total"], 125_699)
    ids = engine.to_pyarrow(txns.order_by("txn_id").txn_id)
    assert ids.column_names == ["txn_id"]
    assert ids.column(0).to_pylist()[:2] == ["T1", "T2"]


# -- what engines can and cannot do -----------------------------------------------------------------------
@ibis.udf.scalar.python
def _plus_one_python(x: int) -> int:
    return x + 1


@ibis.udf.scalar.pyarrow
def _plus_one_pyarrow(x: int) -> int:
    return pc.add(x, 1)


@ibis.udf.scalar.pandas
def _plus_one_pandas(x: int) -> int:
    return x + 1


def _operation(name: str, txns: ir.Table) -> ir.Expr:
    points = ibis.memtable({"account_id": ["A1"], "point_at": [T(2024, 1, 1)]})
    return {
        "mode": lambda: txns.direction.mode(),
        "asof_join": lambda: txns.asof_join(
            points, on=txns.txn_at >= points.point_at, predicates="account_id"
        ),
        "seeded_sample": lambda: txns.sample(0.5, seed=1),
        "window_filter": lambda: txns.filter(
            txns.amount_fen == txns.amount_fen.max().over(group_by="account_id")
        ),
        "python_udf": lambda: txns.select(y=_plus_one_python(txns.amount_fen)),
        "pyarrow_udf": lambda: txns.select(y=_plus_one_pyarrow(txns.amount_fen)),
        "pandas_udf": lambda: txns.select(y=_plus_one_pandas(txns.amount_fen)),
    }[name]()


@pytest.mark.parametrize("operation", sorted(CAPABILITIES | {"python_udf"}))
def test_capability_matrix_matches_what_the_engine_does(
    engine: Engine, warehouse: Path, operation: str
) -> None:
    txns = engine.table(warehouse, "transactions")
    if engine.supports(operation):
        assert len(engine.execute(_operation(operation, txns))) > 0
    else:
        with pytest.raises(Exception):  # noqa: B017 - Ibis refuses to compile, or Spark to analyse
            engine.execute(_operation(operation, txns))


def test_capability_matrix_names_both_engines() -> None:
    assert set(UNSUPPORTED) == {"duckdb", "spark"}
    assert UNSUPPORTED["spark"] == {"mode", "asof_join", "seeded_sample", "window_filter"}
    assert UNSUPPORTED["duckdb"] == {"pandas_udf"}


# -- connections ------------------------------------------------------------------------------------------
def test_engine_is_a_context_manager(warehouse: Path) -> None:
    with connect("duckdb") as eng:
        assert eng.name == "duckdb"
        customers = eng.table(warehouse, "customers")
    with pytest.raises(EngineError, match="closed"):
        eng.execute(customers)
    eng.close()  # twice is harmless


def test_duckdb_database_file_settings_are_passed_through(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "youshu.duckdb"
    with connect("duckdb", database=path, memory_limit="256MB", threads=2) as eng:
        settings = eng.con.raw_sql(
            "select current_setting('memory_limit'), current_setting('threads'), current_setting('TimeZone')"
        ).fetchone()
    assert path.exists()
    assert settings[1:] == (2, "UTC")
    assert settings[0].replace(" ", "") in {"256.0MiB", "244.1MiB", "256MB", "244.1MB"}


def test_connect_from_settings_resolves_the_database_path(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, duckdb_path=Path("data/y.duckdb"), duckdb_memory_limit="1GB")
    with connect_from_settings(settings) as eng:
        assert eng.name == "duckdb"
    assert (tmp_path / "data" / "y.duckdb").exists()


def test_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(EngineError, match="duckdb, spark"):
        connect("polars")


def test_spark_without_java_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="apt-get install openjdk-17-jre-headless"):
        spark_module.check_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(EngineError, match="JAVA_HOME"):
        spark_module.check_java()


def test_spark_refuses_settings_that_would_make_engines_disagree() -> None:
    with pytest.raises(EngineError, match=r"spark\.sql\.session\.timeZone=UTC"):
        connect("spark", conf={"spark.sql.session.timeZone": "Asia/Shanghai"})
    with pytest.raises(EngineError, match="ansi"):
        connect("spark", conf={"spark.sql.ansi.enabled": "false"})


@pytest.mark.spark
def test_spark_engines_share_one_session_but_not_views(spark_engine: Engine, warehouse: Path) -> None:
    assert isinstance(spark_engine, spark_module.SparkEngine)
    other = connect("spark", conf={"spark.sql.shuffle.partitions": "1"})
    try:
        assert other.session.sparkContext is spark_engine.session.sparkContext
        assert other.session is not spark_engine.session
        customers = other.table(warehouse, "customers")
        assert other.execute(customers.count()).iat[0, 0] == 3
        assert other.session.conf.get("spark.sql.session.timeZone") == "UTC"
        assert other.session.conf.get("spark.sql.ansi.enabled") == "true"
    finally:
        other.close()
    assert [t for t in other.session.catalog.listTables() if t.isTemporary] == []
    assert spark_engine.execute(spark_engine.table(warehouse, "customers").count()).iat[0, 0] == 3
