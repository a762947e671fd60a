"""Circles from the warehouse: as-of status, QR activity and deposits as a hand query gives them; both engines."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from youshu.engine import Engine
from youshu.geo.circles import CircleResult, build_circles, warehouse_frames
from youshu.schema.storage import TRUTH_DIR, parquet_files, read_table, write_part
from youshu.schema.tables import get_table

from .conftest import AS_OF

NEXT_DAY = AS_OF + timedelta(days=1)


@pytest.fixture(scope="module")
def warehouse(geo_province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The geo province plus an outlet opened and a merchant signed the day after the as-of date."""
    out = tmp_path_factory.mktemp("circles_wh") / "warehouse"
    shutil.copytree(geo_province, out, ignore=shutil.ignore_patterns(TRUTH_DIR))
    outlets = read_table(out, get_table("outlets")).to_pandas()
    merchants = read_table(out, get_table("merchants")).to_pandas()
    late_outlet = outlets.head(1).copy()
    late_outlet["outlet_id"] = "OLATE"
    late_outlet["opened_date"] = NEXT_DAY
    write_part(
        out / "outlets", 99, pa.Table.from_pandas(late_outlet, preserve_index=False), get_table("outlets")
    )
    late = merchants[merchants["is_acquired"]].head(1).copy()
    late["merchant_id"] = "MLATE"
    late["onboard_date"] = NEXT_DAY
    late["lat"], late["lon"] = float(late_outlet["lat"].iloc[0]), float(late_outlet["lon"].iloc[0])
    write_part(
        out / "merchants", 99, pa.Table.from_pandas(late, preserve_index=False), get_table("merchants")
    )
    return out


@pytest.fixture(scope="module")
def result(duck: Engine, warehouse: Path) -> CircleResult:
    return build_circles(duck, warehouse, AS_OF, 3.0, effective_min_payments=5, effective_window_days=30)


def _sql(warehouse: Path, query: str) -> pd.DataFrame:
    con = duckdb.connect()
    for name in ("merchants", "acquiring_transactions", "balances"):
        files = ", ".join(f"'{f}'" for f in parquet_files(warehouse / name))
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{files}])")
    return con.sql(query).df()


def test_outlets_opened_later_have_no_circle_and_later_signings_are_prospects(result: CircleResult) -> None:
    summary = result.summary.to_pandas()
    assert "OLATE" not in set(summary["outlet_id"])
    homes = result.merchant_home.to_pandas().set_index("merchant_id")
    assert not homes.loc["MLATE", "is_acquired"]
    assert homes.loc["MLATE", "home_rule"] == "nearest"
    members = result.members.to_pandas()
    late = members[members["merchant_id"] == "MLATE"]
    assert len(late) >= 1 and not late["is_acquired"].any() and (late["qr_payments"] == 0).all()


def test_effective_merchants_volumes_and_deposits_match_a_hand_query(
    result: CircleResult, warehouse: Path
) -> None:
    first = AS_OF - timedelta(days=29)
    expected = _sql(
        warehouse,
        f"""
        WITH q AS (
            SELECT merchant_id, count(*) AS n, sum(amount_fen) AS amount
            FROM acquiring_transactions
            WHERE paid_at >= TIMESTAMP '{first}' AND paid_at < TIMESTAMP '{NEXT_DAY}'
            GROUP BY merchant_id),
        b AS (SELECT account_id, balance_fen FROM balances WHERE month_end_date = DATE '{AS_OF}')
        SELECT m.merchant_id, coalesce(q.n, 0) AS n, coalesce(q.amount, 0) AS amount,
               coalesce(b.balance_fen, 0) AS deposit
        FROM merchants m LEFT JOIN q USING (merchant_id) LEFT JOIN b ON b.account_id = m.settlement_account_id
        WHERE m.is_acquired AND m.onboard_date <= DATE '{AS_OF}'
        """,
    ).set_index("merchant_id")
    members = result.members.to_pandas()
    acquired = members[members["is_acquired"]]
    assert len(acquired) > 0
    want = expected.loc[acquired["merchant_id"]]
    assert (acquired["qr_payments"].to_numpy() == want["n"].to_numpy()).all()
    assert (acquired["qr_amount_fen"].to_numpy() == want["amount"].to_numpy()).all()
    assert (acquired["deposit_fen"].to_numpy() == want["deposit"].to_numpy()).all()
    assert (acquired["is_effective"].to_numpy() == (want["n"].to_numpy() >= 5)).all()
    assert set(expected.index) == set(result.merchant_home.to_pandas().query("is_acquired")["merchant_id"])
    summary = result.summary.to_pandas().set_index("outlet_id")
    per_outlet = acquired.groupby("outlet_id")[["qr_amount_fen", "deposit_fen"]].sum()
    assert (summary.loc[per_outlet.index, "qr_amount_fen"] == per_outlet["qr_amount_fen"]).all()
    assert (summary.loc[per_outlet.index, "deposit_fen"] == per_outlet["deposit_fen"]).all()


def test_a_longer_window_or_higher_threshold_changes_the_effective_count(
    duck: Engine, warehouse: Path, result: CircleResult
) -> None:
    base = result.summary.to_pandas()["effective_merchants"].sum()
    strict = build_circles(
        duck, warehouse, AS_OF, 3.0, effective_min_payments=10_000, effective_window_days=30
    )
    assert base > 0 and strict.summary.to_pandas()["effective_merchants"].sum() == 0
    assert strict.meta["effective_min_payments"] == 10_000


def test_radius_defaults_to_the_project_setting(duck: Engine, warehouse: Path, project: Path) -> None:
    (project / "youshu.yaml").write_text("circles:\n  radius_km: 1.5\n", encoding="utf-8")
    from youshu.config import get_settings

    get_settings.cache_clear()
    assert build_circles(duck, warehouse, AS_OF).radius_km == 1.5


def _records(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows as plain values: engines return nullable integers differently (NaN or None, float or Int64)."""

    def plain(v: object) -> object:
        if v is None or (isinstance(v, float | np.floating) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_):
            return float(v)
        return v

    return [tuple(plain(v) for v in row) for row in frame.itertuples(index=False)]


@pytest.mark.spark
def test_warehouse_frames_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, duck: Engine, warehouse: Path
) -> None:
    frames = [warehouse_frames(e, warehouse, AS_OF, 30) for e in (duck, spark_engine)]
    for left, right in zip(frames[0], frames[1], strict=True):
        assert len(left) > 0
        assert list(left.columns) == list(right.columns)
        assert _records(left) == _records(right)


def test_as_of_must_be_a_date(duck: Engine, warehouse: Path) -> None:
    from youshu.errors import YoushuError

    with pytest.raises(YoushuError, match="as-of date must be a date"):
        build_circles(duck, warehouse, "2025-09-30", 3.0)  # type: ignore[arg-type]
    assert isinstance(AS_OF, date)
