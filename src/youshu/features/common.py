"""What every feature set shares: as-of windows, month ends, distances, the county specialty and the final typing."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from youshu.engine import Tables
from youshu.errors import YoushuError
from youshu.features.catalog import FEATURES, IBIS_TYPES, ID_COLUMNS

__all__ = [
    "EARTH_RADIUS_M",
    "LOOKBACK_DAYS",
    "Tables",
    "as_of_date",
    "attach",
    "county_specialty",
    "days_before",
    "days_since",
    "end_of",
    "finalize",
    "haversine_m",
    "in_last",
    "last_days",
    "month_ends",
    "start_of",
    "top_per_group",
]

#: The longest window of any feature, in days: event tables are read back this far and no further.
LOOKBACK_DAYS = 365
#: Mean Earth radius in metres (as ``youshu.geo.coords.haversine_m``).
EARTH_RADIUS_M = 6_371_008.8


def as_of_date(value: date) -> date:
    """Check the as-of date: a ``datetime.date`` (a ``datetime`` is refused: features work on whole days)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise YoushuError(f"the as-of date must be a date such as date(2025, 9, 30), got {value!r}")
    return value


# -- windows ----------------------------------------------------------------------------------------------


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` (timestamps are zone-less local time)."""
    return datetime.combine(day, time())


def end_of(day: date) -> datetime:
    """Midnight after ``day``: timestamps strictly before it fall on or before ``day``."""
    return start_of(day + timedelta(days=1))


def days_before(as_of: date, days: int) -> date:
    """The first day of the ``days``-day window ending on ``as_of`` (both ends inclusive)."""
    return as_of - timedelta(days=days - 1)


def last_days(table: ir.Table, column: str, as_of: date, days: int = LOOKBACK_DAYS) -> ir.Table:
    """Rows whose ``column`` (timestamp or date) falls on one of the ``days`` days ending on ``as_of``."""
    at = table[column]
    first = days_before(as_of, days)
    if at.type().is_timestamp():
        return table.filter(at >= start_of(first), at < end_of(as_of))
    return table.filter(at >= first, at <= as_of)


def in_last(at: ir.Value, as_of: date, days: int) -> ir.BooleanValue:
    """Whether ``at`` (a timestamp or date already limited to ``<= as_of``) is within the last ``days`` days."""
    first = days_before(as_of, days)
    if at.type().is_timestamp():
        return at >= start_of(first)
    return at >= first


def days_since(as_of: date, day: ir.Value) -> ir.IntegerValue:
    """Whole days from ``day`` (a date or timestamp column) to ``as_of``."""
    value = day.date() if day.type().is_timestamp() else day
    return ibis.literal(as_of, type="date").delta(value, unit="day")


def month_ends(as_of: date, months: int) -> list[date]:
    """The last calendar month end on or before ``as_of`` and the ``months`` month ends before it, latest first.

    Examples
    --------
    >>> month_ends(date(2025, 9, 30), 2)
    [datetime.date(2025, 9, 30), datetime.date(2025, 8, 31), datetime.date(2025, 7, 31)]
    >>> month_ends(date(2025, 9, 29), 0)
    [datetime.date(2025, 8, 31)]
    """
    year, month = as_of.year, as_of.month
    if as_of.day != calendar.monthrange(year, month)[1]:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    out = []
    for _ in range(months + 1):
        out.append(date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


# -- expressions ------------------------------------------------------------------------------------------


def haversine_m(
    lat1: ir.FloatingValue, lon1: ir.FloatingValue, lat2: ir.FloatingValue, lon2: ir.FloatingValue
) -> ir.FloatingValue:
    """Great-circle distance in metres between two WGS-84 points, as an expression both engines run.

    The same formula as ``youshu.geo.coords.haversine_m`` (sphere of the mean Earth radius); null when
    any coordinate is null.
    """
    p1, p2 = lat1.radians(), lat2.radians()
    half_dlat = (p2 - p1) / 2
    half_dlon = (lon2.radians() - lon1.radians()) / 2
    h = half_dlat.sin() ** 2 + p1.cos() * p2.cos() * half_dlon.sin() ** 2
    return 2 * EARTH_RADIUS_M * h.clip(lower=0.0, upper=1.0).sqrt().asin()


def top_per_group(table: ir.Table, key: str, value: str, score: str, name: str) -> ir.Table:
    """The ``value`` with the highest ``score`` per ``key`` (ties: the smallest value), as ``key, name``.

    Portable instead of ``mode()``: the row number is made a column first and filtered afterwards, which
    Spark needs (it cannot filter on a window expression directly).
    """
    rank = ibis.row_number().over(group_by=key, order_by=[ibis.desc(score), ibis.asc(value)])
    ranked = table.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).select(key, **{name: ranked[value]})


def attach(base: ir.Table, key: str, parts: Sequence[ir.Table], *, base_key: str | None = None) -> ir.Table:
    """Left-join each table of ``parts`` (unique on ``key``) to ``base``, keeping every base row.

    Parts match on ``part[key] == base[base_key or key]``. All joins hang off ``base`` in one flat join;
    the part columns other than ``key`` are added after the base columns and are null where nothing
    matched.
    """
    # Views give every input its own identity: a base that is itself a join, or parts built from the same
    # source tables, would otherwise be merged into one join chain and their columns mixed up.
    base = base.view()
    parts = [part.view() for part in parts]
    on = base[base_key or key]
    joined = base
    for part in parts:
        joined = joined.left_join(part, on == part[key])
    columns = [base[c] for c in base.columns]
    columns += [part[c] for part in parts for c in part.columns if c != key]
    return joined.select(*columns)


def county_specialty(t: Tables, as_of: date) -> ir.Table:
    """Each county's top specialty product (一县一品) by observed activity, as ``county_id, county_specialty``.

    Observed tables only (never ``truth/``). For every county and product the score is

    - the number of distinct customers living in the county paid by an agricultural buyer for that product
      (``transactions`` with ``counterparty_category = 'agri_buyer'``, direction ``in``, tagged with
      ``counterparty_industry``) in the 365 days up to ``as_of``, plus
    - the number of merchants and prospect POIs in the county selling it (``merchants.specialty_industry``;
      the table is a snapshot of shops, so every row counts), plus
    - the number of distinct customers living in the county with a loan financing it
      (``loans.purpose_industry``) issued on or before ``as_of``.

    The product with the highest score wins, ties going to the alphabetically first product. Counties with
    no such activity are absent (their specialty is null after a left join).
    """
    customers = t.customers.filter(t.customers.onboard_date <= as_of).select("customer_id", "county_id")
    accounts = t.accounts.filter(t.accounts.open_date <= as_of).select("account_id", "customer_id")
    txn = last_days(t.transactions, "txn_at", as_of)
    sold = txn.filter(
        (txn.counterparty_category == "agri_buyer")
        & (txn.direction == "in")
        & txn.counterparty_industry.notnull()
    ).select("account_id", industry=txn.counterparty_industry)
    sellers = (
        sold.join(accounts, "account_id")
        .select("customer_id", "industry")
        .distinct()
        .join(customers, "customer_id")
        .group_by(["county_id", "industry"])
        .aggregate(n=ibis._.count())
    )
    m = t.merchants.filter(t.merchants.specialty_industry.notnull())
    shops = m.group_by(["county_id", m.specialty_industry.name("industry")]).aggregate(n=ibis._.count())
    loans = t.loans.filter((t.loans.issue_date <= as_of) & t.loans.purpose_industry.notnull())
    borrowers = (
        loans.select("customer_id", industry=loans.purpose_industry)
        .distinct()
        .join(customers, "customer_id")
        .group_by(["county_id", "industry"])
        .aggregate(n=ibis._.count())
    )
    parts = [p.select("county_id", "industry", n=p.n.cast("int64")) for p in (sellers, shops, borrowers)]
    scores = ibis.union(*parts).group_by(["county_id", "industry"]).aggregate(score=ibis._.n.sum())
    return top_per_group(scores, "county_id", "industry", "score", "county_specialty")


def finalize(entity: str, table: ir.Table, as_of: date) -> ir.Table:
    """The entity's feature table: id, ``as_of_date``, then every catalog feature typed and defaulted.

    Each feature is cast to its catalog dtype and, when the catalog gives a default (counts and amounts 0,
    flags False), nulls from left joins become that default.

    Raises
    ------
    YoushuError
        When ``table`` lacks a catalog feature (a bug in the feature set, not in the data).
    """
    key = ID_COLUMNS[entity]
    specs = FEATURES[entity]
    missing = [s.name for s in specs if s.name not in table.columns]
    if missing:
        raise YoushuError(
            f"the {entity} feature set does not compute {missing}; add them or drop them from the catalog"
        )
    columns: list[ir.Value] = [table[key], ibis.literal(as_of, type="date").name("as_of_date")]
    for spec in specs:
        value = table[spec.name].cast(IBIS_TYPES[spec.dtype])
        if spec.default is not None:
            value = value.fill_null(spec.default)
        columns.append(value.name(spec.name))
    return table.select(*columns)
