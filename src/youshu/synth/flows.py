"""Account transactions: payroll, pensions, chain flows, other banks' wealth platforms, bills, spending, cash.

Rates are per customer and month and come from the latents in ``People``; internal transfers are written on
both accounts (out on the payer, in on the payee) so the transfer graph is real.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from youshu.schema.enums import Channel, CounterpartyCategory, Industry
from youshu.synth.arrowutil import DAY_US, expand, month_ends, to_timestamp
from youshu.synth.banking import Accounts, activity_level
from youshu.synth.people import People

CHANNELS = [c.value for c in Channel]
CATEGORIES = [c.value for c in CounterpartyCategory]
INDUSTRIES = [i.value for i in Industry]
CP_PREFIXES = [
    "A",
    "EMP",
    "PEN",
    "SOC",
    "GOV",
    "BUY",
    "INP",
    "FRM",
    "DST",
    "ECM",
    "LOG",
    "OBW",
    "FND",
    "INS",
    "UTL",
    "TEL",
    "MCH",
    "ACQ",
    "EXT",
    "LND",
    "TAX",
]
_CH = {c: i for i, c in enumerate(CHANNELS)}
_CAT = {c: i for i, c in enumerate(CATEGORIES)}
_CP = {c: i for i, c in enumerate(CP_PREFIXES)}
# Harvest months (1-12) per industry: when buyers pay producers.
HARVEST = {
    "tea": (4, 5, 6),
    "walnut": (9, 10),
    "citrus": (11, 12, 1),
    "apple": (9, 10, 11),
    "kiwi": (9, 10),
    "chili": (8, 9),
    "mushroom": (10, 11, 12, 1, 2, 3),
    "rice": (9, 10),
    "honey": (6, 7, 8),
    "cattle": (11, 12, 1),
    "pig": tuple(range(1, 13)),
    "bamboo": (3, 4, 5),
}
_DAY_HOURS = np.array(
    [0, 0, 0, 0, 0, 0, 1, 3, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 7, 5, 3, 2, 1], dtype=float
)
_NIGHT_HOURS = np.array([6, 6, 5, 5, 4, 3, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 6], dtype=float)


class TxnBuilder:
    """Collects transaction rows as code arrays; ``table`` turns them into the canonical table once."""

    def __init__(self, rng: np.random.Generator, accounts: Accounts, chunk: int) -> None:
        self.rng = rng
        self.accounts = accounts
        self.chunk = chunk
        self.cols: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "acct",
                "ts",
                "dir",
                "amount",
                "channel",
                "category",
                "cp_prefix",
                "cp_num",
                "industry",
                "outlet",
            )
        }

    def add(
        self,
        acct: np.ndarray,
        day: np.ndarray,
        direction: str,
        amount: np.ndarray,
        channel: str | np.ndarray,
        category: str,
        *,
        cp_prefix: str | np.ndarray | None = None,
        cp_num: np.ndarray | int = 0,
        industry: np.ndarray | int = -1,
        outlet: np.ndarray | int = -1,
        seconds: np.ndarray | None = None,
    ) -> None:
        """Append rows; ``cp_prefix`` 'A' with ``cp_num`` a global account number marks an internal transfer."""
        n = len(acct)
        if n == 0:
            return
        if seconds is None:
            seconds = self.day_seconds(n)
        full = np.full
        self.cols["acct"].append(np.asarray(acct, dtype=np.int64))
        self.cols["ts"].append(np.asarray(day, dtype=np.int64) * DAY_US + seconds * 1_000_000)
        self.cols["dir"].append(full(n, 0 if direction == "in" else 1, dtype=np.int8))
        self.cols["amount"].append(np.maximum(np.round(amount), 1).astype(np.int64))
        ch = (
            full(n, _CH[channel], dtype=np.int8)
            if isinstance(channel, str)
            else np.array([_CH[c] for c in channel], dtype=np.int8)
            if channel.dtype.kind in "UO"
            else channel.astype(np.int8)
        )
        self.cols["channel"].append(ch)
        self.cols["category"].append(full(n, _CAT[category], dtype=np.int8))
        if cp_prefix is None:
            prefix = full(n, -1, dtype=np.int8)
        elif isinstance(cp_prefix, str):
            prefix = full(n, _CP[cp_prefix], dtype=np.int8)
        else:
            prefix = cp_prefix.astype(np.int8)
        self.cols["cp_prefix"].append(prefix)
        self.cols["cp_num"].append(np.broadcast_to(np.asarray(cp_num, dtype=np.int64), (n,)).copy())
        self.cols["industry"].append(np.broadcast_to(np.asarray(industry, dtype=np.int8), (n,)).copy())
        self.cols["outlet"].append(np.broadcast_to(np.asarray(outlet, dtype=np.int64), (n,)).copy())

    def day_seconds(self, n: int, night: bool = False) -> np.ndarray:
        """Seconds after midnight, following daytime (or night-heavy) banking hours."""
        w = _NIGHT_HOURS if night else _DAY_HOURS
        hour = self.rng.choice(24, size=n, p=w / w.sum())
        return hour * 3600 + self.rng.integers(0, 3600, n)

    def __len__(self) -> int:
        return sum(len(a) for a in self.cols["acct"])

    def table(self) -> pa.Table:
        """The ``transactions`` rows collected so far."""
        # Rows stay in generation order (grouped by kind of flow); engines do not need them sorted.
        c = {k: np.concatenate(v) if v else np.empty(0, dtype=np.int64) for k, v in self.cols.items()}
        n = len(c["acct"])
        a = self.accounts
        prefixes = pa.array(CP_PREFIXES)
        has_cp = c["cp_prefix"] >= 0
        prefix = pc.take(prefixes, pa.array(np.where(has_cp, c["cp_prefix"], 0)))
        digits = pc.utf8_lpad(pc.cast(pa.array(c["cp_num"]), pa.string()), 10, "0")
        cp_id = pc.if_else(
            pa.array(has_cp), pc.binary_join_element_wise(prefix, digits, ""), pa.scalar(None, pa.string())
        )
        internal = c["cp_prefix"] == _CP["A"]
        cp_acct = pc.if_else(pa.array(internal), cp_id, pa.scalar(None, pa.string()))
        industry = pc.take(
            pa.array(INDUSTRIES), pa.array(c["industry"].astype(np.int64), mask=c["industry"] < 0)
        )
        outlet_digits = pc.utf8_lpad(pc.cast(pa.array(c["outlet"]), pa.string()), 5, "0")
        outlet = pc.if_else(
            pa.array(c["outlet"] >= 0),
            pc.binary_join_element_wise("O", outlet_digits, ""),
            pa.scalar(None, pa.string()),
        )
        txn_digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), 10, "0")
        return pa.table(
            {
                "txn_id": pc.binary_join_element_wise(f"T{self.chunk:04d}", txn_digits, ""),
                "account_id": a.account_id.take(pa.array(c["acct"])),
                "txn_at": to_timestamp(c["ts"]),
                "direction": pc.take(pa.array(["in", "out"]), pa.array(c["dir"].astype(np.int64))),
                "amount_fen": c["amount"],
                "channel": pc.take(pa.array(CHANNELS), pa.array(c["channel"].astype(np.int64))),
                "counterparty_id": cp_id,
                "counterparty_account_id": cp_acct,
                "counterparty_category": pc.take(
                    pa.array(CATEGORIES), pa.array(c["category"].astype(np.int64))
                ),
                "counterparty_industry": industry,
                "outlet_id": outlet,
            }
        )


def monthly_events(
    rng: np.random.Generator, rate: np.ndarray, month_starts: np.ndarray, lo: np.ndarray, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events from a (customers x months) rate matrix; keeps days in [lo[customer], hi]."""
    counts = rng.poisson(np.clip(rate, 0, None)).ravel()
    cell = expand(counts)
    cust, month = np.divmod(cell, len(month_starts))
    days_in = month_ends(month_starts) - month_starts + 1
    day = month_starts[month] + rng.integers(0, days_in[month])
    keep = (day >= lo[cust]) & (day <= hi)
    return cust[keep], day[keep]


