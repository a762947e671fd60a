"""Accounts, month-end balances, products, purchases, holdings and loans, driven by customer latents."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from youshu.schema.enums import AccountStatus, AccountType, Channel, LoanStatus
from youshu.synth.arrowutil import expand, ids, month_ends, to_date32
from youshu.synth.people import People

ACCOUNT_KINDS = (AccountType.DEBIT_CARD, AccountType.PASSBOOK, AccountType.TIME_DEPOSIT, AccountType.BUSINESS)
# Deposit share of a customer's at-bank wealth held in each kind of account (normalised over held kinds).
_KIND_WEIGHT = np.array([0.35, 0.2, 0.6, 0.5])

DEPOSIT_DRIFT_PER_MONTH = 0.0057  # ~7% a year, a typical deposit growth for a large retail bank

PRODUCT_MIX = (
    ("wealth", 20),
    ("fund", 10),
    ("insurance", 8),
    ("treasury_bond", 4),
    ("precious_metal", 3),
    ("time_deposit", 5),
)
_PRODUCT_ZH = {
    "wealth": "理财",
    "fund": "基金",
    "insurance": "保险",
    "treasury_bond": "国债",
    "precious_metal": "贵金属",
    "time_deposit": "大额存单",
}


@dataclass
class Accounts:
    """Accounts of one chunk. ``kind`` indexes ACCOUNT_KINDS; rows are grouped by customer."""

    owner: np.ndarray  # local customer row
    kind: np.ndarray
    number: np.ndarray  # global account number (customer number * 10 + kind)
    open_day: np.ndarray
    account_id: pa.Array
    main_of_customer: np.ndarray  # per customer: row of the debit-card account
    business_of_customer: np.ndarray  # per customer: row of the business account, or the main one
    extra_balance: dict[int, np.ndarray] = field(default_factory=dict)  # row -> fen added per month


def trajectory(p: People, days: np.ndarray) -> np.ndarray:
    """Relative deposit level (customers x days) implied by each customer's lifecycle stage."""
    t = days[None, :].astype(np.float64)
    since = (t - p.stage_change_day[:, None]) / 30.44  # months since the current phase began
    pos = np.clip(since, 0, None)
    level = np.ones((p.n, len(days)))
    s = p.stage[:, None]
    level = np.where(s == 0, 1.0 - np.exp(-np.clip((t - p.onboard_day[:, None]) / 60.0, 0, None)), level)
    level = np.where(s == 1, np.where(since < 0, 0.65, np.minimum(0.65 * np.exp(0.045 * pos), 1.8)), level)
    level = np.where(s == 3, np.where(since < 0, 1.0, np.maximum(np.exp(-0.11 * pos), 0.12)), level)
    level = np.where(s == 4, np.where(since < 0, 0.7, np.maximum(0.7 * np.exp(-1.2 * pos), 0.01)), level)
    return np.where(t < p.onboard_day[:, None], 0.0, level)


def activity_level(p: People, days: np.ndarray) -> np.ndarray:
    """Multiplier on transaction and purchase rates (customers x days): dormant customers go quiet."""
    t = days[None, :]
    since = t - p.stage_change_day[:, None]
    s = p.stage[:, None]
    act = np.ones((p.n, len(days)))
    act = np.where((s == 4) & (since > 0), 0.02, act)
    act = np.where((s == 3) & (since > 0), 0.55, act)
    act = np.where((s == 1) & (since > 0), 1.3, act)
    return np.where(t < p.onboard_day[:, None], 0.0, act)


def build_accounts(rng: np.random.Generator, p: People, end_day: int) -> Accounts:
    """Give every customer a debit card, some a passbook, time deposit or business account."""
    has = np.zeros((p.n, 4), dtype=bool)
    has[:, 0] = True
    has[:, 1] = rng.random(p.n) < np.where(p.age > 55, 0.55, 0.25)
    has[:, 2] = rng.random(p.n) < np.clip(0.1 + 0.25 * (np.log10(p.wealth_fen + 1) - 6), 0.05, 0.7)
    has[:, 3] = p.is_business | p.is_merchant_owner | (p.chain_stage == "processing")
    owner, kind = np.nonzero(has)
    # Debit card and business account open with the relationship; others later, never after the data ends.
    later = rng.integers(0, 900, len(owner))
    open_day = np.minimum(p.onboard_day[owner] + np.where(np.isin(kind, [0, 3]), 0, later), end_day)
    number = p.index[owner] * 10 + kind
    rows = np.arange(len(owner))
    main = np.empty(p.n, dtype=np.int64)
    main[owner[kind == 0]] = rows[kind == 0]
    business = main.copy()
    business[owner[kind == 3]] = rows[kind == 3]
    return Accounts(owner, kind, number, open_day, ids("A", number, 10), main, business)


