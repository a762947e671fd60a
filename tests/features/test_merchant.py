"""Merchant features hold the values a hand query gives, use nothing after the as-of date, and agree across engines."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine
from youshu.features import FEATURES, compute_features, feature_schema
from youshu.features.nearest import nearest_distance_m, safe_radius_m
from youshu.schema.storage import TRUTH_DIR
from youshu.tags.definitions import load_definitions

from .conftest import (
    AS_OF,
    Sql,
    append_later_rows,
    assert_catalog_schema,
    assert_matches,
    assert_no_nulls_where_defaulted,
    assert_same_frames,
    features,
    haversine_sql,
)

D7, D30, D90, D365 = (AS_OF - timedelta(days=d - 1) for d in (7, 30, 90, 365))
END = AS_OF + timedelta(days=1)  # events strictly before midnight after the as-of date
DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"


def _ts(day: date) -> str:
    return f"TIMESTAMP '{day} 00:00:00'"


@pytest.fixture(scope="module")
def table(duck: Engine, province: Path) -> pa.Table:
    return features(duck, province, "merchant")


@pytest.fixture(scope="module")
def frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _copy(province: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse"
    shutil.copytree(province, copy, ignore=shutil.ignore_patterns(TRUTH_DIR))
    return copy


# -- shape and types --------------------------------------------------------------------------------------


def test_every_catalog_feature_is_present_with_its_declared_dtype(table: pa.Table) -> None:
    assert_catalog_schema(table, "merchant")
    assert feature_schema("merchant")["distance_to_nearest_outlet_m"] == "float"
    assert feature_schema("merchant")["qr_count_30d"] == "int"


def test_one_row_per_merchant_and_prospect_poi(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql("SELECT merchant_id FROM merchants")
    assert frame["merchant_id"].is_unique
    assert sorted(frame["merchant_id"]) == sorted(expected["merchant_id"])
    assert (frame["as_of_date"] == AS_OF).all()
    assert frame["is_acquired"].sum() >= 10 and (~frame["is_acquired"]).sum() >= 10


def test_counts_amounts_and_flags_are_never_null_and_shares_lie_in_0_1(frame: pd.DataFrame) -> None:
    assert_no_nulls_where_defaulted(frame, "merchant")
    shares = [s.name for s in FEATURES["merchant"] if s.unit == "share"]
    values = frame[shares].stack()
    assert ((values >= 0) & (values <= 1)).all()
    floats = [s.name for s in FEATURES["merchant"] if s.dtype == "float"]
    assert not frame[floats].isin([float("inf"), float("-inf")]).any().any()


# -- hand-checked values ------------------------------------------------------------------------------------


def test_profile_category_tenure_and_distance_to_the_acquiring_outlet_match_a_hand_query(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(
        f"""
        WITH m AS (
            SELECT *, COALESCE(is_acquired AND onboard_date <= DATE '{AS_OF}', false) AS signed FROM merchants)
        SELECT m.merchant_id, m.category, m.specialty_industry, m.county_id, m.owner_customer_id,
               m.signed AS is_acquired,
               CASE WHEN m.signed THEN m.acquiring_outlet_id END AS acquiring_outlet_id,
               CASE WHEN m.signed THEN DATE '{AS_OF}' - m.onboard_date END AS tenure_days,
               CASE WHEN m.signed THEN {haversine_sql("m.lat", "m.lon", "o.lat", "o.lon")} END
                   AS distance_to_outlet_m
        FROM m LEFT JOIN outlets o ON o.outlet_id = m.acquiring_outlet_id
        """
    )
    assert_matches(frame, expected, "merchant")
    assert frame.loc[~frame["is_acquired"], "distance_to_outlet_m"].isna().all()
    assert frame["distance_to_outlet_m"].notna().sum() >= 10


def test_qr_payments_over_30_90_and_365_days_match_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    expected = sql(
        f"""
        SELECT merchant_id,
               COUNT(*) FILTER (WHERE paid_at >= {_ts(D30)}) AS qr_count_30d,
               SUM(amount_fen) FILTER (WHERE paid_at >= {_ts(D30)}) AS qr_amount_30d_fen,
               COUNT(DISTINCT CAST(paid_at AS DATE)) FILTER (WHERE paid_at >= {_ts(D30)}) AS qr_active_days_30d,
               COUNT(*) FILTER (WHERE paid_at >= {_ts(D90)}) AS qr_count_90d,
               SUM(amount_fen) FILTER (WHERE paid_at >= {_ts(D90)}) AS qr_amount_90d_fen,
               SUM(amount_fen) FILTER (WHERE paid_at >= {_ts(D90)})
                   / NULLIF(COUNT(*) FILTER (WHERE paid_at >= {_ts(D90)}), 0) AS qr_avg_ticket_fen,
               COUNT(*) AS qr_count_365d,
               COUNT(DISTINCT payer_customer_id) FILTER (WHERE paid_at >= {_ts(D90)}) AS qr_payers_90d,
               COUNT(*) FILTER (WHERE paid_at >= {_ts(D90)} AND payment_method = 'bank_app')
                   / NULLIF(COUNT(*) FILTER (WHERE paid_at >= {_ts(D90)}), 0) AS qr_bank_app_share_90d,
               DATE '{AS_OF}' - CAST(MAX(paid_at) AS DATE) AS days_since_last_qr
        FROM acquiring_transactions
        WHERE paid_at >= {_ts(D365)} AND paid_at < {_ts(END)}
        GROUP BY 1
        """
    )
    aligned = assert_matches(frame, expected, "merchant")
    assert (aligned["qr_count_30d"] > 0).sum() >= 8
    assert (aligned["days_since_last_qr"] > 0).sum() >= 1  # a merchant that stopped taking payments
    assert (frame["qr_active_days_30d"] <= 30).all()


def test_growth_compares_the_last_28_days_with_the_28_days_before(frame: pd.DataFrame, sql: Sql) -> None:
    last, prev = AS_OF - timedelta(days=27), AS_OF - timedelta(days=55)
    expected = sql(
        f"""
        WITH c AS (
            SELECT merchant_id,
                   COUNT(*) FILTER (WHERE paid_at >= {_ts(last)}) AS qr_count_last_28d,
                   COUNT(*) FILTER (WHERE paid_at < {_ts(last)}) AS qr_count_prev_28d
            FROM acquiring_transactions
            WHERE paid_at >= {_ts(prev)} AND paid_at < {_ts(END)}
            GROUP BY 1)
        SELECT *, (qr_count_last_28d - qr_count_prev_28d) / NULLIF(qr_count_prev_28d, 0) AS qr_growth_28d
        FROM c
        """
    )
    aligned = assert_matches(frame, expected, "merchant")
    assert aligned["qr_growth_28d"].notna().sum() >= 8
    assert frame.loc[frame["qr_count_prev_28d"] == 0, "qr_growth_28d"].isna().all()


def test_settlement_retention_after_7_and_30_days_matches_a_hand_query(frame: pd.DataFrame, sql: Sql) -> None:
    """Retention: the share of the window's settled takings still on the settlement account (1 - debits/credits)."""
    expected = sql(
        f"""
        WITH signed AS (
            SELECT merchant_id, settlement_account_id FROM merchants
            WHERE is_acquired AND onboard_date <= DATE '{AS_OF}'),
        flows AS (
            SELECT s.merchant_id,
                   SUM(t.amount_fen) FILTER (WHERE t.direction = 'in'
                       AND t.counterparty_category = 'acquiring_settlement' AND t.txn_at >= {_ts(D7)}) AS s7,
                   SUM(t.amount_fen) FILTER (WHERE t.direction = 'out' AND t.txn_at >= {_ts(D7)}) AS d7,
                   SUM(t.amount_fen) FILTER (WHERE t.direction = 'in'
                       AND t.counterparty_category = 'acquiring_settlement') AS s30,
                   SUM(t.amount_fen) FILTER (WHERE t.direction = 'out') AS d30
            FROM signed s JOIN transactions t ON t.account_id = s.settlement_account_id
            WHERE t.txn_at >= {_ts(D30)} AND t.txn_at < {_ts(END)}
            GROUP BY 1),
        deposit AS (
            SELECT s.merchant_id, b.balance_fen AS deposit_fen
            FROM signed s JOIN balances b ON b.account_id = s.settlement_account_id
            WHERE b.month_end_date = DATE '{AS_OF}')
        SELECT merchant_id, s30 AS settlement_in_30d_fen,
               greatest(0.0, least(1.0, 1 - COALESCE(d7, 0) / s7)) AS retention_7d,
               greatest(0.0, least(1.0, 1 - COALESCE(d30, 0) / s30)) AS retention_30d,
               deposit_fen
        FROM flows FULL JOIN deposit USING (merchant_id)
        """
    )
    aligned = assert_matches(frame, expected, "merchant")
    kept = aligned["retention_30d"].dropna()
    assert len(kept) >= 8 and ((kept > 0) & (kept < 1)).sum() >= 5
    assert frame.loc[~frame["is_acquired"], ["retention_7d", "retention_30d"]].isna().all().all()
    assert (frame.loc[~frame["is_acquired"], ["settlement_in_30d_fen", "deposit_fen"]] == 0).all().all()