def _harvest_matrix(month_starts: np.ndarray) -> np.ndarray:
    """(industries x months) 1.0 in harvest months, else 0."""
    months = month_starts.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.array([[1.0 if m in HARVEST[ind] else 0.0 for m in months] for ind in INDUSTRIES])


def _channel_mix(
    rng: np.random.Generator, age: np.ndarray, options: list[str], young: list[float], old: list[float]
) -> np.ndarray:
    w = np.where((age < 50)[:, None], np.array(young), np.array(old))
    cum = np.cumsum(w, axis=1)
    pick = (cum < rng.random(len(age))[:, None] * cum[:, -1:]).sum(axis=1)
    return np.array([_CH[o] for o in options], dtype=np.int8)[pick]


def customer_flows(
    tx: TxnBuilder, p: People, a: Accounts, month_starts: np.ndarray, first_day: int, end_day: int
) -> dict[str, np.ndarray]:
    """Everyday and chain flows of one chunk. Returns main-bank flags used elsewhere (evaluation only)."""
    rng = tx.rng
    mid = month_starts + 15
    act = activity_level(p, mid)
    lo = np.maximum(p.onboard_day, first_day)
    main = a.main_of_customer
    main_number = a.number[main]
    income = p.wealth_fen * rng.uniform(0.02, 0.05, p.n)  # monthly income in fen, loosely tied to wealth
    n, m = p.n, len(month_starts)
    one = np.ones((n, m))

    def emit(
        rate: np.ndarray,
        direction: str,
        category: str,
        amount_of: Callable[[np.ndarray], np.ndarray],
        channel: str | Callable[[np.ndarray], np.ndarray],
        **kw: object,
    ) -> np.ndarray:
        cust, day = monthly_events(rng, rate, month_starts, lo, end_day)
        acct = main[cust]
        amount = amount_of(cust)
        ch = channel(cust) if callable(channel) else channel
        extra = {k: (v(cust) if callable(v) else v) for k, v in kw.items()}
        tx.add(acct, day, direction, amount, ch, category, **extra)  # type: ignore[arg-type]
        return cust

    # Main-bank signals: payroll, pension and bills paid here are more likely for intimate customers.
    salaried = np.isin(p.occupation, ["worker", "civil_servant", "teacher_doctor"])
    payroll_here = salaried & (rng.random(n) < 1 / (1 + np.exp(1.0 - 3.0 * p.intimacy)))
    pension_here = (p.occupation == "retiree") & (rng.random(n) < 1 / (1 + np.exp(0.3 - 3.2 * p.intimacy)))
    bills_here = rng.random(n) < 1 / (1 + np.exp(0.6 - 2.8 * p.intimacy))
    employer = p.county * 1000 + rng.integers(0, 40, n)
    emit(
        payroll_here[:, None] * one * np.minimum(act, 1.0),
        "in",
        "payroll",
        lambda c: income[c] * rng.uniform(0.95, 1.05, len(c)),
        "auto",
        cp_prefix="EMP",
        cp_num=lambda c: employer[c],
    )
    emit(
        pension_here[:, None] * one * np.minimum(act + 0.98, 1.0),
        "in",
        "pension",
        lambda c: np.maximum(income[c] * 0.6, 150_000) * rng.uniform(0.99, 1.01, len(c)),
        "auto",
        cp_prefix="PEN",
        cp_num=lambda c: p.county[c],
    )
    emit(
        0.08 * one * act,
        "in",
        "social_security",
        lambda c: rng.lognormal(np.log(40_000), 0.6, len(c)),
        "auto",
        cp_prefix="SOC",
        cp_num=lambda c: p.county[c],
    )
    farmer = (p.occupation == "farmer").astype(float)
    emit(
        farmer[:, None] * 0.33 * one * np.minimum(act + 0.5, 1.0),
        "in",
        "agri_subsidy",
        lambda c: rng.lognormal(np.log(60_000), 0.5, len(c)),
        "auto",
        cp_prefix="GOV",
        cp_num=lambda c: p.county[c],
    )
    emit(
        bills_here[:, None] * 0.9 * one * act,
        "out",
        "utility",
        lambda c: rng.lognormal(np.log(15_000), 0.5, len(c)),
        "auto",
        cp_prefix="UTL",
        cp_num=lambda c: p.county[c],
    )
    emit(
        bills_here[:, None] * 0.5 * one * act,
        "out",
        "telecom",
        lambda c: rng.lognormal(np.log(8_000), 0.4, len(c)),
        "auto",
        cp_prefix="TEL",
        cp_num=lambda c: c % 3,
    )

    # Wealth elsewhere: outflows to other banks' wealth platforms, funds and insurers reveal appetite.
    outside = p.wealth_affinity * (1 - p.bank_share)
    at_bank = p.wealth_fen * p.bank_share
    emit(
        (0.9 * outside)[:, None] * act,
        "out",
        "other_bank_wealth",
        lambda c: np.maximum(at_bank[c] * rng.uniform(0.05, 0.3, len(c)), 100_000).round(-4),
        lambda c: _channel_mix(rng, p.age[c], ["mobile", "online", "counter"], [6, 3, 1], [2, 1, 4]),
        cp_prefix="OBW",
        cp_num=lambda c: p.index[c] % 8,
    )
    emit(
        (0.35 * outside)[:, None] * act,
        "in",
        "other_bank_wealth",
        lambda c: np.maximum(at_bank[c] * rng.uniform(0.05, 0.3, len(c)), 100_000).round(-4),
        "mobile",
        cp_prefix="OBW",
        cp_num=lambda c: p.index[c] % 8,
    )
    emit(
        (0.35 * p.wealth_affinity * (p.age < 60))[:, None] * act,
        "out",
        "fund_securities",
        lambda c: rng.lognormal(np.log(500_000), 0.8, len(c)).round(-2),
        "mobile",
        cp_prefix="FND",
        cp_num=lambda c: p.index[c] % 12,
    )
    emit(
        (0.02 + 0.6 * p.insurance_propensity)[:, None] * act,
        "out",
        "insurer",
        lambda c: rng.lognormal(np.log(300_000), 0.6, len(c)).round(-2),
        "auto",
        cp_prefix="INS",
        cp_num=lambda c: p.index[c] % 6,
    )

    # Spending, person-to-person and cash.
    emit(
        (0.55 * p.activity)[:, None] * act,
        "out",
        "merchant",
        lambda c: rng.lognormal(np.log(8_000), 1.0, len(c)),
        lambda c: _channel_mix(rng, p.age[c], ["qr", "pos", "mobile"], [6, 2, 2], [3, 4, 1]),
        cp_prefix="MCH",
        cp_num=lambda c: rng.integers(0, 50_000, len(c)),
    )
    emit(
        (0.2 * p.activity)[:, None] * act,
        "in",
        "p2p",
        lambda c: rng.lognormal(np.log(60_000), 1.0, len(c)),
        "mobile",
        cp_prefix="EXT",
        cp_num=lambda c: _contacts(rng, p, c),
    )
    emit(
        (0.2 * p.activity)[:, None] * act,
        "out",
        "p2p",
        lambda c: rng.lognormal(np.log(60_000), 1.0, len(c)),
        "mobile",
        cp_prefix="EXT",
        cp_num=lambda c: _contacts(rng, p, c),
    )
    internal_p2p(tx, p, a, month_starts, lo, end_day, act)

    def cash_outlet(c: np.ndarray) -> np.ndarray:
        # Counter visits follow the Huff probabilities of the customer's nearby outlets.
        cum = np.cumsum(p.near_prob[c], axis=1)
        pick = (cum < rng.random(len(c))[:, None]).sum(axis=1).clip(0, cum.shape[1] - 1)
        return p.near_outlets[c, pick]

    cash_rate = (0.12 + 0.35 * (p.age > 55) + 0.2 * (p.occupation == "farmer"))[:, None] * act
    for direction in ("in", "out"):
        cust, day = monthly_events(rng, cash_rate, month_starts, lo, end_day)
        channel = np.where(rng.random(len(cust)) < 0.6, _CH["counter"], _CH["atm"]).astype(np.int8)
        tx.add(
            main[cust],
            day,
            direction,
            rng.lognormal(np.log(150_000), 0.9, len(cust)).round(-4),
            channel,
            "cash",
            outlet=cash_outlet(cust),
        )

    chain_flows(tx, p, a, month_starts, lo, end_day, act)
    business = p.is_business | p.is_merchant_owner
    emit(
        (business * 0.3)[:, None] * one * act,
        "out",
        "tax",
        lambda c: rng.lognormal(np.log(200_000), 0.7, len(c)),
        "online",
        cp_prefix="TAX",
        cp_num=lambda c: p.county[c],
    )
    payroll_payers(tx, p, a, month_starts, lo, end_day, main_number)
    return {"payroll_here": payroll_here, "pension_here": pension_here, "bills_here": bills_here}