def accounts_table(a: Accounts, p: People, end_day: int, rng: np.random.Generator) -> pa.Table:
    """The ``accounts`` table; dormant customers' accounts turn dormant, some declining ones close a passbook."""
    stage = p.stage[a.owner]
    dormant = (stage == 4) & (p.stage_change_day[a.owner] < end_day - 180)
    close = (stage == 3) & (a.kind == 1) & (rng.random(len(a.owner)) < 0.3)
    close_day = np.where(close, np.maximum(p.stage_change_day[a.owner] + 120, a.open_day + 30), 0)
    close &= close_day <= end_day
    status = np.where(
        close,
        AccountStatus.CLOSED.value,
        np.where(dormant, AccountStatus.DORMANT.value, AccountStatus.ACTIVE.value),
    )
    return pa.table(
        {
            "account_id": a.account_id,
            "customer_id": p.customer_id.take(pa.array(a.owner)),
            "outlet_id": ids("O", p.home_outlet[a.owner], 5),
            "account_type": np.array([k.value for k in ACCOUNT_KINDS])[a.kind],
            "open_date": to_date32(a.open_day),
            "close_date": pa.array(close_day.astype(np.int32), mask=~close).cast(pa.date32()),
            "status": status,
        }
    )


def balances_table(rng: np.random.Generator, a: Accounts, p: People, month_starts: np.ndarray) -> pa.Table:
    """Month-end and average balances per account from the customer's at-bank wealth and trajectory."""
    ends = month_ends(month_starts)
    level = trajectory(p, ends)  # customers x months
    season = 1.0 + 0.25 * np.where(p.chain_stage == "production", 1.0, 0.0)[:, None] * np.sin(
        2 * np.pi * (ends[None, :] - 60) / 365.25
    )
    deposits = p.wealth_fen * p.bank_share * 0.75
    weight = _KIND_WEIGHT[a.kind]
    share = weight / np.bincount(a.owner, weights=weight, minlength=p.n)[a.owner]
    open_month = np.searchsorted(ends, a.open_day)
    first = np.minimum(open_month, len(ends))
    counts = len(ends) - first
    row = expand(counts)
    month = first[row] + (np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts))
    owner = a.owner[row]
    noise = rng.lognormal(0.0, 0.12, len(row))
    # The province grows: deposits drift up about 7% a year on top of each customer's own trajectory.
    drift = np.exp(DEPOSIT_DRIFT_PER_MONTH * np.arange(len(ends)))
    bal = deposits[owner] * share[row] * level[owner, month] * season[owner, month] * drift[month] * noise
    if a.extra_balance:
        extra = np.zeros((len(a.owner), len(ends)))
        for acct, add in a.extra_balance.items():
            extra[acct] += add
        bal += extra[row, month]
    bal = np.round(np.maximum(bal, 0)).astype(np.int64)
    avg = np.round(bal * rng.uniform(0.85, 1.1, len(row))).astype(np.int64)
    return pa.table(
        {
            "account_id": a.account_id.take(pa.array(row)),
            "month_end_date": to_date32(ends[month]),
            "balance_fen": bal,
            "avg_balance_fen": avg,
        }
    )


