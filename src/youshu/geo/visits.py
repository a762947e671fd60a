"""Visit planning for a circle's ground team and the visit log: plan -> visit -> result, conversion per zone.

Who is visited: the circle's prospects (潜在商户, to sign) and low-activity merchants (低活跃, acquired but not
effective, to activate) whose home outlet is this outlet, so overlapping circles never send two teams to one
shop (``include_shared=True`` takes every merchant in reach). Results fed back from earlier plans steer the
next one: a merchant whose latest result is ``signed`` or ``activated`` is not planned again, and one that
``declined`` rests for ``cooldown_days`` (30) after the visit.

The canonical warehouse has no visits table, so the log lives in the project's data folder
(``circles.visits_dir``, default ``data/visits``) as Parquet files, each written atomically:

- ``plans/<plan_id>.parquet`` — one row per planned visit (:data:`PLAN_SCHEMA`);
- ``results/<batch>.parquet`` — one row per recorded outcome (:data:`RESULT_SCHEMA`); the latest result of a
  visit counts.

Conversion per zone is ``converted / planned`` where a prospect converts when ``signed`` and a low-activity
merchant when ``activated``; with circles of a later date, the observed conversion (the prospect became
acquired, the merchant became effective) is reported beside it, whatever was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_file
from youshu.errors import YoushuError
from youshu.geo.circles import CircleResult
from youshu.geo.routes import RoutePlan, nearest_neighbour_routes, plan_routes
from youshu.geo.zones import balanced_zones

__all__ = [
    "PLAN_SCHEMA",
    "RESULTS",
    "RESULT_SCHEMA",
    "VisitLog",
    "VisitPlan",
    "conversion_by_zone",
    "first_working_day",
    "plan_visits",
    "visit_candidates",
]

#: Outcomes a visit can record (zh: 未见到, 拒绝, 有意向, 已签约, 已激活).
RESULTS: dict[str, str] = {
    "not_met": "未见到",
    "declined": "拒绝",
    "interested": "有意向",
    "signed": "已签约",
    "activated": "已激活",
}
REASONS: dict[str, str] = {"prospect": "潜在商户拓展", "low_activity": "低活跃商户激活"}
_CONVERTS = {"prospect": "signed", "low_activity": "activated"}

PLAN_SCHEMA = pa.schema(
    [
        pa.field("plan_id", pa.string(), nullable=False),
        pa.field("visit_id", pa.string(), nullable=False),
        pa.field("outlet_id", pa.string(), nullable=False),
        pa.field("zone", pa.int64(), nullable=False),
        pa.field("staff_id", pa.string(), nullable=False),
        pa.field("merchant_id", pa.string(), nullable=False),
        pa.field("merchant_name", pa.string()),
        pa.field("category_zh", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("day", pa.int64(), nullable=False),
        pa.field("stop", pa.int64(), nullable=False),
        pa.field("planned_date", pa.date32(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("route_method", pa.string(), nullable=False),
        pa.field("as_of_date", pa.date32(), nullable=False),
        pa.field("planned_at", pa.timestamp("s"), nullable=False),
    ]
)
RESULT_SCHEMA = pa.schema(
    [
        pa.field("visit_id", pa.string(), nullable=False),
        pa.field("visited_date", pa.date32(), nullable=False),
        pa.field("result", pa.string(), nullable=False),
        pa.field("note", pa.string()),
        pa.field("recorded_at", pa.timestamp("s"), nullable=False),
    ]
)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class VisitPlan:
    """A plan: its visit rows (``PLAN_SCHEMA``) and per zone the PyVRP and nearest-neighbour route lengths."""

    plan_id: str
    visits: pa.Table
    zones: pd.DataFrame


class VisitLog:
    """The visit log in a folder: plans and recorded results as Parquet (see the module docstring).

    Examples
    --------
    >>> log = VisitLog(Path("data/visits"))  # doctest: +SKIP
    >>> log.add_plan(plan); log.record(results); log.results()  # doctest: +SKIP
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @property
    def plans_dir(self) -> Path:
        return self.folder / "plans"

    @property
    def results_dir(self) -> Path:
        return self.folder / "results"

    def add_plan(self, plan: VisitPlan) -> Path:
        """Store a plan (atomically); a plan id is stored once.

        Raises
        ------
        YoushuError
            When a plan with this id is already in the log.
        """
        path = self.plans_dir / f"{_SAFE.sub('_', plan.plan_id)}.parquet"
        if path.exists():
            raise YoushuError(f"plan {plan.plan_id!r} is already in the visit log {self.folder}")
        with atomic_file(path) as tmp:
            pq.write_table(plan.visits.cast(PLAN_SCHEMA), tmp)
        return path

    def plans(self) -> pd.DataFrame:
        """Every planned visit of the log (empty with the plan columns when there is none)."""
        return _read_all(self.plans_dir, PLAN_SCHEMA)

    def results(self) -> pd.DataFrame:
        """Every recorded result (empty with the result columns when there is none)."""
        return _read_all(self.results_dir, RESULT_SCHEMA)

    def latest_results(self) -> pd.DataFrame:
        """The latest result per visit (by visit date, then recording time)."""
        res = self.results()
        if res.empty:
            return res
        res = res.sort_values(["visit_id", "visited_date", "recorded_at"], kind="stable")
        return res.drop_duplicates("visit_id", keep="last").reset_index(drop=True)

    def record(self, results: pd.DataFrame, *, recorded_at: datetime | None = None) -> Path:
        """Append visit results: ``visit_id, visited_date, result`` (``note`` optional).

        Raises
        ------
        YoushuError
            Naming the row when a visit id is not planned in the log, a result is not one of
            :data:`RESULTS`, or a visit date precedes the planned date's as-of date.
        """
        missing = [c for c in ("visit_id", "visited_date", "result") if c not in results.columns]
        if missing:
            raise YoushuError(
                f"visit results lack columns {missing}; expected visit_id, visited_date, result[, note]"
            )
        plans = self.plans().set_index("visit_id")
        frame = results.reset_index(drop=True).copy()
        for i, row in frame.iterrows():
            if row["visit_id"] not in plans.index:
                raise YoushuError(
                    f"visit results row {i}: visit_id {row['visit_id']!r} is not in any plan of {self.folder}"
                )
            if row["result"] not in RESULTS:
                raise YoushuError(
                    f"visit results row {i}: result {row['result']!r} is not one of {', '.join(RESULTS)}"
                )
        frame["visited_date"] = pd.to_datetime(frame["visited_date"]).dt.date
        early = frame["visited_date"] < frame["visit_id"].map(plans["as_of_date"])
        if early.any():
            i = int(np.flatnonzero(early.to_numpy())[0])
            raise YoushuError(
                f"visit results row {i}: visited_date {frame['visited_date'][i]} is before its plan was made"
            )
        stamp = (recorded_at or datetime.now()).replace(microsecond=0)
        frame["note"] = frame["note"].astype(object) if "note" in frame else None
        frame["recorded_at"] = stamp
        table = pa.Table.from_pandas(frame[RESULT_SCHEMA.names], schema=RESULT_SCHEMA, preserve_index=False)
        existing = len(list(self.results_dir.glob("*.parquet"))) if self.results_dir.exists() else 0
        path = self.results_dir / f"results-{stamp:%Y%m%dT%H%M%S}-{existing:05d}.parquet"
        with atomic_file(path) as tmp:
            pq.write_table(table, tmp)
        return path


