"""Quick outflow of settled funds (资金快进快出): how much of a merchant's QR settlements left within N days.

Settlements are the credits of a merchant's settlement account with ``counterparty_category =
'acquiring_settlement'``; outflows are every debit of that account, whoever the payee. Outflows are matched
to settlements first in, first out (FIFO): the i-th settlement ``c_i`` on day ``d_i`` counts as left within
N days by the part of it that the outflows up to day ``d_i + N`` cover after the earlier settlements::

    left_i = clamp(OUT(d_i + N) - IN_before_i, 0, c_i)

with ``OUT(x)`` the debits from the window's first day to day ``x`` and ``IN_before_i`` the settlements
before ``c_i`` in the window. The share is ``sum(left_i) / sum(c_i)``. Only settlements whose N following
days are all on or before the as-of date are looked at, so every one had the same chance to leave.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from youshu.config import MerchantAlertSettings
from youshu.engine import Tables
from youshu.features.common import end_of, start_of
from youshu.merchants.home import acquired_merchants

__all__ = ["EPOCH", "day_number", "quick_outflow_window", "quick_outflows"]

#: Day numbers count from here (any fixed date would do; only differences matter).
EPOCH = date(1970, 1, 1)


def day_number(at: ir.Value) -> ir.IntegerValue:
    """Whole days from 1970-01-01 to the local day of ``at`` (a timestamp or date), on every engine."""
    day = at.date() if at.type().is_timestamp() else at
    return day.delta(ibis.literal(EPOCH, type="date"), unit="day")


def quick_outflow_window(as_of: date, rule: MerchantAlertSettings) -> tuple[date, date]:
    """First and last day of the settlements looked at: the window ends N days before ``as_of``."""
    last = as_of - timedelta(days=rule.quick_outflow_days)
    return last - timedelta(days=rule.quick_outflow_window_days - 1), last


def quick_outflows(t: Tables, as_of: date, rule: MerchantAlertSettings) -> ir.Table:
    """Settled and quickly-left sums of every acquired merchant with a settlement account.

    Parameters
    ----------
    t : Tables
        The canonical tables.
    as_of : date
        Transactions after it are never read.
    rule : MerchantAlertSettings
        ``quick_outflow_days`` (N) and ``quick_outflow_window_days``.

    Returns
    -------
    ibis.Table
        ``merchant_id, settled_fen, quick_out_fen`` (0 when nothing was settled in the window). Merchants
        sharing one settlement account get the account's figures.
    """
    first, last = quick_outflow_window(as_of, rule)
    merchants = acquired_merchants(t, as_of)
    merchants = merchants.filter(merchants.settlement_account_id.notnull()).select(
        "merchant_id", account_id=merchants.settlement_account_id
    )
    accounts = merchants.select("account_id").distinct()
    x = t.transactions
    x = x.filter(x.txn_at >= start_of(first), x.txn_at < end_of(as_of)).join(accounts, "account_id")
    is_settlement = (
        (x.direction == "in")
        & (x.counterparty_category == "acquiring_settlement")
        & (x.txn_at < end_of(last))
    )
    daily = x.group_by(["account_id", day_number(x.txn_at).name("day")]).aggregate(
        credit_fen=ibis.ifelse(is_settlement, x.amount_fen, 0).sum(),
        debit_fen=ibis.ifelse(x.direction == "out", x.amount_fen, 0).sum(),
    )
    running_in = ibis.window(group_by="account_id", order_by="day", rows=(None, 0))
    out_by = ibis.window(group_by="account_id", order_by="day", range=(None, rule.quick_outflow_days))
    daily = daily.mutate(
        in_through=daily.credit_fen.sum().over(running_in), out_by=daily.debit_fen.sum().over(out_by)
    )
    before = daily.in_through - daily.credit_fen
    left = ibis.least(ibis.greatest(daily.out_by - before, 0), daily.credit_fen)
    flows = (
        daily.mutate(left_fen=left)
        .group_by("account_id")
        .aggregate(settled_fen=ibis._.credit_fen.sum(), quick_out_fen=ibis._.left_fen.sum())
    )
    joined = merchants.left_join(flows, merchants.account_id == flows.account_id)
    return joined.select(
        merchants.merchant_id,
        settled_fen=joined.settled_fen.fill_null(0).cast("int64"),
        quick_out_fen=joined.quick_out_fen.fill_null(0).cast("int64"),
    )