def products_table(rng: np.random.Generator, first_day: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The product shelf; returns the table, each product's category and its term in days."""
    cats, names, risk, term = [], [], [], []
    for cat, k in PRODUCT_MIX:
        for i in range(k):
            cats.append(cat)
            names.append(f"邮银{_PRODUCT_ZH[cat]}{i + 1}号")
            risk.append(
                {
                    "wealth": "R2",
                    "fund": "R3",
                    "insurance": "R1",
                    "treasury_bond": "R1",
                    "precious_metal": "R4",
                    "time_deposit": "R1",
                }[cat]
                if i % 3
                else "R2"
            )
            term.append(
                int(rng.choice([0, 90, 180, 365]))
                if cat in ("wealth", "fund")
                else {"insurance": 3650, "treasury_bond": 1095, "precious_metal": 0, "time_deposit": 1095}[
                    cat
                ]
            )
    n = len(cats)
    table = pa.table(
        {
            "product_id": ids("P", np.arange(n), 4),
            "product_name": names,
            "category": cats,
            "risk_level": risk,
            "term_days": np.array(term, dtype=np.int64),
            "launch_date": to_date32(first_day - rng.integers(30, 1500, n)),
        }
    )
    return table, np.array(cats), np.array(term)


def purchases_and_holdings(
    rng: np.random.Generator,
    p: People,
    product_category: np.ndarray,
    product_term: np.ndarray,
    month_starts: np.ndarray,
    wealth_contact: np.ndarray,
    end_day: int,
) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Purchases from latent propensities (boosted by recent wealth contacts) and month-end holdings.

    ``wealth_contact`` (customers x months) is True where a CRM wealth contact happened that month: a real
    confounder, since contacts are targeted at wealthier customers and also raise the purchase rate.
    Returns purchases, holdings and the holding value per customer and month (for AUM).
    """
    mid = month_starts + 15
    act = activity_level(p, mid)
    boost = np.where(wealth_contact, 1.8, 1.0)
    rates = {
        "wealth": -np.log1p(-p.wealth_propensity) / 3.0,
        "insurance": -np.log1p(-p.insurance_propensity) / 3.0,
        "fund": 0.02 * p.wealth_affinity,
        "treasury_bond": 0.004 * (p.age > 50) * (p.wealth_fen > 5e6),
        "precious_metal": 0.0015 * np.ones(p.n),
        "time_deposit": 0.006 * (p.occupation == "retiree") + 0.002,
    }
    cust_l, prod_l, day_l, amt_l = [], [], [], []
    days_in = np.diff(np.r_[month_starts, month_ends(month_starts[-1:]) + 1])
    for cat, rate in rates.items():
        lam = rate[:, None] * act * (boost if cat in ("wealth", "fund") else 1.0)
        counts = rng.poisson(lam).ravel()
        cell = expand(counts)
        cust, month = np.divmod(cell, len(month_starts))
        day = month_starts[month] + rng.integers(0, days_in[month])
        keep = (day >= p.onboard_day[cust]) & (day <= end_day)
        cust, day = cust[keep], day[keep]
        choices = np.flatnonzero(product_category == cat)
        prod = rng.choice(choices, size=len(cust))
        at_bank = p.wealth_fen[cust] * p.bank_share[cust]
        amount = np.maximum(at_bank * rng.uniform(0.05, 0.35, len(cust)), 100_000)
        if cat == "insurance":
            amount = rng.lognormal(np.log(600_000), 0.6, len(cust))
        cust_l.append(cust)
        prod_l.append(prod)
        day_l.append(day)
        amt_l.append(np.round(amount / 10_000) * 10_000)  # whole hundreds of yuan
    cust = np.concatenate(cust_l)
    prod = np.concatenate(prod_l)
    day = np.concatenate(day_l)
    amount = np.concatenate(amt_l).astype(np.int64)
    order = np.lexsort((day, cust))
    cust, prod, day, amount = cust[order], prod[order], day[order], amount[order]
    n = len(cust)
    channel = np.where(
        rng.random(n) < 0.45 + 0.3 * (p.age[cust] < 50), Channel.MOBILE.value, Channel.COUNTER.value
    )
    purchases = pa.table(
        {
            "purchase_id": ids(f"PU{p.chunk:04d}", np.arange(n), 9),
            "customer_id": p.customer_id.take(pa.array(cust)),
            "product_id": ids("P", prod, 4),
            "purchase_date": to_date32(day),
            "amount_fen": amount,
            "channel": channel,
            "outlet_id": ids("O", p.home_outlet[cust], 5),
        }
    )
    # Holdings: value at each month end from purchase until maturity (open-ended: held 3-18 months).
    ends = month_ends(month_starts)
    hold_days = np.where(product_term[prod] > 0, product_term[prod], rng.integers(90, 540, n))
    first = np.searchsorted(ends, day)
    last = np.searchsorted(ends, day + hold_days, side="right")
    counts = np.maximum(last - first, 0)
    row = expand(counts)
    month = first[row] + (np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts))
    elapsed = (ends[month] - day[row]) / 365.0
    value = np.round(amount[row] * (1 + 0.028 * elapsed)).astype(np.int64)
    key = cust[row] * 1000 + prod[row]
    holdings = (
        pa.table({"key": key, "month": month, "value": value})
        .group_by(["key", "month"])
        .aggregate([("value", "sum")])
    )
    hk = holdings["key"].to_numpy()
    hm = holdings["month"].to_numpy()
    hv = holdings["value_sum"].to_numpy()
    hc, hp = np.divmod(hk, 1000)
    holdings_table = pa.table(
        {
            "customer_id": p.customer_id.take(pa.array(hc)),
            "product_id": ids("P", hp, 4),
            "month_end_date": to_date32(ends[hm]),
            "value_fen": hv,
        }
    )
    held = np.zeros((p.n, len(ends)))
    np.add.at(held, (hc, hm), hv)
    return purchases, holdings_table, held


@dataclass
class Loans:
    """Loans of one chunk with their repayment schedule and performance."""

    loans: pa.Table
    repayments: pa.Table
    disbursed: tuple[np.ndarray, np.ndarray, np.ndarray]  # customer row, day, amount
    repaid: tuple[np.ndarray, np.ndarray, np.ndarray]  # customer row, day, amount


def build_loans(rng: np.random.Generator, p: People, first_day: int, end_day: int) -> Loans:
    """Farmers, chain members and owners borrow; whether instalments are paid follows credit quality."""
    chain = p.chain_stage != ""
    prob = (
        0.07 * (p.occupation == "farmer")
        + 0.18 * chain
        + 0.2 * p.is_merchant_owner
        + 0.03 * (p.occupation == "worker")
        + 0.01
    )
    borrower = np.flatnonzero(rng.random(p.n) < prob)
    n = len(borrower)
    kinds = np.where(
        chain[borrower] & np.isin(p.chain_stage[borrower], ["processing", "sales"]) & (rng.random(n) < 0.5),
        "chain_credit",
        np.where(
            p.occupation[borrower] == "farmer",
            "agri",
            np.where(
                p.is_merchant_owner[borrower],
                "business",
                np.where(rng.random(n) < 0.3, "mortgage", "consumer"),
            ),
        ),
    )
    term_m = np.select(
        [kinds == "agri", kinds == "chain_credit", kinds == "business", kinds == "mortgage"],
        [12, 12, 24, 120],
        12,
    )
    issue = np.maximum(rng.integers(first_day - 400, end_day - 20, n), p.onboard_day[borrower] + 30)
    principal = (
        np.round(
            np.select(
                [kinds == "agri", kinds == "chain_credit", kinds == "business", kinds == "mortgage"],
                [
                    rng.lognormal(np.log(5e6), 0.5, n),
                    rng.lognormal(np.log(2e7), 0.6, n),
                    rng.lognormal(np.log(3e7), 0.6, n),
                    rng.lognormal(np.log(4e7), 0.4, n),
                ],
                rng.lognormal(np.log(3e6), 0.5, n),
            )
            / 100
        )
        * 100
    )
    rate_bp = np.select([kinds == "mortgage", kinds == "chain_credit"], [380, 420], 520) + rng.integers(
        -60, 90, n
    )
    # Default: a month after which instalments stop; probability from credit quality.
    pd = 0.01 + 0.35 * (1 - p.credit_quality[borrower]) ** 3
    defaults = rng.random(n) < pd
    default_after = np.where(defaults, rng.integers(1, np.maximum(term_m, 2)), 10_000)
    counts = term_m
    row = expand(counts)
    k = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    due = issue[row] + np.round(k * 30.44).astype(np.int64)
    keep = due <= end_day
    row, k, due = row[keep], k[keep], due[keep]
    amount_due = np.round(
        principal[row] * (1 + rate_bp[row] / 10_000 * term_m[row] / 12) / term_m[row]
    ).astype(np.int64)
    paid = k < default_after[row]
    late = rng.integers(0, 4, len(row)) * (
        rng.random(len(row)) < 0.1 + 0.3 * (1 - p.credit_quality[borrower][row])
    )
    paid_day = np.where(paid, due + late, 0)
    paid &= paid_day <= end_day
    amount_paid = np.where(paid, amount_due, 0)
    loan_ids = ids(f"L{p.chunk:04d}", np.arange(n), 7)
    maturity = issue + np.round(term_m * 30.44).astype(np.int64)
    unpaid_due = np.where(~paid, due, 10**9)
    first_unpaid = np.full(n, 10**9)
    np.minimum.at(first_unpaid, row, unpaid_due)
    status = np.where(
        first_unpaid < end_day - 90,
        LoanStatus.DEFAULTED.value,
        np.where(
            first_unpaid <= end_day,
            LoanStatus.OVERDUE.value,
            np.where(maturity <= end_day, LoanStatus.REPAID.value, LoanStatus.CURRENT.value),
        ),
    )
    financed = np.isin(kinds, ["agri", "chain_credit"]) & chain[borrower]
    industry = [ind if f else None for ind, f in zip(p.chain_industry[borrower], financed, strict=True)]
    loans = pa.table(
        {
            "loan_id": loan_ids,
            "customer_id": p.customer_id.take(pa.array(borrower)),
            "outlet_id": ids("O", p.home_outlet[borrower], 5),
            "product": kinds,
            "purpose_industry": pa.array(industry, pa.string()),
            "principal_fen": principal.astype(np.int64),
            "annual_rate_bp": rate_bp.astype(np.int64),
            "issue_date": to_date32(issue),
            "maturity_date": to_date32(maturity),
            "status": status,
        }
    )
    repayments = pa.table(
        {
            "loan_id": loan_ids.take(pa.array(row)),
            "due_date": to_date32(due),
            "amount_due_fen": amount_due,
            "paid_date": pa.array(paid_day.astype(np.int32), mask=~paid).cast(pa.date32()),
            "amount_paid_fen": amount_paid.astype(np.int64),
        }
    )
    return Loans(
        loans,
        repayments,
        (borrower, issue, principal.astype(np.int64)),
        (borrower[row[paid]], paid_day[paid], amount_paid[paid].astype(np.int64)),
    )
