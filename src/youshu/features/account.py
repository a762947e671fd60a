"""Account features as of a date: balance and its trend, activity, counterparties, pass-through and night share."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from youshu.engine.base import safe_divide
from youshu.features.common import (
    Tables,
    as_of_date,
    attach,
    days_since,
    finalize,
    in_last,
    last_days,
    month_ends,
)

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["NIGHT_HOURS", "account_features", "account_table"]

WINDOWS = (30, 90, 365)
#: Local hours counted as night (22:00 to 06:00), when legitimate activity is rare.
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5)


def account_features(engine: Engine, warehouse: Path, as_of: date) -> ir.Table:
    """Account features as of ``as_of``: one row per account opened on or before it (closed ones included).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date (inclusive).

    Returns
    -------
    ibis.Table
        ``account_id``, ``as_of_date`` and the features of ``FEATURES["account"]`` in catalog order. The
        account's ``status`` (as of the extract) is not used; ``is_open`` comes from ``close_date``.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(account_features(eng, Path("data/warehouse"), date(2025, 9, 30)))
    """
    return account_table(Tables(engine, warehouse), as_of_date(as_of))


def account_table(t: Tables, as_of: date) -> ir.Table:
    """The account feature table over the tables of ``t`` (see :func:`account_features`)."""
    a = t.accounts.filter(t.accounts.open_date <= as_of)
    m = t.merchants
    signed = (m.is_acquired & (m.onboard_date <= as_of)).fill_null(False)
    m = m.filter(signed & m.settlement_account_id.notnull())
    settlement = m.group_by(account_id=m.settlement_account_id).aggregate(n_merchants=m.count())
    base = a.select(
        "account_id",
        "customer_id",
        "account_type",
        "outlet_id",
        tenure_days=days_since(as_of, a.open_date),
        is_open=a.close_date.isnull() | (a.close_date > as_of),
    )
    wide = attach(base, "account_id", [settlement, _balances(t, as_of), _activity(t, as_of)])
    wide = wide.mutate(
        is_settlement_account=wide.n_merchants > 0,
        balance_trend_3m=safe_divide(wide.balance_fen.fill_null(0), wide.balance_3m_ago),
        days_since_last_txn=days_since(as_of, wide.last_txn_at),
        pass_through_ratio_30d=safe_divide(
            wide.txn_amount_out_30d_fen.fill_null(0), wide.txn_amount_in_30d_fen
        ),
        night_txn_share_90d=safe_divide(wide.n_night_90d, wide.txn_count_90d),
    )
    return finalize("account", wide, as_of)


def _balances(t: Tables, as_of: date) -> ir.Table:
    ends = month_ends(as_of, 3)
    b = t.balances.filter(t.balances.month_end_date.isin([ends[0], ends[3]]))
    latest = b.month_end_date == ends[0]
    return b.group_by("account_id").aggregate(
        balance_fen=b.balance_fen.sum(where=latest),
        avg_balance_fen=b.avg_balance_fen.sum(where=latest),
        balance_3m_ago=b.balance_fen.sum(where=b.month_end_date == ends[3]),
    )


def _activity(t: Tables, as_of: date) -> ir.Table:
    x = last_days(t.transactions, "txn_at", as_of)
    within = {d: in_last(x.txn_at, as_of, d) for d in WINDOWS}
    is_in, is_out = x.direction == "in", x.direction == "out"
    metrics: dict[str, ir.Scalar] = {}
    for d in WINDOWS:
        metrics[f"txn_count_{d}d"] = x.count(where=within[d])
    for d in WINDOWS[:2]:
        metrics[f"txn_amount_in_{d}d_fen"] = x.amount_fen.sum(where=within[d] & is_in)
        metrics[f"txn_amount_out_{d}d_fen"] = x.amount_fen.sum(where=within[d] & is_out)
    return x.group_by("account_id").aggregate(
        last_txn_at=x.txn_at.max(),
        max_txn_amount_90d_fen=x.amount_fen.max(where=within[90]),
        counterparties_in_30d=x.counterparty_id.nunique(where=within[30] & is_in),
        counterparties_out_30d=x.counterparty_id.nunique(where=within[30] & is_out),
        internal_transfer_count_30d=x.count(where=within[30] & x.counterparty_account_id.notnull()),
        n_night_90d=x.count(where=within[90] & x.txn_at.hour().isin(NIGHT_HOURS)),
        **metrics,
    )
