"""Outlet features as of a date: its customers and their AUM, counter and ATM traffic, merchants, sales, loans."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
from ibis import _

from youshu.features.common import (
    Tables,
    as_of_date,
    attach,
    county_specialty,
    days_since,
    finalize,
    in_last,
    last_days,
    month_ends,
)

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["outlet_features", "outlet_table"]


def outlet_features(engine: Engine, warehouse: Path, as_of: date) -> ir.Table:
    """Outlet features as of ``as_of``: one row per outlet opened on or before it.

    Customers count for their home outlet (``customers.home_outlet_id``), accounts for the outlet that
    opened them, counter and ATM transactions for the outlet where they happened, merchants for the outlet
    that signed them, purchases for the selling outlet, CRM contacts for the staff member's outlet and loans
    for the lending outlet.

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
        ``outlet_id``, ``as_of_date`` and the features of ``FEATURES["outlet"]`` in catalog order.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(outlet_features(eng, Path("data/warehouse"), date(2025, 9, 30)))
    """
    return outlet_table(Tables(engine, warehouse), as_of_date(as_of))


def outlet_table(t: Tables, as_of: date) -> ir.Table:
    """The outlet feature table over the tables of ``t`` (see :func:`outlet_features`)."""
    o = t.outlets.filter(t.outlets.opened_date <= as_of)
    specialty = county_specialty(t, as_of)
    base = o.left_join(specialty, o.county_id == specialty.county_id).select(
        o.outlet_id,
        o.outlet_type,
        o.county_id,
        county_specialty=specialty.county_specialty,
        sub_branch_id=o.sub_branch_id,
        tenure_days=days_since(as_of, o.opened_date),
    )
    parts = [
        _customers(t, as_of),
        _accounts_opened(t, as_of),
        _aum(t, as_of),
        _traffic(t, as_of),
        _merchants(t, as_of),
        _sales(t, as_of),
        _crm(t, as_of),
        _loans(t, as_of),
    ]
    wide = attach(base, "outlet_id", parts)
    wide = wide.mutate(aum_fen=wide.deposit_fen.fill_null(0) + wide.holding_fen.fill_null(0))
    return finalize("outlet", wide, as_of)


def _customers(t: Tables, as_of: date) -> ir.Table:
    c = t.customers.filter(t.customers.onboard_date <= as_of)
    return c.group_by(outlet_id=c.home_outlet_id).aggregate(
        customers=c.count(), new_customers_90d=c.count(where=in_last(c.onboard_date, as_of, 90))
    )


def _accounts_opened(t: Tables, as_of: date) -> ir.Table:
    a = last_days(t.accounts, "open_date", as_of, 90)
    return a.group_by("outlet_id").aggregate(accounts_opened_90d=a.count())


def _aum(t: Tables, as_of: date) -> ir.Table:
    """Deposits and holdings of the outlet's customers at the last month end, by home outlet."""
    end = month_ends(as_of, 0)[0]
    c = t.customers.filter(t.customers.onboard_date <= as_of).select(
        "customer_id", outlet_id="home_outlet_id"
    )
    owners = t.accounts.filter(t.accounts.open_date <= as_of).select("account_id", "customer_id")
    b = t.balances.filter(t.balances.month_end_date == end)
    deposits = (
        b.join(owners, "account_id")
        .group_by("customer_id")
        .aggregate(deposit=_.balance_fen.sum(), holding=ibis.literal(0, type="int64"))
    )
    h = t.holdings.filter(t.holdings.month_end_date == end)
    holdings = h.group_by("customer_id").aggregate(
        deposit=ibis.literal(0, type="int64"), holding=_.value_fen.sum()
    )
    cols = ("customer_id", "deposit", "holding")
    both = ibis.union(
        *(p.select(*cols).cast({"deposit": "int64", "holding": "int64"}) for p in (deposits, holdings))
    )
    return (
        both.join(c, "customer_id")
        .group_by("outlet_id")
        .aggregate(deposit_fen=_.deposit.sum(), holding_fen=_.holding.sum())
    )


def _traffic(t: Tables, as_of: date) -> ir.Table:
    x = last_days(t.transactions, "txn_at", as_of, 90)
    x = x.filter(x.outlet_id.notnull())
    return x.group_by("outlet_id").aggregate(
        counter_txn_count_90d=x.count(where=x.channel == "counter"),
        atm_txn_count_90d=x.count(where=x.channel == "atm"),
    )


def _merchants(t: Tables, as_of: date) -> ir.Table:
    m = t.merchants
    m = m.filter((m.is_acquired & (m.onboard_date <= as_of)).fill_null(False))
    signed = m.group_by(outlet_id=m.acquiring_outlet_id).aggregate(
        acquired_merchants=m.count(),
        new_acquired_merchants_90d=m.count(where=in_last(m.onboard_date, as_of, 90)),
    )
    a = last_days(t.acquiring_transactions, "paid_at", as_of, 30)
    qr = (
        a.join(m.select("merchant_id", outlet_id=m.acquiring_outlet_id), "merchant_id")
        .group_by("outlet_id")
        .aggregate(qr_amount_30d_fen=_.amount_fen.sum())
    )
    return attach(signed, "outlet_id", [qr])


def _sales(t: Tables, as_of: date) -> ir.Table:
    p = last_days(t.purchases, "purchase_date", as_of, 90)
    j = p.join(t.products.select("product_id", "category"), "product_id")
    return j.group_by("outlet_id").aggregate(
        product_sales_90d_fen=j.amount_fen.sum(),
        wealth_sales_90d_fen=j.amount_fen.sum(where=j.category == "wealth"),
    )


def _crm(t: Tables, as_of: date) -> ir.Table:
    c = last_days(t.crm_contacts, "contact_at", as_of, 90)
    return c.group_by("outlet_id").aggregate(crm_contacts_90d=c.count())


def _loans(t: Tables, as_of: date) -> ir.Table:
    loans = last_days(t.loans, "issue_date", as_of)
    return loans.group_by("outlet_id").aggregate(
        loans_issued_365d=loans.count(), loan_principal_issued_365d_fen=loans.principal_fen.sum()
    )
