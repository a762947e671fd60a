"""Merchant features as of a date: QR-payment activity and growth, settlement retention, deposits and location.

Settlement retention (资金留存率) of a merchant acquired on or before the as-of date, for h = 7 and 30 days::

    retention_<h>d = clamp(1 - D_h / S_h, 0, 1)

where, over the h days ending on the as-of date, S_h is the sum of acquiring settlements credited to the
merchant's settlement account (``transactions`` with ``counterparty_category = 'acquiring_settlement'`` and
direction ``in``) and D_h the sum of every debit of that account. It is the share of the settled takings of
the window that the account kept on deposit, net of what left it in the same window (whatever the payee:
the owner's transfers out, suppliers, other banks). Null without settlement credits in the window (and for
prospects); 1 when nothing left the account; 0 when at least as much left as was settled.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from youshu.engine.base import safe_divide
from youshu.features.common import (
    Tables,
    as_of_date,
    attach,
    county_specialty,
    days_since,
    finalize,
    haversine_m,
    in_last,
    last_days,
    month_ends,
    start_of,
)
from youshu.features.nearest import nearest_distance_m

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["GROWTH_DAYS", "RETENTION_DAYS", "merchant_features", "merchant_table"]

#: Horizons of settlement retention, in days.
RETENTION_DAYS = (7, 30)
#: Length of the two periods QR growth compares, in days.
GROWTH_DAYS = 28


def merchant_features(engine: Engine, warehouse: Path, as_of: date) -> ir.Table:
    """Merchant features as of ``as_of``: one row per merchant or prospect POI of the ``merchants`` table.

    A merchant signed for acquiring after the as-of date counts as a prospect (``is_acquired`` false, no
    acquiring outlet, tenure or settlement features). Only events up to the as-of date are read; the
    merchant's ``status`` (as of the extract) is not used. ``distance_to_outlet_m`` is the distance to the
    acquiring outlet (acquired merchants only); ``distance_to_nearest_outlet_m`` the distance to the nearest
    outlet opened by the as-of date, for prospects too (see ``youshu.features.nearest``).

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
        ``merchant_id``, ``as_of_date`` and the features of ``FEATURES["merchant"]`` in catalog order.
        Retention is defined in this module's docstring.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(merchant_features(eng, Path("data/warehouse"), date(2025, 9, 30)))
    """
    return merchant_table(Tables(engine, warehouse), as_of_date(as_of))


def merchant_table(t: Tables, as_of: date) -> ir.Table:
    """The merchant feature table over the tables of ``t`` (see :func:`merchant_features`)."""
    base = _profile(t, as_of)
    parts = [_qr(t, as_of), _redemptions(t, as_of), _nearest_outlet(t, as_of)]
    wide = attach(base, "merchant_id", parts)
    wide = _settlement(t, wide, as_of)
    return finalize("merchant", _derived(wide, as_of), as_of)


def _profile(t: Tables, as_of: date) -> ir.Table:
    m = t.merchants
    signed = (m.is_acquired & (m.onboard_date <= as_of)).fill_null(False)
    outlets = t.outlets.select(outlet_id="outlet_id", outlet_lat="lat", outlet_lon="lon")
    specialty = county_specialty(t, as_of)
    j = m.left_join(outlets, m.acquiring_outlet_id == outlets.outlet_id).left_join(
        specialty, m.county_id == specialty.county_id
    )
    none = ibis.null("string")
    return j.select(
        m.merchant_id,
        m.category,
        m.specialty_industry,
        m.county_id,
        county_specialty=specialty.county_specialty,
        is_acquired=signed,
        acquiring_outlet_id=ibis.ifelse(signed, m.acquiring_outlet_id, none),
        owner_customer_id=m.owner_customer_id,
        tenure_days=ibis.ifelse(signed, days_since(as_of, m.onboard_date), ibis.null("int64")),
        distance_to_outlet_m=ibis.ifelse(
            signed, haversine_m(m.lat, m.lon, outlets.outlet_lat, outlets.outlet_lon), ibis.null("float64")
        ),
        settlement_account_id=ibis.ifelse(signed, m.settlement_account_id, none),
    )


def _nearest_outlet(t: Tables, as_of: date) -> ir.Table:
    """Great-circle metres to the nearest outlet opened on or before ``as_of``, prospects included."""
    m = t.merchants.select("merchant_id", "lat", "lon")
    o = t.outlets.filter(t.outlets.opened_date <= as_of)
    near = nearest_distance_m(m, "merchant_id", o)
    return near.select("merchant_id", distance_to_nearest_outlet_m=near.distance_m)


def _qr(t: Tables, as_of: date) -> ir.Table:
    a = last_days(t.acquiring_transactions, "paid_at", as_of)
    d30, d90 = in_last(a.paid_at, as_of, 30), in_last(a.paid_at, as_of, 90)
    last_start = start_of(as_of - timedelta(days=GROWTH_DAYS - 1))
    prev_start = start_of(as_of - timedelta(days=2 * GROWTH_DAYS - 1))
    return a.group_by("merchant_id").aggregate(
        qr_count_30d=a.count(where=d30),
        qr_amount_30d_fen=a.amount_fen.sum(where=d30),
        qr_active_days_30d=a.paid_at.date().nunique(where=d30),
        qr_count_90d=a.count(where=d90),
        qr_amount_90d_fen=a.amount_fen.sum(where=d90),
        qr_count_365d=a.count(),
        qr_count_last_28d=a.count(where=a.paid_at >= last_start),
        qr_count_prev_28d=a.count(where=(a.paid_at >= prev_start) & (a.paid_at < last_start)),
        qr_payers_90d=a.payer_customer_id.nunique(where=d90),
        n_bank_app_90d=a.count(where=d90 & (a.payment_method == "bank_app")),
        last_paid_at=a.paid_at.max(),
    )


def _redemptions(t: Tables, as_of: date) -> ir.Table:
    r = last_days(t.redemptions, "redeemed_at", as_of, 90)
    return r.group_by("merchant_id").aggregate(redemptions_90d=r.count())


def _settlement(t: Tables, wide: ir.Table, as_of: date) -> ir.Table:
    """Settlement flows (last 30 days) and the month-end balance of each acquired merchant's account."""
    accounts = (
        wide.filter(wide.settlement_account_id.notnull())
        .select(account_id=wide.settlement_account_id)
        .distinct()
    )
    x = last_days(t.transactions, "txn_at", as_of, max(RETENTION_DAYS))
    x = x.join(accounts, "account_id")
    settled = (x.direction == "in") & (x.counterparty_category == "acquiring_settlement")
    metrics: dict[str, ir.Scalar] = {}
    for h in RETENTION_DAYS:
        within = in_last(x.txn_at, as_of, h)
        metrics[f"settled_{h}d"] = x.amount_fen.sum(where=within & settled)
        metrics[f"debited_{h}d"] = x.amount_fen.sum(where=within & (x.direction == "out"))
    flows = x.group_by("account_id").aggregate(**metrics)
    b = t.balances.filter(t.balances.month_end_date == month_ends(as_of, 0)[0])
    balance = b.select("account_id", deposit_fen=b.balance_fen)
    return attach(wide, "account_id", [flows, balance], base_key="settlement_account_id")


def _derived(w: ir.Table, as_of: date) -> ir.Table:
    retention = {
        f"retention_{h}d": (1 - safe_divide(w[f"debited_{h}d"].fill_null(0), w[f"settled_{h}d"])).clip(
            lower=0.0, upper=1.0
        )
        for h in RETENTION_DAYS
    }
    last, prev = w.qr_count_last_28d.fill_null(0), w.qr_count_prev_28d
    return w.mutate(
        qr_avg_ticket_fen=safe_divide(w.qr_amount_90d_fen, w.qr_count_90d),
        qr_growth_28d=safe_divide(last - prev, prev),
        days_since_last_qr=days_since(as_of, w.last_paid_at),
        qr_bank_app_share_90d=safe_divide(w.n_bank_app_90d, w.qr_count_90d),
        settlement_in_30d_fen=w.settled_30d,
        **retention,
    )