def _contacts(rng: np.random.Generator, p: People, c: np.ndarray) -> np.ndarray:
    """Outside accounts people transfer with: each customer's own eight regular contacts."""
    return 200_000_000 + p.index[c] * 8 + rng.integers(0, 8, len(c))


def internal_p2p(
    tx: TxnBuilder,
    p: People,
    a: Accounts,
    month_starts: np.ndarray,
    lo: np.ndarray,
    end_day: int,
    act: np.ndarray,
) -> None:
    """Transfers between this bank's customers, written on both accounts (mostly within a county)."""
    rng = tx.rng
    cust, day = monthly_events(rng, (0.12 * p.activity)[:, None] * act, month_starts, lo, end_day)
    # Payee: another customer, usually of the same county (sorted order makes neighbours share counties).
    order = np.argsort(p.county, kind="stable")
    rank = np.empty(p.n, dtype=np.int64)
    rank[order] = np.arange(p.n)
    payee = order[np.clip(rank[cust] + rng.integers(-200, 200, len(cust)), 0, p.n - 1)]
    ok = (payee != cust) & (day >= lo[payee])
    cust, payee, day = cust[ok], payee[ok], day[ok]
    amount = rng.lognormal(np.log(50_000), 1.0, len(cust)).round(-2)
    secs = tx.day_seconds(len(cust))
    main = a.main_of_customer
    tx.add(
        main[cust],
        day,
        "out",
        amount,
        "mobile",
        "p2p",
        cp_prefix="A",
        cp_num=a.number[main[payee]],
        seconds=secs,
    )
    tx.add(
        main[payee],
        day,
        "in",
        amount,
        "mobile",
        "p2p",
        cp_prefix="A",
        cp_num=a.number[main[cust]],
        seconds=secs,
    )


