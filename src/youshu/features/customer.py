"""Customer features as of a date: profile, RFM, AUM and its trend, products, channels, main-bank signals, outflows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
from ibis import _

from youshu.engine.base import safe_divide
from youshu.features.common import (
    LOOKBACK_DAYS,
    Tables,
    as_of_date,
    attach,
    county_specialty,
    days_before,
    days_since,
    finalize,
    haversine_m,
    in_last,
    last_days,
    month_ends,
    top_per_group,
)

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["AGE_BANDS", "CHANNELS", "FLOW_RULES", "PRODUCT_CATEGORIES", "customer_features", "customer_table"]

WINDOWS = (30, 90, 365)
#: Channels whose share of the customer's own transactions is a feature (``auto`` batch postings excluded).
CHANNELS = ("counter", "mobile", "qr", "atm", "pos", "online")
PRODUCT_CATEGORIES = ("wealth", "fund", "insurance", "treasury_bond", "precious_metal", "time_deposit")
#: Age bands as (label, lower bound in years); a band runs up to the next bound.
AGE_BANDS = (("under_25", 0), ("25_34", 25), ("35_44", 35), ("45_54", 45), ("55_64", 55), ("65_plus", 65))
#: Counterparty-category flows: (column, direction, categories, window in days, "amount" in fen or "count").
FLOW_RULES: tuple[tuple[str, str, tuple[str, ...], int, str], ...] = (
    ("payroll_amount_90d_fen", "in", ("payroll",), 90, "amount"),
    ("pension_amount_90d_fen", "in", ("pension",), 90, "amount"),
    ("social_security_90d_fen", "in", ("social_security",), 90, "amount"),
    ("agri_subsidy_365d_fen", "in", ("agri_subsidy",), 365, "amount"),
    ("bill_payments_90d", "out", ("utility", "telecom"), 90, "count"),
    ("bill_amount_90d_fen", "out", ("utility", "telecom"), 90, "amount"),
    ("payroll_paid_90d_fen", "out", ("payroll",), 90, "amount"),
    ("other_bank_wealth_out_90d_fen", "out", ("other_bank_wealth",), 90, "amount"),
    ("other_bank_wealth_out_365d_fen", "out", ("other_bank_wealth",), 365, "amount"),
    ("other_bank_wealth_out_count_365d", "out", ("other_bank_wealth",), 365, "count"),
    ("other_bank_wealth_in_365d_fen", "in", ("other_bank_wealth",), 365, "amount"),
    ("fund_out_365d_fen", "out", ("fund_securities",), 365, "amount"),
    ("fund_out_count_365d", "out", ("fund_securities",), 365, "count"),
    ("insurer_out_365d_fen", "out", ("insurer",), 365, "amount"),
    ("insurer_out_count_365d", "out", ("insurer",), 365, "count"),
    ("agri_buyer_in_365d_fen", "in", ("agri_buyer",), 365, "amount"),
    ("farm_input_out_365d_fen", "out", ("farm_input",), 365, "amount"),
    ("farmer_out_365d_fen", "out", ("farmer",), 365, "amount"),
    ("farmer_out_count_365d", "out", ("farmer",), 365, "count"),
    ("distributor_in_365d_fen", "in", ("distributor",), 365, "amount"),
    ("ecommerce_in_count_90d", "in", ("ecommerce",), 90, "count"),
    ("logistics_out_365d_fen", "out", ("logistics",), 365, "amount"),
)
#: Industry-tagged flows that say which specialty product a customer works in: (category, direction).
AGRI_FLOWS = (("agri_buyer", "in"), ("farm_input", "out"), ("farmer", "out"), ("distributor", "in"))
TREND_MONTHS = (3, 6, 12)


def customer_features(engine: Engine, warehouse: Path, as_of: date) -> ir.Table:
    """Customer features as of ``as_of``: one row per customer onboarded on or before it.

    Only data up to the as-of date is read: events before midnight after it, month-end balances and
    holdings of month ends on or before it, accounts opened on or before it. Nothing of ``truth/``.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark (``youshu.engine.connect``); the expression runs on it.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date (inclusive).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``as_of_date`` and the features of ``FEATURES["customer"]`` in catalog order and
        dtype. Counts and amounts are 0 without events; ratios are null when their denominator is 0.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(customer_features(eng, Path("data/warehouse"), date(2025, 9, 30)))
    """
    return customer_table(Tables(engine, warehouse), as_of_date(as_of))


def customer_table(t: Tables, as_of: date) -> ir.Table:
    """The customer feature table over the tables of ``t`` (see :func:`customer_features`)."""
    customers = t.customers.filter(t.customers.onboard_date <= as_of)
    accounts = t.accounts.filter(t.accounts.open_date <= as_of)
    owners = accounts.select("account_id", "customer_id")
    base = _profile(t, customers, as_of)
    parts = [
        _accounts_held(accounts, as_of),
        _flows(t, owners, as_of),
        _aum(t, owners, as_of),
        _holdings(t, as_of),
        _purchases(t, as_of),
        _crm(t, as_of),
        _loans(t, as_of),
        _agri_industry(t, owners, as_of),
        _merchant_owner(t, as_of),
        _qr_payer(t, as_of),
    ]
    wide = attach(base, "customer_id", parts)
    return finalize("customer", _derived(wide, as_of), as_of)


def _profile(t: Tables, customers: ir.Table, as_of: date) -> ir.Table:
    c = customers
    counties = t.counties.select("county_id", "is_rural")
    outlets = t.outlets.select(home_outlet_id="outlet_id", outlet_lat="lat", outlet_lon="lon")
    specialty = county_specialty(t, as_of)
    j = (
        c.left_join(counties, c.county_id == counties.county_id)
        .left_join(outlets, c.home_outlet_id == outlets.home_outlet_id)
        .left_join(specialty, c.county_id == specialty.county_id)
    )
    birth = c.birth_date
    had_birthday = (birth.month() * 100 + birth.day()) <= as_of.month * 100 + as_of.day
    age = (as_of.year - birth.year()) - ibis.ifelse(had_birthday, 0, 1)
    bands = [(age >= low, label) for label, low in reversed(AGE_BANDS)]
    return j.select(
        c.customer_id,
        c.customer_type,
        c.gender,
        age=age,
        age_band=ibis.cases(*bands, else_=ibis.null("string")),
        occupation=c.occupation,
        county_id=c.county_id,
        county_specialty=specialty.county_specialty,
        is_rural_county=counties.is_rural,
        home_outlet_id=c.home_outlet_id,
        distance_to_home_outlet_m=haversine_m(c.lat, c.lon, outlets.outlet_lat, outlets.outlet_lon),
        tenure_days=days_since(as_of, c.onboard_date),
    )


def _accounts_held(accounts: ir.Table, as_of: date) -> ir.Table:
    a = accounts
    is_open = a.close_date.isnull() | (a.close_date > as_of)
    return a.group_by("customer_id").aggregate(
        accounts_open=a.count(where=is_open),
        n_business_accounts=a.count(where=is_open & (a.account_type == "business")),
    )


def _flows(t: Tables, owners: ir.Table, as_of: date) -> ir.Table:
    """One pass over a year of transactions: per account first, then summed per customer.

    The conditions are evaluated once per row into boolean columns, so each of the ~50 filtered aggregates
    only combines two flags (measured about 1.5x faster on DuckDB than repeating the comparisons).
    """
    x = last_days(t.transactions, "txn_at", as_of)
    flags: dict[str, ir.BooleanValue] = {
        "in_30d": in_last(x.txn_at, as_of, 30),
        "in_90d": in_last(x.txn_at, as_of, 90),
        "is_in": x.direction == "in",
        "is_own": x.channel != "auto",
    }
    for channel in CHANNELS:
        flags[f"is_{channel}"] = x.channel == channel
    for name, direction, categories, _days, _measure in FLOW_RULES:
        flags[f"is_{name}"] = (x.direction == direction) & x.counterparty_category.isin(categories)
    x = x.select("account_id", "txn_at", "amount_fen", **flags)

    def where(flag: ir.BooleanValue | None, days: int) -> ir.BooleanValue | None:
        window = None if days == LOOKBACK_DAYS else x[f"in_{days}d"]
        if flag is None or window is None:
            return window if flag is None else flag
        return flag & window

    metrics: dict[str, ir.Scalar] = {}
    for d in WINDOWS:
        metrics[f"txn_count_{d}d"] = x.count(where=where(None, d))
        metrics[f"txn_amount_in_{d}d_fen"] = x.amount_fen.sum(where=where(x.is_in, d))
        metrics[f"txn_amount_out_{d}d_fen"] = x.amount_fen.sum(where=where(~x.is_in, d))
    metrics["n_own_90d"] = x.count(where=where(x.is_own, 90))
    for channel in CHANNELS:
        metrics[f"n_{channel}_90d"] = x.count(where=where(x[f"is_{channel}"], 90))
    for name, _direction, _categories, days, measure in FLOW_RULES:
        match = where(x[f"is_{name}"], days)
        metrics[name] = x.amount_fen.sum(where=match) if measure == "amount" else x.count(where=match)
    per_account = x.group_by("account_id").aggregate(last_txn_at=x.txn_at.max(), **metrics)
    j = per_account.join(owners, "account_id")
    sums = {name: j[name].sum() for name in metrics}
    return j.group_by("customer_id").aggregate(last_txn_at=j.last_txn_at.max(), **sums)


def _aum(t: Tables, owners: ir.Table, as_of: date) -> ir.Table:
    """Deposits and holdings per customer at the last 13 month ends, then the level, trends and peak."""
    ends = month_ends(as_of, max(TREND_MONTHS))
    b = t.balances.filter(t.balances.month_end_date.isin(ends))
    deposits = (
        b.join(owners, "account_id")
        .group_by(["customer_id", "month_end_date"])
        .aggregate(deposit=_.balance_fen.sum(), holding=ibis.literal(0, type="int64"))
    )
    h = t.holdings.filter(t.holdings.month_end_date.isin(ends))
    holdings = h.group_by(["customer_id", "month_end_date"]).aggregate(
        deposit=ibis.literal(0, type="int64"), holding=_.value_fen.sum()
    )
    cols = ("customer_id", "month_end_date", "deposit", "holding")
    monthly = (
        ibis.union(
            *(p.select(*cols).cast({"deposit": "int64", "holding": "int64"}) for p in (deposits, holdings))
        )
        .group_by(["customer_id", "month_end_date"])
        .aggregate(deposit=_.deposit.sum(), holding=_.holding.sum())
    )
    monthly = monthly.mutate(aum=monthly.deposit + monthly.holding)
    latest = monthly.month_end_date == ends[0]
    earlier = {
        f"aum_{k}m_ago": monthly.aum.sum(where=monthly.month_end_date == ends[k]) for k in TREND_MONTHS
    }
    return monthly.group_by("customer_id").aggregate(
        deposit_fen=monthly.deposit.sum(where=latest),
        holding_fen=monthly.holding.sum(where=latest),
        aum_max_12m_fen=monthly.aum.max(),
        **earlier,
    )


def _holdings(t: Tables, as_of: date) -> ir.Table:
    """Products held per category at the last month end (rows with a positive value)."""
    h = t.holdings.filter((t.holdings.month_end_date == month_ends(as_of, 0)[0]) & (t.holdings.value_fen > 0))
    j = h.join(t.products.select("product_id", "category"), "product_id")
    metrics: dict[str, ir.Scalar] = {}
    for cat in PRODUCT_CATEGORIES:
        metrics[f"products_held_{cat}"] = j.count(where=j.category == cat)
        metrics[f"holding_{cat}_fen"] = j.value_fen.sum(where=j.category == cat)
    return j.group_by("customer_id").aggregate(product_categories_held=j.category.nunique(), **metrics)


def _purchases(t: Tables, as_of: date) -> ir.Table:
    p = last_days(t.purchases, "purchase_date", as_of)
    j = p.join(t.products.select("product_id", "category"), "product_id")
    return j.group_by("customer_id").aggregate(
        purchase_count_365d=j.count(),
        purchase_amount_365d_fen=j.amount_fen.sum(),
        purchase_wealth_count_365d=j.count(where=j.category == "wealth"),
        purchase_fund_count_365d=j.count(where=j.category == "fund"),
        purchase_insurance_count_365d=j.count(where=j.category == "insurance"),
        last_purchase_date=j.purchase_date.max(),
    )


def _crm(t: Tables, as_of: date) -> ir.Table:
    c = last_days(t.crm_contacts, "contact_at", as_of)
    recent = in_last(c.contact_at, as_of, 90)
    return c.group_by("customer_id").aggregate(
        crm_contacts_90d=c.count(where=recent),
        crm_wealth_contacts_90d=c.count(where=recent & (c.purpose == "wealth")),
        crm_interested_365d=c.count(where=c.outcome == "interested"),
        last_contact_at=c.contact_at.max(),
    )


def _loans(t: Tables, as_of: date) -> ir.Table:
    """Active loans, and instalments overdue on the as-of date (paid later, partly or never)."""
    loans = t.loans.filter(t.loans.issue_date <= as_of)
    active = loans.maturity_date > as_of
    book = loans.group_by("customer_id").aggregate(
        loan_count_active=loans.count(where=active),
        loan_principal_active_fen=loans.principal_fen.sum(where=active),
    )
    r = t.loan_repayments.filter(t.loan_repayments.due_date < as_of)
    r = r.join(loans.select("loan_id", "customer_id"), "loan_id")
    paid_by_as_of = r.paid_date.notnull() & (r.paid_date <= as_of) & (r.amount_paid_fen >= r.amount_due_fen)
    unpaid = ~paid_by_as_of
    late = unpaid | (r.paid_date > r.due_date)
    instalments = r.group_by("customer_id").aggregate(
        n_overdue=r.count(where=unpaid),
        first_overdue_date=r.due_date.min(where=unpaid),
        loan_late_instalments_365d=r.count(where=late & (r.due_date >= days_before(as_of, LOOKBACK_DAYS))),
    )
    return book.outer_join(instalments, book.customer_id == instalments.customer_id).select(
        customer_id=ibis.coalesce(book.customer_id, instalments.customer_id),
        loan_count_active=book.loan_count_active,
        loan_principal_active_fen=book.loan_principal_active_fen,
        n_overdue=instalments.n_overdue,
        first_overdue_date=instalments.first_overdue_date,
        loan_late_instalments_365d=instalments.loan_late_instalments_365d,
    )


def _agri_industry(t: Tables, owners: ir.Table, as_of: date) -> ir.Table:
    x = last_days(t.transactions, "txn_at", as_of)
    tagged = ibis.or_(*((x.counterparty_category == c) & (x.direction == d) for c, d in AGRI_FLOWS))
    x = x.filter(tagged & x.counterparty_industry.notnull())
    per_account = x.group_by(["account_id", x.counterparty_industry.name("industry")]).aggregate(
        amount=x.amount_fen.sum()
    )
    totals = (
        per_account.join(owners, "account_id")
        .group_by(["customer_id", "industry"])
        .aggregate(amount=_.amount.sum())
    )
    return top_per_group(totals, "customer_id", "industry", "amount", "agri_industry_365d")


def _merchant_owner(t: Tables, as_of: date) -> ir.Table:
    m = t.merchants
    signed = m.is_acquired.fill_null(False) & (m.onboard_date <= as_of).fill_null(False)
    m = m.filter(signed & m.owner_customer_id.notnull())
    return m.group_by(customer_id=m.owner_customer_id).aggregate(n_acquired_merchants=m.count())


def _qr_payer(t: Tables, as_of: date) -> ir.Table:
    a = last_days(t.acquiring_transactions, "paid_at", as_of, 90)
    a = a.filter(a.payer_customer_id.notnull())
    return a.group_by(customer_id=a.payer_customer_id).aggregate(qr_payments_made_90d=a.count())


def _derived(w: ir.Table, as_of: date) -> ir.Table:
    """Flags, shares, trends and day counts from the joined parts (nulls of absent parts taken as 0)."""
    aum = w.deposit_fen.fill_null(0) + w.holding_fen.fill_null(0)
    shares = {
        f"channel_share_{channel}_90d": safe_divide(w[f"n_{channel}_90d"], w.n_own_90d)
        for channel in CHANNELS
    }
    trends = {f"aum_trend_{k}m": safe_divide(aum, w[f"aum_{k}m_ago"]) for k in TREND_MONTHS}
    return w.mutate(
        has_business_account=w.n_business_accounts > 0,
        owns_acquired_merchant=w.n_acquired_merchants > 0,
        days_since_last_txn=days_since(as_of, w.last_txn_at),
        days_since_last_purchase=days_since(as_of, w.last_purchase_date),
        days_since_last_crm_contact=days_since(as_of, w.last_contact_at),
        loan_days_past_due=days_since(as_of, w.first_overdue_date),
        aum_fen=aum,
        has_payroll_90d=w.payroll_amount_90d_fen > 0,
        has_pension_90d=w.pension_amount_90d_fen > 0,
        has_social_security_90d=w.social_security_90d_fen > 0,
        loan_overdue_now=w.n_overdue > 0,
        **shares,
        **trends,
    )
