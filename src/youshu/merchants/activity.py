"""QR-payment activity behind the volume-drop and silence alerts: recent vs baseline volume, last payment.

The recent window is the ``drop_recent_days`` days ending on the as-of date; the baseline is the
``drop_baseline_weeks`` weeks just before it. Volumes are compared per day (amount in fen per day), so a
7-day window compares with a 28-day baseline fairly. A merchant's silence is the number of days from its
last QR payment (or, if it never had one, from its signing date) to the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from youshu.config import MerchantAlertSettings
from youshu.engine import Tables
from youshu.features.common import end_of, start_of
from youshu.merchants.home import acquired_merchants

__all__ = ["ActivityWindows", "qr_activity"]


@dataclass(frozen=True)
class ActivityWindows:
    """The days each part of the activity looks at (all inclusive)."""

    recent_first: date
    baseline_first: date
    baseline_last: date
    read_from: date | None  # earliest payment read; None reads the whole history

    @classmethod
    def of(cls, as_of: date, rule: MerchantAlertSettings) -> ActivityWindows:
        recent_first = as_of - timedelta(days=rule.drop_recent_days - 1)
        baseline_last = recent_first - timedelta(days=1)
        baseline_first = baseline_last - timedelta(days=7 * rule.drop_baseline_weeks - 1)
        read_from = baseline_first
        if rule.silent_max_days is None:
            return cls(recent_first, baseline_first, baseline_last, None)
        # Silences longer than silent_max_days are not alerted, so older payments never matter.
        read_from = min(read_from, as_of - timedelta(days=rule.silent_max_days))
        return cls(recent_first, baseline_first, baseline_last, read_from)

    @property
    def baseline_days(self) -> int:
        return (self.baseline_last - self.baseline_first).days + 1


def qr_activity(t: Tables, as_of: date, rule: MerchantAlertSettings) -> ir.Table:
    """Recent and baseline QR volume and the silence of every acquired merchant as of ``as_of``.

    Returns
    -------
    ibis.Table
        ``merchant_id, recent_payments, recent_amount_fen, baseline_payments, baseline_amount_fen,
        has_full_baseline, last_paid_date, days_silent``. ``has_full_baseline`` is true when the merchant
        was signed before the baseline began. ``last_paid_date`` is null when no payment was found since
        ``read_from``; ``days_silent`` then counts from the signing date, or is null when the merchant was
        signed before ``read_from`` too (silent longer than anything alerted).
    """
    w = ActivityWindows.of(as_of, rule)
    a = t.acquiring_transactions
    a = a.filter(a.paid_at < end_of(as_of))
    if w.read_from is not None:
        a = a.filter(a.paid_at >= start_of(w.read_from))
    recent = a.paid_at >= start_of(w.recent_first)
    baseline = (a.paid_at >= start_of(w.baseline_first)) & (a.paid_at < end_of(w.baseline_last))
    pay = a.group_by("merchant_id").aggregate(
        recent_payments=a.count(where=recent),
        recent_amount_fen=a.amount_fen.sum(where=recent),
        baseline_payments=a.count(where=baseline),
        baseline_amount_fen=a.amount_fen.sum(where=baseline),
        last_paid_at=a.paid_at.max(),
    )
    m = acquired_merchants(t, as_of)
    j = m.left_join(pay, m.merchant_id == pay.merchant_id)
    last_paid = j.last_paid_at.date()
    as_of_lit = ibis.literal(as_of, type="date")
    since_signing = as_of_lit.delta(j.onboard_date, unit="day")
    signed_in_reach = ibis.literal(True) if w.read_from is None else j.onboard_date >= w.read_from
    days_silent = ibis.ifelse(
        j.last_paid_at.notnull(),
        as_of_lit.delta(last_paid, unit="day"),
        ibis.ifelse(signed_in_reach, since_signing, ibis.null("int64")),
    )
    return j.select(
        m.merchant_id,
        recent_payments=j.recent_payments.fill_null(0).cast("int64"),
        recent_amount_fen=j.recent_amount_fen.fill_null(0).cast("int64"),
        baseline_payments=j.baseline_payments.fill_null(0).cast("int64"),
        baseline_amount_fen=j.baseline_amount_fen.fill_null(0).cast("int64"),
        has_full_baseline=(m.onboard_date < w.baseline_first).fill_null(False),
        last_paid_date=last_paid,
        days_silent=days_silent.cast("int64"),
    )