def chain_flows(
    tx: TxnBuilder,
    p: People,
    a: Accounts,
    month_starts: np.ndarray,
    lo: np.ndarray,
    end_day: int,
    act: np.ndarray,
) -> None:
    """Industry-chain patterns by stage (production, processing, sales) plus noise from non-chain farmers."""
    rng = tx.rng
    harvest = _harvest_matrix(month_starts)
    pre = np.roll(harvest, -2, axis=1)  # inputs bought two months before harvest
    ind_code = np.array([INDUSTRIES.index(x) if x else -1 for x in p.chain_industry])
    main = a.main_of_customer
    stage = p.chain_stage
    act_c = np.minimum(act, 1.0)
    produce = stage == "production"
    process = stage == "processing"
    sell = stage == "sales"
    h = np.where(ind_code[:, None] >= 0, harvest[np.maximum(ind_code, 0)], 0.0)
    pr = np.where(ind_code[:, None] >= 0, pre[np.maximum(ind_code, 0)], 0.0)

    # Producers: buyers pay at harvest; some buyers are processors banking here (internal, both sides).
    cust, day = monthly_events(rng, produce[:, None] * (0.15 + 2.2 * h) * act_c, month_starts, lo, end_day)
    amount = rng.lognormal(np.log(800_000), 0.8, len(cust)).round(-2)
    industry = ind_code[cust]
    processors = np.flatnonzero(process)
    internal = np.zeros(len(cust), dtype=bool)
    payer = np.full(len(cust), -1)
    if len(processors):
        for code in np.unique(industry):
            same = processors[ind_code[processors] == code]
            if len(same) == 0:
                continue
            rows = np.flatnonzero((industry == code) & (rng.random(len(cust)) < 0.45))
            payer[rows] = rng.choice(same, size=len(rows))
            internal[rows] = True
    secs = tx.day_seconds(len(cust))
    ext = ~internal
    tx.add(
        main[cust[ext]],
        day[ext],
        "in",
        amount[ext],
        "auto",
        "agri_buyer",
        cp_prefix="BUY",
        cp_num=industry[ext] * 10_000 + p.county[cust[ext]] * 10 + rng.integers(0, 6, ext.sum()),
        industry=industry[ext],
        seconds=secs[ext],
    )
    pay_acct = a.business_of_customer[payer[internal]]
    tx.add(
        main[cust[internal]],
        day[internal],
        "in",
        amount[internal],
        "mobile",
        "agri_buyer",
        cp_prefix="A",
        cp_num=a.number[pay_acct],
        industry=industry[internal],
        seconds=secs[internal],
    )
    tx.add(
        pay_acct,
        day[internal],
        "out",
        amount[internal],
        "mobile",
        "farmer",
        cp_prefix="A",
        cp_num=a.number[main[cust[internal]]],
        industry=industry[internal],
        seconds=secs[internal],
    )
    # Producers buy farm inputs before the season.
    cust, day = monthly_events(rng, produce[:, None] * (0.2 + 1.3 * pr) * act_c, month_starts, lo, end_day)
    tx.add(
        main[cust],
        day,
        "out",
        rng.lognormal(np.log(150_000), 0.7, len(cust)).round(-2),
        "pos",
        "farm_input",
        cp_prefix="INP",
        cp_num=p.county[cust] * 10 + rng.integers(0, 5, len(cust)),
        industry=ind_code[cust],
    )

    # Processors: pay many farmers at harvest (external ones here), sell to distributors all year.
    biz = a.business_of_customer
    cust, day = monthly_events(rng, process[:, None] * (1.0 + 6.0 * h) * act_c, month_starts, lo, end_day)
    tx.add(
        biz[cust],
        day,
        "out",
        rng.lognormal(np.log(500_000), 0.8, len(cust)).round(-2),
        "mobile",
        "farmer",
        cp_prefix="FRM",
        cp_num=rng.integers(0, 10**6, len(cust)),
        industry=ind_code[cust],
    )
    cust, day = monthly_events(rng, process[:, None] * 2.2 * act_c, month_starts, lo, end_day)
    tx.add(
        biz[cust],
        day,
        "in",
        rng.lognormal(np.log(4_000_000), 0.7, len(cust)).round(-2),
        "online",
        "distributor",
        cp_prefix="DST",
        cp_num=ind_code[cust] * 100 + rng.integers(0, 30, len(cust)),
        industry=ind_code[cust],
    )

    # Sellers: many small e-commerce receipts, logistics payments.
    cust, day = monthly_events(rng, sell[:, None] * (12.0 + 6.0 * h) * act_c, month_starts, lo, end_day)
    tx.add(
        biz[cust],
        day,
        "in",
        rng.lognormal(np.log(15_000), 0.6, len(cust)).round(),
        "online",
        "ecommerce",
        cp_prefix="ECM",
        cp_num=rng.integers(0, 5, len(cust)),
    )
    cust, day = monthly_events(rng, sell[:, None] * 3.5 * act_c, month_starts, lo, end_day)
    tx.add(
        biz[cust],
        day,
        "out",
        rng.lognormal(np.log(40_000), 0.5, len(cust)).round(),
        "online",
        "logistics",
        cp_prefix="LOG",
        cp_num=rng.integers(0, 8, len(cust)),
    )
    # Also some e-commerce sellers who are not in any chain (look-alikes) and stray sales by other farmers.
    lookalike = (p.occupation == "other") & (p.age < 40) & (p.chain_stage == "") & (p.index % 17 == 0)
    cust, day = monthly_events(rng, lookalike[:, None] * 8.0 * act_c, month_starts, lo, end_day)
    tx.add(
        main[cust],
        day,
        "in",
        rng.lognormal(np.log(12_000), 0.6, len(cust)).round(),
        "online",
        "ecommerce",
        cp_prefix="ECM",
        cp_num=rng.integers(0, 5, len(cust)),
    )
    stray = (p.occupation == "farmer") & (p.chain_stage == "")
    cust, day = monthly_events(rng, stray[:, None] * 0.12 * act_c, month_starts, lo, end_day)
    tx.add(
        main[cust],
        day,
        "in",
        rng.lognormal(np.log(300_000), 0.8, len(cust)).round(-2),
        "auto",
        "agri_buyer",
        cp_prefix="BUY",
        cp_num=rng.integers(0, 10**5, len(cust)),
        industry=rng.integers(0, len(INDUSTRIES), len(cust)),
    )


