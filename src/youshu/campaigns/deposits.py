"""Deposits retained after a referral (引荐留存存款): the referred account's balance gain at 30/90 days.

Balances are month-end snapshots, so for a referral on day ``d`` and a horizon of ``h`` days the retained
deposits are::

    balance(first month end on or after d + h) - balance(last month end before d)

(the opening balance counts as 0 for a new account without an earlier month end). The horizon is observed
only when that month end is on or before the as-of date; otherwise the value is null (not yet known).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from youshu.engine import Tables

__all__ = ["month_end_on_or_after", "referral_deposits", "retained_column"]


def retained_column(horizon_days: int) -> str:
    """Name of the retained-deposits column of a horizon: ``retained_30d_fen``."""
    return f"retained_{horizon_days}d_fen"


def month_end_on_or_after(day: date) -> date:
    """The last day of ``day``'s month (the first month end on or after ``day``)."""
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def horizon_observed(last_referral: date, horizon_days: int, as_of: date) -> bool:
    """Whether a referral on ``last_referral`` has its ``horizon_days`` balance by ``as_of``."""
    return month_end_on_or_after(last_referral + timedelta(days=horizon_days)) <= as_of


def referral_deposits(t: Tables, as_of: date, horizons: Sequence[int] = (30, 90)) -> ir.Table:
    """Every referral up to ``as_of`` with the deposits its account retained at each horizon.

    Returns
    -------
    ibis.Table
        ``referral_id, campaign_id, customer_id, merchant_id, referral_date, outcome, account_id`` and one
        ``retained_<h>d_fen`` per horizon (null until observed, or without an account).
    """
    r = t.referrals.filter(t.referrals.referral_date <= as_of)
    b = t.balances.filter(t.balances.month_end_date <= as_of)
    rb = r.select("referral_id", "account_id", "referral_date").join(
        b.select("account_id", "month_end_date", "balance_fen"), "account_id"
    )
    gap = rb.month_end_date.delta(rb.referral_date, unit="day")
    marks = {"base_date": rb.month_end_date.max(where=rb.month_end_date < rb.referral_date)}
    for h in horizons:
        marks[f"h{h}_date"] = rb.month_end_date.min(where=gap >= h)
    dated = rb.group_by("referral_id").aggregate(**marks)
    j = rb.join(dated, "referral_id")
    values = {"base_fen": j.balance_fen.max(where=j.month_end_date == j.base_date)}
    for h in horizons:
        values[f"h{h}_fen"] = j.balance_fen.max(where=j.month_end_date == j[f"h{h}_date"])
    balances = j.group_by("referral_id").aggregate(**values)
    out = r.left_join(balances, r.referral_id == balances.referral_id)
    retained = {
        retained_column(h): ibis.ifelse(
            out[f"h{h}_fen"].notnull(), out[f"h{h}_fen"] - out.base_fen.fill_null(0), ibis.null("int64")
        ).cast("int64")
        for h in horizons
    }
    return out.select(
        r.referral_id,
        r.campaign_id,
        r.customer_id,
        r.merchant_id,
        r.referral_date,
        r.outcome,
        r.account_id,
        **retained,
    )
