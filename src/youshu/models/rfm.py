"""The per-customer RFM summary the BG/NBD and Gamma-Gamma models fit: frequency, recency, T (and mean value)."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from youshu.errors import YoushuError

__all__ = ["RFM_COLUMNS", "rfm_summary"]

#: Columns of the summary BG/NBD fits: repeat purchases, time of the last one and age, since the first purchase.
RFM_COLUMNS = ("frequency", "recency", "T")


def rfm_summary(
    events: ir.Table,
    *,
    end: date,
    at: str,
    customer: str = "customer_id",
    value: str | None = None,
    unit_days: float = 7.0,
) -> ir.Table:
    """Per customer: repeat purchases, recency and age up to ``end``, as an Ibis expression (any engine).

    Purchases on the same day count as one (their values summed), as in the CDNOW summaries of Fader and
    Hardie. Only events on or before ``end`` are used.

    Parameters
    ----------
    events : ibis.Table
        One row per purchase (or any event), with ``customer`` and the date or timestamp ``at``.
    end : date
        The end of the calibration period (an as-of date); T is measured up to it.
    at : str
        The event's date or timestamp column.
    customer : str
        The customer id column.
    value : str, optional
        A money column; adds ``monetary_value``, the mean value of the repeat-purchase days (null without
        repeats), in the column's unit.
    unit_days : float
        Days per time unit of ``recency`` and ``T`` (7: weeks).

    Returns
    -------
    ibis.Table
        ``customer``, ``first_date``, ``frequency`` (int64, distinct purchase days after the first),
        ``recency`` (last purchase day minus the first, in units), ``T`` (``end`` minus the first day, in
        units) and, with ``value``, ``monetary_value``. Customers whose first purchase is on ``end`` itself
        (T = 0) are left out: the model needs some time to observe them.

    Examples
    --------
    >>> summary = eng.to_pyarrow(rfm_summary(purchases, end=date(2025, 9, 30), at="purchase_date"))  # doctest: +SKIP
    """
    for column in (customer, at, *((value,) if value else ())):
        if column not in events.columns:
            raise YoushuError(f"the event table has no column {column!r}; it has {list(events.columns)}")
    if unit_days <= 0:
        raise YoushuError(f"unit_days must be > 0, got {unit_days}")
    stamp = events[at]
    day = stamp.date() if stamp.type().is_timestamp() else stamp
    tagged = events.mutate(_day=day)
    tagged = tagged.filter(tagged._day <= end)
    if value:
        daily = tagged.group_by([customer, "_day"]).aggregate(_value=tagged[value].sum().cast("float64"))
    else:
        daily = tagged.select(customer, "_day").distinct()
    per = daily.group_by(customer).aggregate(
        first_date=daily._day.min(), last_date=daily._day.max(), _days=daily._day.count()
    )
    end_literal = ibis.literal(end, type="date")
    columns = {
        "first_date": per.first_date,
        "frequency": (per._days - 1).cast("int64"),
        "recency": per.last_date.delta(per.first_date, unit="day").cast("float64") / unit_days,
        "T": end_literal.delta(per.first_date, unit="day").cast("float64") / unit_days,
    }
    summary = per.select(per[customer], **columns)
    summary = summary.filter(summary.first_date < end_literal)
    if not value:
        return summary
    totals = daily.group_by(customer).aggregate(_total=daily._value.sum())
    firsts = daily.view()
    base = summary.view()
    joined = base.join(totals, base[customer] == totals[customer]).join(
        firsts, (base[customer] == firsts[customer]) & (base.first_date == firsts._day)
    )
    repeat_value = (joined._total - joined._value) / joined.frequency.cast("float64").nullif(0)
    return joined.select(*[base[c] for c in base.columns], monetary_value=repeat_value)