def payroll_payers(
    tx: TxnBuilder,
    p: People,
    a: Accounts,
    month_starts: np.ndarray,
    lo: np.ndarray,
    end_day: int,
    main_number: np.ndarray,
) -> None:
    """Small firms pay wages to several employees banking here: a legitimate fan-out look-alike."""
    rng = tx.rng
    firms = np.flatnonzero(p.is_business & (rng.random(p.n) < 0.3))
    if len(firms) == 0:
        return
    workers = np.flatnonzero(p.occupation == "worker")
    if len(workers) < 5:
        return
    per_firm = rng.integers(4, 16, len(firms))
    firm = np.repeat(firms, per_firm)
    staff = rng.choice(workers, size=len(firm))
    m = len(month_starts)
    firm_m = np.repeat(firm, m)
    staff_m = np.repeat(staff, m)
    day = np.tile(month_starts + 9, len(firm))
    ok = (day >= lo[firm_m]) & (day >= lo[staff_m]) & (day <= end_day) & (firm_m != staff_m)
    firm_m, staff_m, day = firm_m[ok], staff_m[ok], day[ok]
    amount = rng.lognormal(np.log(450_000), 0.3, len(day)).round(-2)
    secs = 10 * 3600 + rng.integers(0, 600, len(day))
    payer = a.business_of_customer[firm_m]
    tx.add(
        payer, day, "out", amount, "auto", "payroll", cp_prefix="A", cp_num=main_number[staff_m], seconds=secs
    )
    tx.add(
        a.main_of_customer[staff_m],
        day,
        "in",
        amount,
        "auto",
        "payroll",
        cp_prefix="A",
        cp_num=a.number[payer],
        seconds=secs,
    )