def _read_all(folder: Path, schema: pa.Schema) -> pd.DataFrame:
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return schema.empty_table().to_pandas()
    table = pa.concat_tables([pq.read_table(f).cast(schema) for f in files])
    frame = table.to_pandas()
    for name in ("planned_date", "as_of_date", "visited_date"):
        if name in frame:
            frame[name] = pd.to_datetime(frame[name]).dt.date
    return frame


def visit_candidates(
    circles: CircleResult,
    outlet_id: str,
    *,
    include_shared: bool = False,
    log: VisitLog | None = None,
    cooldown_days: int = 30,
    start_date: date | None = None,
) -> pd.DataFrame:
    """The circle's prospects and low-activity merchants to visit, with the reason, after log feedback.

    With a ``log``, merchants whose latest result is ``signed``/``activated`` are left out, and so are those
    that ``declined`` less than ``cooldown_days`` before ``start_date`` (default: the first working day
    after the as-of date).

    Returns
    -------
    DataFrame
        Circle member rows (``merchant_id, merchant_name, category_zh, lat, lon, distance_m, ...``) plus
        ``reason`` (``prospect`` or ``low_activity``), nearest first.
    """
    members = circles.circle(outlet_id)
    wanted = ~members["is_acquired"] | members["is_low_activity"]
    if not include_shared:
        wanted &= members["is_home"]
    out = members[wanted].copy()
    out["reason"] = np.where(out["is_acquired"], "low_activity", "prospect")
    if log is not None:
        out = _apply_feedback(out, log, start_date or first_working_day(circles.as_of), cooldown_days)
    return out.reset_index(drop=True)