def test_redemptions_over_90_days_match_a_hand_query(duck: Engine, province: Path, sql: Sql) -> None:
    as_of = date(2025, 3, 20)  # the province's coupon campaign runs from March to early April 2025
    first, end = as_of - timedelta(days=89), as_of + timedelta(days=1)
    expected = sql(
        f"""
        SELECT merchant_id, COUNT(*) AS redemptions_90d FROM redemptions
        WHERE redeemed_at >= {_ts(first)} AND redeemed_at < {_ts(end)} GROUP BY 1
        """
    )
    frame = features(duck, province, "merchant", as_of).to_pandas()
    aligned = assert_matches(frame, expected, "merchant")
    assert aligned["redemptions_90d"].sum() >= 20
    total = sql(f"SELECT COUNT(*) AS n FROM redemptions WHERE redeemed_at >= {_ts(end)}")
    assert total.at[0, "n"] > 0  # some fall after that as-of date and are left out


def test_county_specialty_is_the_one_of_the_merchants_county(frame: pd.DataFrame) -> None:
    per_county = frame.groupby("county_id")["county_specialty"].nunique(dropna=False)
    assert (per_county == 1).all()
    assert frame["county_specialty"].notna().all()


# -- distance to the nearest outlet -------------------------------------------------------------------------


