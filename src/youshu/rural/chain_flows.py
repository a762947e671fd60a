"""Per-customer chain flows (产业链资金特征): counts and amounts of the flows that mark each chain stage.

Observed tables only. Over the ``window_days`` days up to the as-of date, summed over a customer's accounts:

| column | flow |
|---|---|
| ``buyer_in_count/_fen`` | receipts from agricultural buyers (农产品收购商, ``agri_buyer``, in) |
| ``buyer_top_count`` | those of the customer's most frequent buyer industry (a producer sells one product) |
| ``input_out_count/_fen`` | payments to farm-input suppliers (农资供应商, ``farm_input``, out) |
| ``farmer_out_count/_fen``, ``farmer_payees`` | payments to farmers (农户, ``farmer``, out) and distinct payees |
| ``distributor_in_count/_fen`` | receipts from distributors (经销商, ``distributor``, in) |
| ``ecommerce_in_count/_fen`` | receipts from e-commerce platforms (电商平台, ``ecommerce``, in) |
| ``logistics_out_count/_fen`` | payments to logistics firms (物流快递, ``logistics``, out) |
| ``tagged_industry``, ``tagged_count`` | the product of most of the customer's industry-tagged flows, and how many |
| ``loan_industry`` | ``purpose_industry`` of the customer's latest loan financing a product, issued by the as-of date |
| ``county_id``, ``county_specialty`` | the customer's county and its first product in the specialty catalogue |

Only customers with at least one such flow or loan are returned (everyone else has no chain evidence).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from youshu.engine import Tables
from youshu.features.common import attach, days_before, end_of, start_of, top_per_group
from youshu.rural.catalogue import specialty_catalogue

__all__ = ["FLOW_KINDS", "chain_flow_features"]

#: name: (counterparty_category, direction, zh label used in evidence)
FLOW_KINDS: dict[str, tuple[str, str, str]] = {
    "buyer_in": ("agri_buyer", "in", "收到{industry}收购商付款"),
    "input_out": ("farm_input", "out", "向农资供应商付款"),
    "farmer_out": ("farmer", "out", "向农户付款"),
    "distributor_in": ("distributor", "in", "收到经销商货款"),
    "ecommerce_in": ("ecommerce", "in", "收到电商平台回款"),
    "logistics_out": ("logistics", "out", "支付物流快递费"),
}
COUNT_COLUMNS = [f"{k}_count" for k in FLOW_KINDS] + ["buyer_top_count", "farmer_payees", "tagged_count"]


def chain_flow_features(t: Tables, as_of: date, window_days: int = 365) -> ir.Table:
    """The chain flow features of every customer with chain-like activity (see the module docstring).

    Parameters
    ----------
    t : Tables
        The warehouse's canonical tables on an engine.
    as_of : date
        The as-of date (inclusive).
    window_days : int
        Length of the flow window in days.

    Returns
    -------
    ibis.Table
        One row per customer: ``customer_id``, ``county_id``, ``county_specialty``, the counts (0 without
        flows), amounts in fen, ``tagged_industry``, ``tagged_count``, ``loan_industry``.
    """
    first = days_before(as_of, window_days)
    customers = t.customers.filter(t.customers.onboard_date <= as_of).select("customer_id", "county_id")
    owners = t.accounts.filter(t.accounts.open_date <= as_of).select("account_id", "customer_id")
    x = t.transactions
    categories = [c for c, _, _ in FLOW_KINDS.values()]
    x = x.filter(
        (x.txn_at >= start_of(first)) & (x.txn_at < end_of(as_of)) & x.counterparty_category.isin(categories)
    )
    x = x.join(owners, "account_id").select(
        "customer_id",
        "amount_fen",
        "counterparty_id",
        "counterparty_category",
        "direction",
        "counterparty_industry",
    )
    flags = {k: (x.counterparty_category == c) & (x.direction == d) for k, (c, d, _) in FLOW_KINDS.items()}
    metrics: dict[str, ir.Scalar] = {}
    for k, flag in flags.items():
        metrics[f"{k}_count"] = x.count(where=flag)
        metrics[f"{k}_fen"] = x.amount_fen.sum(where=flag).fill_null(0)
    metrics["farmer_payees"] = x.counterparty_id.nunique(where=flags["farmer_out"])
    flows = x.group_by("customer_id").aggregate(**metrics)

    tagged = x.filter(x.counterparty_industry.notnull())
    per_industry = tagged.group_by(["customer_id", tagged.counterparty_industry.name("industry")]).aggregate(
        n=ibis._.count(), n_buyer=ibis._.count(where=tagged.counterparty_category == "agri_buyer")
    )
    top = top_per_group(per_industry, "customer_id", "industry", "n", "tagged_industry")
    tag_counts = per_industry.group_by("customer_id").aggregate(
        tagged_count=per_industry.n.max(), buyer_top_count=per_industry.n_buyer.max()
    )

    ln = t.loans
    loans = ln.filter(ln.purpose_industry.notnull() & (ln.issue_date <= as_of))
    loans = loans.select("customer_id", "issue_date", "loan_id", industry=loans.purpose_industry)
    latest = loans.mutate(
        _r=ibis.row_number().over(
            group_by="customer_id", order_by=[ibis.desc("issue_date"), ibis.desc("loan_id")]
        )
    )
    loan_industry = latest.filter(latest._r == 0).select("customer_id", loan_industry=latest.industry)

    catalogue = specialty_catalogue(t, as_of)
    specialty = catalogue.filter(catalogue.rank_in_county == 1).select(
        "county_id", county_specialty=catalogue.industry
    )
    who = ibis.union(flows.select("customer_id"), loan_industry.select("customer_id"), distinct=True)
    base = who.join(customers, "customer_id")
    base = base.left_join(specialty, base.county_id == specialty.county_id).select(
        base.customer_id, base.county_id, specialty.county_specialty
    )
    wide = attach(base, "customer_id", [flows, top, tag_counts, loan_industry])
    filled = {
        c: wide[c].fill_null(0).cast("int64")
        for c in wide.columns
        if c.endswith(("_count", "_fen", "_payees"))
    }
    return wide.mutate(**filled)
