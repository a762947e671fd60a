"""Micro business circles (微商圈): every merchant within R km of each outlet, with per-circle counts and volumes.

A circle is the disc of geodesic radius R (default 3 km, ``circles.radius_km`` in youshu.yaml) around an
outlet. Its members are all merchants inside it, acquired (收单商户) and prospects (潜在商户) alike. Circles
overlap: a merchant belongs to every circle it lies in (``circles`` counts them), and has exactly one home
outlet (归属网点): its acquiring outlet when it was signed by the as-of date (and that outlet was open), else
the nearest open outlet by geodesic distance. A member row says whether the circle is the merchant's home
(``is_home``), so per-circle totals can be read both ways: everything in reach (``merchants``) or each merchant
once (``home_merchants``).

A merchant is effective (有效商户) when it received at least ``effective_min_payments`` QR payments (default
5) in the ``effective_window_days`` days (default 30) up to the as-of date, as the ``effective_merchant`` tag;
an acquired merchant that is not effective is low-activity (低活跃). Retained deposits (留存存款) are the
settlement accounts' balances at the last month end on or before the as-of date. A merchant signed after the
as-of date counts as a prospect; the ``status`` column (as of the extract) is not used, as in the features.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_dir
from youshu.engine import Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date, last_days, month_ends
from youshu.geo.coords import CoordSystem, to_wgs84
from youshu.geo.distance import Pairs, check_coordinates, geodesic_m, nearest, pairs_within
from youshu.schema.enums import MERCHANT_CATEGORY_ZH

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "CATEGORIES",
    "COLUMN_ZH",
    "CircleResult",
    "build_circles",
    "circles_from_frames",
    "load_circles",
    "load_extra",
    "load_meta",
    "warehouse_frames",
]

log = logging.getLogger(__name__)

#: Merchant categories in display order, with their Chinese names (特色市场, 餐饮美食, 民生服务, ...).
CATEGORIES: tuple[str, ...] = tuple(MERCHANT_CATEGORY_ZH)
TABLES = ("circle_summary", "circle_members", "circle_categories", "merchant_home")
META_FILE = "circles.json"

OUTLET_COLUMNS = ("outlet_id", "outlet_name", "lat", "lon")
MERCHANT_COLUMNS = ("merchant_id", "category", "lat", "lon", "is_acquired")


@dataclass(frozen=True)
class CircleResult:
    """The circles of one as-of date: four Arrow tables and the definitions used.

    Attributes
    ----------
    summary : pyarrow.Table
        ``circle_summary``: one row per open outlet (counts, penetration, effective merchants, volumes).
    members : pyarrow.Table
        ``circle_members``: one row per (outlet, merchant within R km), sorted by outlet then merchant.
    categories : pyarrow.Table
        ``circle_categories``: one row per (outlet, category), every category listed, with zh names.
    merchant_home : pyarrow.Table
        ``merchant_home``: one row per merchant: home outlet, rule, distance, circles it is in.
    as_of, radius_km, effective_min_payments, effective_window_days
        The definitions.
    """

    summary: pa.Table
    members: pa.Table
    categories: pa.Table
    merchant_home: pa.Table
    as_of: date
    radius_km: float
    effective_min_payments: int
    effective_window_days: int

    @property
    def meta(self) -> dict[str, Any]:
        """The definitions, as written to ``circles.json``."""
        return {
            "as_of_date": self.as_of.isoformat(),
            "radius_km": self.radius_km,
            "effective_min_payments": self.effective_min_payments,
            "effective_window_days": self.effective_window_days,
            "outlets": self.summary.num_rows,
            "memberships": self.members.num_rows,
            "merchants": self.merchant_home.num_rows,
        }

    def tables(self) -> dict[str, pa.Table]:
        """The four tables by name."""
        return {
            "circle_summary": self.summary,
            "circle_members": self.members,
            "circle_categories": self.categories,
            "merchant_home": self.merchant_home,
        }

    def write(
        self,
        folder: Path,
        *,
        extra_tables: Mapping[str, pa.Table] | None = None,
        extra_meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write ``<folder>/<table>/part-00000.parquet`` per table and ``circles.json``, atomically.

        ``extra_tables`` (e.g. ``huff_zones``) and ``extra_meta`` (e.g. the Huff λ) go in the same folder,
        so the whole set appears at once or not at all.
        """
        folder = Path(folder)
        tables = {**self.tables(), **(extra_tables or {})}
        meta = {**self.meta, **(extra_meta or {})}
        with atomic_dir(folder) as tmp:
            for name, table in tables.items():
                (tmp / name).mkdir()
                pq.write_table(table, tmp / name / "part-00000.parquet", compression="zstd")
            (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    def circle(self, outlet_id: str) -> pd.DataFrame:
        """The members of one outlet's circle, nearest first.

        Raises
        ------
        YoushuError
            When the outlet has no circle (unknown, or not open by the as-of date).
        """
        known = set(self.summary.column("outlet_id").to_pylist())
        if outlet_id not in known:
            raise YoushuError(
                f"outlet {outlet_id!r} has no circle as of {self.as_of}: it is not an outlet open by then "
                f"({len(known)} outlets have circles)"
            )
        frame = self.members.to_pandas()
        return frame[frame["outlet_id"] == outlet_id].sort_values("distance_m").reset_index(drop=True)


def load_circles(folder: Path) -> CircleResult:
    """Read circles written by :meth:`CircleResult.write`.

    Raises
    ------
    YoushuError
        When the folder lacks ``circles.json`` or one of the tables (build them with ``youshu circles build``).
    """
    folder = Path(folder)
    meta_path = folder / META_FILE
    missing = [n for n in TABLES if not (folder / n).is_dir()]
    if not meta_path.exists() or missing:
        raise YoushuError(
            f"{folder} holds no circles (missing {META_FILE if not meta_path.exists() else ', '.join(missing)}); "
            "build them first: youshu circles build --as-of YYYY-MM-DD"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    tables = {n: pq.read_table(folder / n) for n in TABLES}
    return CircleResult(
        summary=tables["circle_summary"],
        members=tables["circle_members"],
        categories=tables["circle_categories"],
        merchant_home=tables["merchant_home"],
        as_of=date.fromisoformat(meta["as_of_date"]),
        radius_km=float(meta["radius_km"]),
        effective_min_payments=int(meta["effective_min_payments"]),
        effective_window_days=int(meta["effective_window_days"]),
    )


def load_extra(folder: Path, name: str) -> pa.Table | None:
    """A table written next to the circles with ``extra_tables`` (e.g. ``huff_zones``), or None."""
    path = Path(folder) / name
    return pq.read_table(path) if path.is_dir() else None


def load_meta(folder: Path) -> dict[str, Any]:
    """The ``circles.json`` of a circles folder (definitions and any extra facts, e.g. the Huff λ)."""
    path = Path(folder) / META_FILE
    if not path.exists():
        raise YoushuError(
            f"{folder} holds no circles ({META_FILE} missing); build them: youshu circles build"
        )
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


#: Chinese column headers of the circle tables (exports and pages).
COLUMN_ZH: dict[str, str] = {
    "outlet_id": "网点编号",
    "outlet_name": "网点名称",
    "county_id": "区县",
    "sub_branch_id": "支行",
    "lat": "纬度",
    "lon": "经度",
    "radius_km": "半径(公里)",
    "merchants": "商户数",
    "acquired_merchants": "收单商户数",
    "prospect_merchants": "潜在商户数",
    "penetration": "渗透率",
    "effective_merchants": "有效商户数",
    "effective_share": "有效商户占比",
    "low_activity_merchants": "低活跃商户数",
    "shared_merchants": "重叠商户数",
    "home_merchants": "归属商户数",
    "qr_payments": "扫码笔数",
    "qr_amount_fen": "扫码金额(分)",
    "deposit_fen": "留存存款(分)",
    "as_of_date": "数据日期",
    "merchant_id": "商户编号",
    "merchant_name": "商户名称",
    "distance_m": "距离(米)",
    "category": "商户类别",
    "category_zh": "类别名称",
    "is_acquired": "是否收单商户",
    "is_effective": "是否有效商户",
    "is_low_activity": "是否低活跃",
    "is_home": "是否归属网点",
    "home_outlet_id": "归属网点",
    "circles": "所在商圈数",
    "home_rule": "归属规则",
    "home_distance_m": "距归属网点(米)",
    "in_home_circle": "在归属商圈内",
}


# -- from the warehouse -------------------------------------------------------------------------------------


def warehouse_frames(
    engine: Engine, warehouse: Path, as_of: date, window_days: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outlets open by ``as_of`` and every merchant with its as-of status, QR activity and deposits.

    Returns
    -------
    (outlets, merchants) : tuple of DataFrame
        ``outlets``: ``outlet_id, outlet_name, county_id, sub_branch_id, lat, lon``. ``merchants``:
        ``merchant_id, merchant_name, category, lat, lon, is_acquired, acquiring_outlet_id, qr_payments,
        qr_amount_fen, deposit_fen`` (QR payments of the ``window_days`` days up to ``as_of``; deposits at
        the last month end; zeros for acquired merchants without any, nulls for prospects).
    """
    t = Tables(engine, warehouse)
    o = t.outlets
    outlets = engine.execute(
        o.filter(o.opened_date <= as_of)
        .select("outlet_id", "outlet_name", "county_id", "sub_branch_id", "lat", "lon")
        .order_by("outlet_id")
    )
    m = t.merchants
    signed = (m.is_acquired & (m.onboard_date <= as_of)).fill_null(False)
    q = last_days(t.acquiring_transactions, "paid_at", as_of, window_days)
    qr = q.group_by(qr_merchant_id=q.merchant_id).aggregate(
        qr_payments=q.count(), qr_amount_fen=q.amount_fen.sum()
    )
    b = t.balances
    deposits = b.filter(b.month_end_date == month_ends(as_of, 0)[0]).select(
        deposit_account_id=b.account_id, deposit_fen=b.balance_fen
    )
    j = m.left_join(qr, m.merchant_id == qr.qr_merchant_id).left_join(
        deposits, m.settlement_account_id == deposits.deposit_account_id
    )
    zero, none = ibis.literal(0, "int64"), ibis.null("int64")
    merchants = engine.execute(
        j.select(
            "merchant_id",
            "merchant_name",
            "category",
            "lat",
            "lon",
            is_acquired=signed,
            acquiring_outlet_id=ibis.ifelse(signed, m.acquiring_outlet_id, ibis.null("string")),
            qr_payments=ibis.ifelse(signed, j.qr_payments.cast("int64").fill_null(0), none),
            qr_amount_fen=ibis.ifelse(signed, j.qr_amount_fen.cast("int64").fill_null(zero), none),
            deposit_fen=ibis.ifelse(signed, j.deposit_fen.cast("int64").fill_null(zero), none),
        ).order_by("merchant_id")
    )
    return outlets, merchants


def build_circles(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    radius_km: float | None = None,
    *,
    effective_min_payments: int | None = None,
    effective_window_days: int | None = None,
) -> CircleResult:
    """Build the circles of every outlet open by ``as_of`` from the canonical warehouse.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark (the warehouse reads run there; the geometry runs in NumPy).
    warehouse : Path
        The canonical warehouse.
    as_of : date
        Outlets open, merchants signed and payments made on or before this date.
    radius_km : float, optional
        Circle radius; default ``circles.radius_km`` of youshu.yaml (3 km).
    effective_min_payments, effective_window_days : int, optional
        The effective-merchant definition; defaults from youshu.yaml (5 payments in 30 days).

    Returns
    -------
    CircleResult
        Write it with ``.write(folder)``.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     circles = build_circles(eng, Path("data/warehouse"), date(2025, 9, 30))
    ...     circles.write(Path("runs/2025-09-30/circles"))
    """
    from youshu.config import get_settings

    cfg = get_settings().circles
    as_of = as_of_date(as_of)
    window = effective_window_days or cfg.effective_window_days
    outlets, merchants = warehouse_frames(engine, warehouse, as_of, window)
    return circles_from_frames(
        outlets,
        merchants,
        as_of,
        radius_km if radius_km is not None else cfg.radius_km,
        effective_min_payments=effective_min_payments or cfg.effective_min_payments,
        effective_window_days=window,
    )


# -- the computation ----------------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise YoushuError(f"{what} lacks columns {missing}; expected at least {list(columns)}")


def _converted(frame: pd.DataFrame, system: CoordSystem | str, what: str) -> tuple[np.ndarray, np.ndarray]:
    lat = frame["lat"].to_numpy(dtype=np.float64, na_value=np.nan)
    lon = frame["lon"].to_numpy(dtype=np.float64, na_value=np.nan)
    id_column = "outlet_id" if "outlet_id" in frame.columns else "merchant_id"
    check_coordinates(lat, lon, what, frame[id_column].to_numpy())
    return to_wgs84(lat, lon, system)


def _category_codes(merchants: pd.DataFrame) -> np.ndarray:
    codes = pd.Categorical(merchants["category"], categories=list(CATEGORIES)).codes.astype(np.int64)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise YoushuError(
            f"merchants: category {merchants['category'].iloc[row]!r} of merchant "
            f"{merchants['merchant_id'].iloc[row]!r} is not one of {', '.join(CATEGORIES)}"
        )
    return codes


def _int_column(merchants: pd.DataFrame, name: str, acquired: np.ndarray) -> np.ndarray:
    if name not in merchants.columns:
        return np.zeros(len(merchants), dtype=np.int64)
    values = pd.to_numeric(merchants[name]).fillna(0).to_numpy(dtype=np.int64)
    return np.where(acquired, values, 0)


def _homes(
    outlets: pd.DataFrame,
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    merchants: pd.DataFrame,
    m_lat: np.ndarray,
    m_lon: np.ndarray,
    acquired: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Home outlet index, rule (True: acquiring outlet) and geodesic distance to it, per merchant."""
    near_idx, near_dist = nearest(o_lat, o_lon, m_lat, m_lon, k=1)
    home = near_idx[:, 0].copy()
    dist = near_dist[:, 0].copy()
    acquiring = pd.Index(outlets["outlet_id"]).get_indexer(
        merchants.get("acquiring_outlet_id", pd.Series([None] * len(merchants))).astype(object)
    )
    by_acquiring = acquired & (acquiring >= 0)
    if by_acquiring.any():
        home[by_acquiring] = acquiring[by_acquiring]
        dist[by_acquiring] = geodesic_m(
            m_lat[by_acquiring], m_lon[by_acquiring], o_lat[home[by_acquiring]], o_lon[home[by_acquiring]]
        )
    return home, by_acquiring, dist


@dataclass(frozen=True)
class _Arrays:
    """Per-merchant arrays of one build (WGS-84 coordinates, flags and volumes)."""

    lat: np.ndarray
    lon: np.ndarray
    acquired: np.ndarray
    category: np.ndarray
    qr: np.ndarray
    amount: np.ndarray
    deposit: np.ndarray
    effective: np.ndarray
    low: np.ndarray


def _merchant_arrays(
    merchants: pd.DataFrame, system: CoordSystem | str, effective_min_payments: int
) -> _Arrays:
    lat, lon = _converted(merchants, system, "merchants")
    acquired = merchants["is_acquired"].fillna(False).to_numpy(dtype=bool)
    qr = _int_column(merchants, "qr_payments", acquired)
    effective = acquired & (qr >= effective_min_payments)
    return _Arrays(
        lat=lat,
        lon=lon,
        acquired=acquired,
        category=_category_codes(merchants),
        qr=qr,
        amount=_int_column(merchants, "qr_amount_fen", acquired),
        deposit=_int_column(merchants, "deposit_fen", acquired),
        effective=effective,
        low=acquired & ~effective,
    )


def _check_frames(outlets: pd.DataFrame, merchants: pd.DataFrame, as_of: date, radius_km: float) -> None:
    _require(outlets, OUTLET_COLUMNS, "outlets")
    _require(merchants, MERCHANT_COLUMNS, "merchants")
    for frame, key, what in ((outlets, "outlet_id", "outlets"), (merchants, "merchant_id", "merchants")):
        dup = frame[key][frame[key].duplicated()]
        if len(dup):
            raise YoushuError(f"{what}: {key} {dup.iloc[0]!r} appears more than once; ids must be unique")
    if not radius_km > 0:
        raise YoushuError(f"circle radius must be positive (km), got {radius_km!r}")
    if outlets.empty:
        raise YoushuError(f"no outlets open on or before {as_of}: there are no circles to build")


def _share(numerator: np.ndarray, denominator: np.ndarray) -> pa.Array:
    """numerator / denominator as float64, null where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)
    return pa.array(share, from_pandas=True)


def _dates(n: int, as_of: date) -> pa.Array:
    return pa.array(np.full(n, np.datetime64(as_of, "D")), pa.date32())


def circles_from_frames(
    outlets: pd.DataFrame,
    merchants: pd.DataFrame,
    as_of: date,
    radius_km: float = 3.0,
    *,
    effective_min_payments: int = 5,
    effective_window_days: int = 30,
    merchant_coords: CoordSystem | str = CoordSystem.WGS84,
    outlet_coords: CoordSystem | str = CoordSystem.WGS84,
) -> CircleResult:
    """Circles from plain frames of outlets and merchants (the warehouse-free core of :func:`build_circles`).

    Parameters
    ----------
    outlets : DataFrame
        ``outlet_id, outlet_name, lat, lon`` (``county_id``, ``sub_branch_id`` optional).
    merchants : DataFrame
        ``merchant_id, category, lat, lon, is_acquired`` (``merchant_name``, ``acquiring_outlet_id``,
        ``qr_payments``, ``qr_amount_fen``, ``deposit_fen`` optional; missing volumes count as 0).
    as_of : date
        Stamped on every row.
    radius_km : float
        Geodesic radius of every circle.
    effective_min_payments : int
        Payments in the window that make an acquired merchant effective.
    effective_window_days : int
        Recorded with the result (the frames already hold the window's payments).
    merchant_coords, outlet_coords : {"wgs84", "gcj02", "bd09"}
        Coordinate system of each frame (e.g. merchants from a GCJ-02 POI export, outlets from the
        warehouse); both are converted to WGS-84 first, and every output is WGS-84.

    Returns
    -------
    CircleResult

    Raises
    ------
    YoushuError
        For missing columns, unknown categories, duplicate ids, or missing/out-of-range coordinates.
    """
    _check_frames(outlets, merchants, as_of, radius_km)
    outlets = outlets.reset_index(drop=True)
    merchants = merchants.reset_index(drop=True)
    o_lat, o_lon = _converted(outlets, outlet_coords, "outlets")
    m = _merchant_arrays(merchants, merchant_coords, effective_min_payments)
    pairs = pairs_within(o_lat, o_lon, m.lat, m.lon, radius_km * 1000.0)
    home, by_acquiring, home_dist = _homes(outlets, o_lat, o_lon, merchants, m.lat, m.lon, m.acquired)
    circles = np.bincount(pairs.point, minlength=len(merchants)).astype(np.int64)
    is_home = home[pairs.point] == pairs.centre
    in_home_circle = np.zeros(len(merchants), dtype=bool)
    in_home_circle[pairs.point[is_home]] = True

    outlet_ids = outlets["outlet_id"].astype(str).to_numpy()
    merchant_ids = merchants["merchant_id"].astype(str).to_numpy()
    members = _members_table(pairs, m, merchants, outlet_ids, merchant_ids, home, circles, as_of)
    summary = _summary_table(pairs, m, outlets, o_lat, o_lon, circles, is_home, radius_km, as_of)
    categories = _categories_table(pairs, m, outlet_ids, as_of)
    merchant_home = pa.table(
        {
            "merchant_id": pa.array(merchant_ids, pa.string()),
            "home_outlet_id": pa.array(outlet_ids[home], pa.string()),
            "home_rule": pa.array(np.where(by_acquiring, "acquiring", "nearest"), pa.string()),
            "home_distance_m": pa.array(np.round(home_dist, 3)),
            "circles": pa.array(circles),
            "in_home_circle": pa.array(in_home_circle),
            "is_acquired": pa.array(m.acquired),
            "as_of_date": _dates(len(merchants), as_of),
        }
    )
    log.info(
        "circles as of %s: %d outlets, %d memberships of %d merchants (radius %.2f km)",
        as_of,
        len(outlets),
        len(pairs),
        len(merchants),
        radius_km,
    )
    return CircleResult(
        summary=summary,
        members=members,
        categories=categories,
        merchant_home=merchant_home,
        as_of=as_of,
        radius_km=float(radius_km),
        effective_min_payments=int(effective_min_payments),
        effective_window_days=int(effective_window_days),
    )


def _members_table(
    pairs: Pairs,
    m: _Arrays,
    merchants: pd.DataFrame,
    outlet_ids: np.ndarray,
    merchant_ids: np.ndarray,
    home: np.ndarray,
    circles: np.ndarray,
    as_of: date,
) -> pa.Table:
    c, p = pairs.centre, pairs.point
    names = merchants.get("merchant_name", merchants["merchant_id"]).astype(str).to_numpy()
    categories = np.array(CATEGORIES, dtype=object)
    zh = np.array([MERCHANT_CATEGORY_ZH[k] for k in CATEGORIES], dtype=object)
    return pa.table(
        {
            "outlet_id": pa.array(outlet_ids[c], pa.string()),
            "merchant_id": pa.array(merchant_ids[p], pa.string()),
            "distance_m": pa.array(np.round(pairs.distance_m, 3)),
            "merchant_name": pa.array(names[p], pa.string()),
            "category": pa.array(categories[m.category[p]], pa.string()),
            "category_zh": pa.array(zh[m.category[p]], pa.string()),
            "is_acquired": pa.array(m.acquired[p]),
            "is_effective": pa.array(m.effective[p]),
            "is_low_activity": pa.array(m.low[p]),
            "is_home": pa.array(home[p] == c),
            "home_outlet_id": pa.array(outlet_ids[home[p]], pa.string()),
            "circles": pa.array(circles[p]),
            "qr_payments": pa.array(m.qr[p]),
            "qr_amount_fen": pa.array(m.amount[p]),
            "deposit_fen": pa.array(m.deposit[p]),
            "lat": pa.array(m.lat[p]),
            "lon": pa.array(m.lon[p]),
            "as_of_date": _dates(len(pairs), as_of),
        }
    )


def _summary_table(
    pairs: Pairs,
    m: _Arrays,
    outlets: pd.DataFrame,
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    circles: np.ndarray,
    is_home: np.ndarray,
    radius_km: float,
    as_of: date,
) -> pa.Table:
    c, p = pairs.centre, pairs.point
    n_out = len(outlets)

    def per_circle(weights: np.ndarray) -> np.ndarray:
        return np.bincount(c, weights=weights.astype(np.float64), minlength=n_out).round().astype(np.int64)

    n_members = np.bincount(c, minlength=n_out).astype(np.int64)
    n_acquired = per_circle(m.acquired[p])
    n_effective = per_circle(m.effective[p])
    optional = {
        k: outlets[k].astype(object).to_numpy() if k in outlets else np.full(n_out, None, dtype=object)
        for k in ("county_id", "sub_branch_id")
    }
    return pa.table(
        {
            "outlet_id": pa.array(outlets["outlet_id"].astype(str), pa.string()),
            "outlet_name": pa.array(outlets["outlet_name"].astype(str), pa.string()),
            "county_id": pa.array(optional["county_id"], pa.string()),
            "sub_branch_id": pa.array(optional["sub_branch_id"], pa.string()),
            "lat": pa.array(o_lat),
            "lon": pa.array(o_lon),
            "radius_km": pa.array(np.full(n_out, float(radius_km))),
            "merchants": pa.array(n_members),
            "acquired_merchants": pa.array(n_acquired),
            "prospect_merchants": pa.array(n_members - n_acquired),
            "penetration": _share(n_acquired, n_members),
            "effective_merchants": pa.array(n_effective),
            "effective_share": _share(n_effective, n_acquired),
            "low_activity_merchants": pa.array(per_circle(m.low[p])),
            "shared_merchants": pa.array(per_circle(circles[p] > 1)),
            "home_merchants": pa.array(per_circle(is_home)),
            "qr_payments": pa.array(per_circle(m.qr[p])),
            "qr_amount_fen": pa.array(per_circle(m.amount[p])),
            "deposit_fen": pa.array(per_circle(m.deposit[p])),
            "as_of_date": _dates(n_out, as_of),
        }
    )


def _categories_table(pairs: Pairs, m: _Arrays, outlet_ids: np.ndarray, as_of: date) -> pa.Table:
    n_out, n_cat = len(outlet_ids), len(CATEGORIES)
    cell = pairs.centre * n_cat + m.category[pairs.point]

    def per_category(weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights.astype(np.float64)
        return np.bincount(cell, weights=w, minlength=n_out * n_cat).round().astype(np.int64)

    members = per_category()
    acquired = per_category(m.acquired[pairs.point])
    return pa.table(
        {
            "outlet_id": pa.array(np.repeat(outlet_ids, n_cat), pa.string()),
            "category": pa.array(np.tile(np.array(CATEGORIES, dtype=object), n_out), pa.string()),
            "category_zh": pa.array(
                np.tile(np.array([MERCHANT_CATEGORY_ZH[k] for k in CATEGORIES], dtype=object), n_out),
                pa.string(),
            ),
            "merchants": pa.array(members),
            "acquired_merchants": pa.array(acquired),
            "effective_merchants": pa.array(per_category(m.effective[pairs.point])),
            "penetration": _share(acquired, members),
            "as_of_date": _dates(n_out * n_cat, as_of),
        }
    )