def test_distance_to_the_nearest_open_outlet_matches_a_cross_join_and_covers_prospects(
    frame: pd.DataFrame, sql: Sql
) -> None:
    expected = sql(
        f"""
        SELECT m.merchant_id,
               MIN({haversine_sql("m.lat", "m.lon", "o.lat", "o.lon")}) AS distance_to_nearest_outlet_m
        FROM merchants m CROSS JOIN outlets o
        WHERE o.opened_date <= DATE '{AS_OF}'
        GROUP BY 1
        """
    )
    assert_matches(frame, expected, "merchant")
    assert frame["distance_to_nearest_outlet_m"].notna().all()
    acquired = frame[frame["is_acquired"]]
    assert (acquired["distance_to_nearest_outlet_m"] <= acquired["distance_to_outlet_m"] + 1e-6).all()
    # The province has merchants settled on each grid of the search and beyond them (see features.nearest).
    assert (frame["distance_to_nearest_outlet_m"] < 4_000).sum() >= 10
    assert (frame["distance_to_nearest_outlet_m"] > 5_000).any()


def _brute_force_m(points: pd.DataFrame, targets: pd.DataFrame) -> np.ndarray:
    p1, p2 = np.radians(points["lat"].to_numpy())[:, None], np.radians(targets["lat"].to_numpy())[None, :]
    dlon = np.radians(targets["lon"].to_numpy())[None, :] - np.radians(points["lon"].to_numpy())[:, None]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return (2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))).min(axis=1)