def first_working_day(as_of: date) -> date:
    """The first Monday-to-Friday day after ``as_of``."""
    day = np.busday_offset(np.datetime64(as_of, "D"), 1, roll="forward")
    return pd.Timestamp(day).date()


def _apply_feedback(candidates: pd.DataFrame, log: VisitLog, start: date, cooldown_days: int) -> pd.DataFrame:
    latest = log.latest_results()
    if latest.empty:
        return candidates
    plans = log.plans()[["visit_id", "merchant_id"]]
    outcomes = latest.merge(plans, on="visit_id").sort_values(["merchant_id", "visited_date", "recorded_at"])
    last = outcomes.drop_duplicates("merchant_id", keep="last").set_index("merchant_id")
    result = candidates["merchant_id"].map(last["result"])
    visited = candidates["merchant_id"].map(last["visited_date"])
    done = result.isin(["signed", "activated"])
    resting = (result == "declined") & visited.map(
        lambda d: d is not None and not pd.isna(d) and d + timedelta(days=cooldown_days) > start
    ).astype(bool)
    return candidates[~(done | resting)]


def _plan_id(outlet_id: str, start: date, log: VisitLog | None) -> str:
    base = f"{outlet_id}-{start:%Y%m%d}"
    if log is None:
        return f"{base}-1"
    n = 1
    while (log.plans_dir / f"{_SAFE.sub('_', f'{base}-{n}')}.parquet").exists():
        n += 1
    return f"{base}-{n}"


def plan_visits(
    circles: CircleResult,
    outlet_id: str,
    team: int | Sequence[str],
    *,
    start_date: date | None = None,
    stops_per_day: int = 8,
    tolerance: float = 0.1,
    time_limit_s: float = 5.0,
    include_shared: bool = False,
    log: VisitLog | None = None,
    cooldown_days: int = 30,
    seed: int = 0,
    planned_at: datetime | None = None,
) -> VisitPlan:
    """Zones, one per team member, and daily routes for a circle's prospects and low-activity merchants.

    Parameters
    ----------
    circles : CircleResult
        Circles of the as-of date.
    outlet_id : str
        The outlet whose circle is planned; its team starts and ends each day there.
    team : int or sequence of str
        Team size, or the members' staff ids (zone i goes to the i-th).
    start_date : date, optional
        First visiting day (default: the first working day after the as-of date); days are working days.
    stops_per_day, tolerance, time_limit_s
        Visits a day per member, zone balance (±10 %), PyVRP's limit per zone.
    include_shared : bool
        Also plan merchants whose home outlet is another outlet.
    log : VisitLog, optional
        Results recorded there steer the candidates; the plan is not stored (call ``log.add_plan``).
    seed : int
        Seed of zones and routes.

    Returns
    -------
    VisitPlan

    Raises
    ------
    YoushuError
        When the circle has fewer candidates than team members, or the outlet has no circle.
    """
    staff = [f"T{i + 1}" for i in range(team)] if isinstance(team, int) else [str(s) for s in team]
    if not staff:
        raise YoushuError("a visit plan needs at least one team member")
    start = start_date or first_working_day(circles.as_of)
    candidates = visit_candidates(
        circles,
        outlet_id,
        include_shared=include_shared,
        log=log,
        cooldown_days=cooldown_days,
        start_date=start,
    )
    if len(candidates) < len(staff):
        raise YoushuError(
            f"outlet {outlet_id!r} has {len(candidates)} merchants to visit (prospects and low-activity, "
            f"home outlet {outlet_id}) for a team of {len(staff)}; use a smaller team or --include-shared"
        )
    summary = circles.summary.to_pandas().set_index("outlet_id").loc[outlet_id]
    depot = (float(summary["lat"]), float(summary["lon"]))
    zones = balanced_zones(candidates["lat"], candidates["lon"], len(staff), tolerance=tolerance, seed=seed)
    plan_id = _plan_id(outlet_id, start, log)
    stamp = (planned_at or datetime.now()).replace(microsecond=0)
    rows: list[pd.DataFrame] = []
    zone_rows = []
    for z, member in enumerate(staff):
        stops = candidates[zones.labels == z].reset_index(drop=True)
        plan = plan_routes(
            *depot,
            stops["lat"],
            stops["lon"],
            stops_per_day=stops_per_day,
            time_limit_s=time_limit_s,
            seed=seed,
        )
        baseline = nearest_neighbour_routes(*depot, stops["lat"], stops["lon"], stops_per_day=stops_per_day)
        rows.append(_zone_rows(stops, plan, z + 1, member, start))
        zone_rows.append(
            {
                "zone": z + 1,
                "staff_id": member,
                "stops": len(stops),
                "prospects": int((stops["reason"] == "prospect").sum()),
                "low_activity": int((stops["reason"] == "low_activity").sum()),
                "days": plan.days,
                "route_m": plan.distance_m,
                "nearest_neighbour_m": baseline.distance_m,
                "route_method": plan.method,
            }
        )
    visits = pd.concat(rows, ignore_index=True)
    visits.insert(0, "plan_id", plan_id)
    visits.insert(1, "visit_id", [f"{plan_id}-{i + 1:04d}" for i in range(len(visits))])
    visits.insert(2, "outlet_id", outlet_id)
    visits["as_of_date"] = circles.as_of
    visits["planned_at"] = stamp
    table = pa.Table.from_pandas(visits[PLAN_SCHEMA.names], schema=PLAN_SCHEMA, preserve_index=False)
    return VisitPlan(plan_id, table, pd.DataFrame(zone_rows))


