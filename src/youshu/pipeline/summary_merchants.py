"""Merchants of the summary: acquired merchants and prospects by category, and QR-code payments (收单) by week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from youshu.merchants.home import acquired_by
from youshu.pipeline.summary_query import (
    TXN_WINDOW_DAYS,
    Tables,
    execute,
    execute_one,
    ints,
    labelled,
    start_of,
    within_days,
)
from youshu.schema.enums import MERCHANT_CATEGORY_ZH

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["QR_RECENT_DAYS", "QR_WEEKS", "MerchantActivity", "acquired_by", "merchant_activity"]

QR_WEEKS = 12
QR_RECENT_DAYS = 30


@dataclass(frozen=True)
class MerchantActivity:
    """Merchants by category and QR-code payments (收单) over recent weeks.

    ``by_category``: ``category, name_zh, acquired, prospects, qr_payments_90d, qr_amount_fen_90d``.
    ``qr_weekly``: ``week_start, week_end, payments, amount_fen, active_merchants, paying_customers``, oldest
    first; the last week ends on the as-of date.
    """

    by_category: pd.DataFrame
    qr_weekly: pd.DataFrame
    qr_30d_payments: int
    qr_30d_amount_fen: int
    qr_30d_active_merchants: int


def merchant_activity(engine: Engine, t: Tables, as_of: date) -> MerchantActivity:
    """Merchants by category with their QR payments of the last 90 days, the last 12 weeks and 30 days."""
    a = t.acquiring_transactions
    by_category = _by_category(engine, t, as_of)
    qr_weekly = _qr_weekly(engine, a, as_of)
    last30 = within_days(a, "paid_at", as_of - timedelta(days=QR_RECENT_DAYS - 1), as_of)
    row = execute_one(
        engine,
        last30.aggregate(
            n=last30.count(), amount=last30.amount_fen.sum(), merchants=last30.merchant_id.nunique()
        ),
    )
    return MerchantActivity(
        by_category=by_category,
        qr_weekly=qr_weekly,
        qr_30d_payments=int(row["n"]),
        qr_30d_amount_fen=int(row["amount"]),
        qr_30d_active_merchants=int(row["merchants"]),
    )


def _by_category(engine: Engine, t: Tables, as_of: date) -> pd.DataFrame:
    m = t.merchants
    acquired = acquired_by(m, as_of).cast("int64")
    cats = execute(engine, m.group_by("category").aggregate(acquired=acquired.sum(), total=m.count()))
    first_day = as_of - timedelta(days=TXN_WINDOW_DAYS - 1)
    recent = within_days(t.acquiring_transactions, "paid_at", first_day, as_of)
    qr = recent.join(m.select("merchant_id", "category"), "merchant_id")
    qr_cats = execute(
        engine,
        qr.group_by("category").aggregate(qr_payments_90d=qr.count(), qr_amount_fen_90d=qr.amount_fen.sum()),
    )
    frame = cats.merge(qr_cats, on="category", how="left")
    frame = ints(frame, ["acquired", "total", "qr_payments_90d", "qr_amount_fen_90d"])
    frame["prospects"] = frame["total"] - frame["acquired"]
    order = list(MERCHANT_CATEGORY_ZH)
    return labelled(
        frame[["category", "acquired", "prospects", "qr_payments_90d", "qr_amount_fen_90d"]],
        "category",
        MERCHANT_CATEGORY_ZH,
        order,
        ["acquired", "prospects", "qr_payments_90d", "qr_amount_fen_90d"],
    ).rename(columns={"key": "category"})


def _qr_weekly(engine: Engine, a: ir.Table, as_of: date) -> pd.DataFrame:
    # Week k (0 = the latest) covers the 7 days ending on as_of - 7k; a CASE keeps this portable.
    first_day = as_of - timedelta(days=7 * QR_WEEKS - 1)
    weeks = within_days(a, "paid_at", first_day, as_of)
    branches = [(weeks.paid_at >= start_of(as_of - timedelta(days=7 * k + 6)), k) for k in range(QR_WEEKS)]
    week = ibis.cases(*branches, else_=QR_WEEKS)
    weekly = execute(
        engine,
        weeks.group_by(week=week).aggregate(
            payments=weeks.count(),
            amount_fen=weeks.amount_fen.sum(),
            active_merchants=weeks.merchant_id.nunique(),
            paying_customers=weeks.payer_customer_id.nunique(),
        ),
    )
    grid = pd.DataFrame({"week": list(range(QR_WEEKS - 1, -1, -1))})
    weekly = ints(
        grid.merge(weekly, on="week", how="left"),
        ["payments", "amount_fen", "active_merchants", "paying_customers"],
    )
    weekly.insert(0, "week_end", [as_of - timedelta(days=7 * int(k)) for k in weekly["week"]])
    weekly.insert(0, "week_start", [as_of - timedelta(days=7 * int(k) + 6) for k in weekly["week"]])
    return weekly.drop(columns="week")