@pytest.mark.parametrize("cells", [(0.05, 0.25), (0.01,), (0.002, 0.01, 0.05), ()])
def test_the_nearest_outlet_search_is_exact_on_every_grid(duck: Engine, cells: tuple[float, ...]) -> None:
    rng = np.random.default_rng(7)
    # Clustered targets with a sparse corner, so points settle on every grid and some reach the cross join.
    targets = pd.DataFrame({"lat": 30 + rng.gamma(1.0, 0.3, 60), "lon": 110 + rng.gamma(1.0, 0.3, 60)})
    # A trap for a too generous safe radius: the point sits at the west edge of a 0.05° cell, its nearest
    # target just beyond the 3 x 3 block to the west, a slightly farther one inside the block to the east.
    trap = pd.DataFrame({"lat": [29.6123, 29.6123], "lon": [109.9499, 110.0528]})
    targets = pd.concat([targets, trap], ignore_index=True)
    points = pd.DataFrame(
        {
            "id": [f"P{i:03d}" for i in range(400)],
            "lat": 29.5 + rng.uniform(0, 3, 400),
            "lon": 109.5 + rng.uniform(0, 3, 400),
        }
    )
    points.loc[0, ["lat", "lon"]] = targets.loc[0, ["lat", "lon"]].to_numpy()  # on a target: 0 m
    points.loc[1, ["lat", "lon"]] = [None, None]  # no coordinates: no distance
    points.loc[2, ["lat", "lon"]] = [29.6123, 110.0001]  # the trap: 4.85 km west, not 5.1 km east
    expr = nearest_distance_m(ibis.memtable(points), "id", ibis.memtable(targets), cell_degrees=cells)
    got = duck.to_pyarrow(expr).to_pandas().set_index("id")["distance_m"]
    located = points.dropna().set_index("id")
    assert got.index.is_unique and set(got.index) == set(located.index)
    want = pd.Series(_brute_force_m(located, targets), index=located.index)
    np.testing.assert_allclose(got.loc[want.index], want, rtol=1e-9, atol=1e-6)
    assert got["P000"] == pytest.approx(0.0, abs=1e-6)
    assert got["P002"] == pytest.approx(want["P002"]) and want["P002"] < 4_900


def test_without_any_open_outlet_the_distance_is_null(duck: Engine, province: Path, sql: Sql) -> None:
    first = pd.Timestamp(sql("SELECT MIN(opened_date) AS d FROM outlets").at[0, "d"]).date()
    frame = features(duck, province, "merchant", first - timedelta(days=1)).to_pandas()
    assert len(frame) > 0 and frame["distance_to_nearest_outlet_m"].isna().all()
    on = features(duck, province, "merchant", first).to_pandas()
    assert on["distance_to_nearest_outlet_m"].notna().all()


def test_the_safe_radius_is_below_one_cell_and_shrinks_towards_the_poles(duck: Engine) -> None:
    lats = ibis.memtable(pd.DataFrame({"lat": [0.0, 30.0, -30.0, 60.0]}))
    radius = duck.to_pyarrow(lats.select(r=safe_radius_m(lats.lat, 0.05))).to_pandas()["r"]
    cell_m = 6_371_008.8 * np.radians(0.05)
    assert (radius < cell_m).all() and radius[1] == pytest.approx(radius[2])
    assert radius[0] > radius[1] > radius[3] > 0
    with pytest.raises(ValueError, match="increasing"):
        nearest_distance_m(lats.mutate(id=1, lon=0.0), "id", lats.mutate(lon=0.0), cell_degrees=(0.5, 0.1))


def test_the_prospect_tags_fire_for_prospects_near_an_outlet(duck: Engine, province: Path) -> None:
    """Before the nearest-outlet distance, key_prospect and prospect_in_circle never fired for prospects."""
    tagset = load_definitions([DEFINITIONS / "merchant"], {"merchant": feature_schema("merchant")})
    merchants = compute_features(duck, province, "merchant", AS_OF)
    expr = tagset.compile(merchants, "merchant", tags=["key_prospect", "prospect_in_circle"])
    tagged = duck.to_pyarrow(expr).to_pandas()
    prospect = ~tagged["is_acquired"]
    near = tagged["distance_to_nearest_outlet_m"] <= 3000
    shop = tagged["category"].isin(["food", "retail", "specialty_market"])
    assert (tagged["prospect_in_circle"].fillna(False) == (prospect & near)).all()
    assert (tagged["key_prospect"].fillna(False) == (prospect & near & shop)).all()
    assert tagged["prospect_in_circle"].sum() >= 3 and tagged["key_prospect"].sum() >= 1
    assert tagged.loc[tagged["prospect_in_circle"].fillna(False), "distance_to_outlet_m"].isna().all()