def _zone_rows(stops: pd.DataFrame, plan: RoutePlan, zone: int, staff_id: str, start: date) -> pd.DataFrame:
    order = plan.stop_order()
    idx = [s for s, _, _ in order]
    days = np.array([d for _, d, _ in order], dtype=np.int64)
    dates = np.busday_offset(np.datetime64(start, "D"), days - 1, roll="forward")
    picked = stops.iloc[idx].reset_index(drop=True)
    return pd.DataFrame(
        {
            "zone": zone,
            "staff_id": staff_id,
            "merchant_id": picked["merchant_id"],
            "merchant_name": picked["merchant_name"],
            "category_zh": picked["category_zh"],
            "reason": picked["reason"],
            "day": days,
            "stop": [p for _, _, p in order],
            "planned_date": pd.to_datetime(dates).date,
            "lat": picked["lat"],
            "lon": picked["lon"],
            "route_method": plan.method,
        }
    )


def conversion_by_zone(
    log: VisitLog, plan_id: str | None = None, later: CircleResult | None = None
) -> pd.DataFrame:
    """Visits planned, made and converted per plan and zone, from the log (and observed in later circles).

    Parameters
    ----------
    log : VisitLog
    plan_id : str, optional
        One plan; default every plan in the log.
    later : CircleResult, optional
        Circles of a later date: adds ``observed_converted`` (prospects now acquired, low-activity merchants
        now effective) and ``observed_conversion``.

    Returns
    -------
    DataFrame
        ``plan_id, outlet_id, zone, staff_id, planned, visited, converted, visit_rate, conversion`` (and the
        observed columns), one row per zone.
    """
    plans = log.plans()
    if plan_id is not None:
        plans = plans[plans["plan_id"] == plan_id]
        if plans.empty:
            raise YoushuError(f"plan {plan_id!r} is not in the visit log {log.folder}")
    latest = log.latest_results()[["visit_id", "result"]]
    v = plans.merge(latest, on="visit_id", how="left")
    v["visited"] = v["result"].notna() & (v["result"] != "not_met")
    v["converted"] = v["result"] == v["reason"].map(_CONVERTS)
    keys = ["plan_id", "outlet_id", "zone", "staff_id"]
    if later is not None:
        status = later.merchant_home.to_pandas().set_index("merchant_id")["is_acquired"]
        effective = later.members.to_pandas().groupby("merchant_id")["is_effective"].any()
        acquired_now = v["merchant_id"].map(status).fillna(False).astype(bool)
        effective_now = v["merchant_id"].map(effective).fillna(False).astype(bool)
        v["observed_converted"] = np.where(v["reason"] == "prospect", acquired_now, effective_now)
    agg = {"planned": ("visit_id", "count"), "visited": ("visited", "sum"), "converted": ("converted", "sum")}
    if later is not None:
        agg["observed_converted"] = ("observed_converted", "sum")
    out = v.groupby(keys, as_index=False).agg(**agg)
    out["visit_rate"] = out["visited"] / out["planned"]
    out["conversion"] = out["converted"] / out["planned"]
    if later is not None:
        out["observed_conversion"] = out["observed_converted"] / out["planned"]
    return out