# -- as-of correctness --------------------------------------------------------------------------------------


def test_rows_dated_after_the_as_of_date_change_no_feature(
    duck: Engine, later_province: Path, frame: pd.DataFrame
) -> None:
    later = features(duck, later_province, "merchant").to_pandas()
    assert_same_frames(later, frame, "merchant_id")


def test_a_payment_in_the_last_second_and_an_outlet_opened_on_the_as_of_date_count(
    duck: Engine, province: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    copy = _copy(province, tmp_path)
    before = frame.set_index("merchant_id")
    quiet = before[before["is_acquired"] & (before["days_since_last_qr"] > 0)].index[0]
    payment = pq.read_table(next((province / "acquiring_transactions").glob("*.parquet"))).slice(0, 1)
    payment = payment.to_pandas()
    payment["merchant_id"], payment["acq_txn_id"], payment["amount_fen"] = quiet, "LAST_SECOND", 54_321
    payment["paid_at"] = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, 999_999)
    pq.write_table(
        pa.Table.from_pandas(payment, preserve_index=False),
        copy / "acquiring_transactions" / "part-09999.parquet",
    )
    prospect = before[~before["is_acquired"] & (before["distance_to_nearest_outlet_m"] > 500)].index[0]
    shop = pq.read_table(province / "merchants").to_pandas().set_index("merchant_id").loc[prospect]
    outlet = pq.read_table(province / "outlets").slice(0, 1).to_pandas()
    outlet["outlet_id"], outlet["opened_date"] = "OASOF", AS_OF
    outlet["lat"], outlet["lon"] = shop["lat"], shop["lon"]
    pq.write_table(
        pa.Table.from_pandas(outlet, preserve_index=False), copy / "outlets" / "part-09999.parquet"
    )
    append_later_rows(copy, AS_OF)  # and midnight after it does not count
    after = features(duck, copy, "merchant").to_pandas().set_index("merchant_id")
    assert after.at[quiet, "qr_count_30d"] == before.at[quiet, "qr_count_30d"] + 1
    assert after.at[quiet, "qr_amount_30d_fen"] == before.at[quiet, "qr_amount_30d_fen"] + 54_321
    assert after.at[quiet, "days_since_last_qr"] == 0
    assert after.at[prospect, "distance_to_nearest_outlet_m"] == pytest.approx(0.0, abs=1e-6)


def test_a_merchant_signed_after_the_as_of_date_is_a_prospect_until_its_contract_date(
    duck: Engine, province: Path, sql: Sql
) -> None:
    signed = sql(
        f"""
        SELECT merchant_id, onboard_date FROM merchants
        WHERE is_acquired AND onboard_date BETWEEN DATE '2025-01-01' AND DATE '{AS_OF}'
        ORDER BY onboard_date DESC LIMIT 1
        """
    )
    merchant, day = signed.at[0, "merchant_id"], pd.Timestamp(signed.at[0, "onboard_date"]).date()
    eve = features(duck, province, "merchant", day - timedelta(days=1)).to_pandas().set_index("merchant_id")
    on = features(duck, province, "merchant", day).to_pandas().set_index("merchant_id")
    assert not eve.at[merchant, "is_acquired"] and on.at[merchant, "is_acquired"]
    assert eve.loc[merchant, ["acquiring_outlet_id", "tenure_days", "distance_to_outlet_m"]].isna().all()
    assert on.at[merchant, "tenure_days"] == 0 and on.at[merchant, "acquiring_outlet_id"] is not None
    assert eve.at[merchant, "distance_to_nearest_outlet_m"] == on.at[merchant, "distance_to_nearest_outlet_m"]


# -- engines ------------------------------------------------------------------------------------------------


@pytest.mark.spark
def test_merchant_features_are_identical_on_duckdb_and_spark(
    spark_engine: Engine, province: Path, frame: pd.DataFrame
) -> None:
    table = features(spark_engine, province, "merchant")
    assert_catalog_schema(table, "merchant")
    assert_same_frames(table.to_pandas(), frame, "merchant_id")
