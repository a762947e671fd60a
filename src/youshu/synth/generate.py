"""Generate a synthetic province: canonical tables streamed in customer chunks, planted truth kept apart.

Every chunk of customers is generated from its own seeded random stream and written as one Parquet part per
table, so a 16M-customer province never needs the whole province in memory and reruns are deterministic.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa

from youshu import __version__
from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.schema.storage import TRUTH_DIR, write_part
from youshu.schema.tables import TABLES_BY_NAME
from youshu.synth import banking, flows, marketing, merchants, people, risk
from youshu.synth.arrowutil import month_starts
from youshu.synth.geography import Geography, build_geography

log = logging.getLogger(__name__)

CHUNK_SIZE = 25_000  # customers per chunk (~0.9 GB per worker); fixed so outputs do not depend on workers
MIN_CUSTOMERS, MAX_CUSTOMERS = 1_000, 16_000_000
TRUTH_LAG_DAYS = 92  # planted states are stated as of end_date - 92 days (the default as-of date)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SynthParams:
    """What defines a province: same parameters, same files."""

    customers: int
    seed: int
    start_date: date
    end_date: date
    activity_months: int = 18  # months of transactions and QR payments before end_date

    @property
    def first_day(self) -> int:
        return _day(self.start_date)

    @property
    def end_day(self) -> int:
        return _day(self.end_date)

    @property
    def truth_day(self) -> int:
        return self.end_day - TRUTH_LAG_DAYS

    @property
    def txn_first_day(self) -> int:
        months = month_starts(self.first_day, self.end_day)
        return int(max(months[max(0, len(months) - self.activity_months)], self.first_day))


@dataclass
class SynthResult:
    """Where the province was written and how big it is."""

    out: Path
    params: SynthParams
    rows: dict[str, int]
    seconds: float
    truth_as_of: date
    workers: int
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Shared:
    params: SynthParams
    geo: Geography
    product_category: np.ndarray
    product_term: np.ndarray
    campaigns: list[marketing.Campaign]


def _day(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def check_params(params: SynthParams) -> None:
    """Reject parameters that cannot make a sensible province, saying what would."""
    if not MIN_CUSTOMERS <= params.customers <= MAX_CUSTOMERS:
        raise YoushuError(
            f"--customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,}, got {params.customers:,}"
        )
    months = len(month_starts(params.first_day, params.end_day))
    if months < 15:
        raise YoushuError(
            f"the data window {params.start_date}..{params.end_date} spans {months} months; "
            "use at least 15 so features (12 months) and labels (90 days) both fit"
        )
    if not 6 <= params.activity_months <= months:
        raise YoushuError(f"activity_months must be between 6 and {months}, got {params.activity_months}")


def generate(
    out: Path,
    *,
    customers: int = 50_000,
    seed: int = 20261129,
    start_date: date = date(2024, 1, 1),
    end_date: date = date(2025, 12, 31),
    activity_months: int = 18,
    workers: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> SynthResult:
    """Write a synthetic province to ``out`` (atomically) and its planted truth to ``out/truth``.

    Parameters
    ----------
    out : Path
        Target folder; replaced only when generation succeeds.
    customers : int
        Number of customers, 1,000 to 16,000,000.
    seed : int
        Random seed; the same seed and parameters give identical files.
    start_date, end_date : date
        Data window (monthly balances cover all of it; transactions the last ``activity_months``).
    workers : int, optional
        Processes generating chunks in parallel (default: up to 2, the cores of the reference machine).
        Outputs do not depend on it.
    chunk_size : int
        Customers per chunk (memory per worker grows with it); part of what defines the output.
    progress : callable, optional
        Called as ``progress(step, done, total)``.

    Returns
    -------
    SynthResult

    Examples
    --------
    >>> generate(Path("data/warehouse"), customers=50_000, seed=7)  # doctest: +SKIP
    """
    params = SynthParams(customers, seed, start_date, end_date, activity_months)
    check_params(params)
    t0 = time.perf_counter()
    notify = progress or (lambda step, done, total: None)
    rng = np.random.default_rng([seed, 10**6])
    geo = build_geography(rng, customers, params.first_day)
    products, product_category, product_term = banking.products_table(rng, params.first_day)
    campaigns = marketing.default_campaigns(start_date, end_date)
    shared = _Shared(params, geo, product_category, product_term, campaigns)
    starts = list(range(0, customers, chunk_size))
    n_workers = max(1, min(workers or min(2, os.cpu_count() or 1), len(starts)))
    rows: dict[str, int] = {}
    treated: dict[str, int] = {}
    gain: dict[str, float] = {}
    with atomic_dir(Path(out)) as tmp:
        globals_ = {
            "counties": geo.counties,
            "outlets": geo.outlets,
            "products": products,
            "campaigns": marketing.campaigns_table(campaigns),
            "kpi_targets": marketing.kpi_targets(
                rng, geo.outlets, geo.outlet_attractiveness, customers, start_date, end_date
            ),
        }
        for name, table in globals_.items():
            write_part(tmp / name, 0, table, TABLES_BY_NAME[name])
            rows[name] = table.num_rows
        jobs = [(shared, i, s, min(chunk_size, customers - s), tmp) for i, s in enumerate(starts)]
        notify("customers", 0, customers)
        done = 0
        if n_workers == 1:
            results = map(_run_chunk, jobs)
            for stats in results:
                done = _merge(stats, rows, treated, gain, done, notify, customers)
        else:
            with ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) as pool:
                for stats in pool.map(_run_chunk, jobs):
                    done = _merge(stats, rows, treated, gain, done, notify, customers)
        _write_global_truth(tmp, shared, treated, gain)
        (tmp / TRUTH_DIR / "meta.json").write_text(
            json.dumps(
                {
                    "youshu_version": __version__,
                    "params": {k: str(v) for k, v in asdict(params).items()},
                    "truth_as_of_date": str(np.datetime64(params.truth_day, "D")),
                    "transactions_from": str(np.datetime64(params.txn_first_day, "D")),
                    "huff_lambda": geo.huff_lambda,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
    seconds = time.perf_counter() - t0
    log.info("synthetic province of %d customers written in %.1f s", customers, seconds)
    return SynthResult(
        Path(out),
        params,
        rows,
        seconds,
        date.fromordinal(date(1970, 1, 1).toordinal() + params.truth_day),
        n_workers,
    )


def _merge(
    stats: dict[str, object],
    rows: dict[str, int],
    treated: dict[str, int],
    gain: dict[str, float],
    done: int,
    notify: Progress,
    total: int,
) -> int:
    for k, v in stats["rows"].items():  # type: ignore[attr-defined]
        rows[k] = rows.get(k, 0) + int(v)
    for k, v in stats["treated"].items():  # type: ignore[attr-defined]
        treated[k] = treated.get(k, 0) + int(v)
    for k, v in stats["gain"].items():  # type: ignore[attr-defined]
        gain[k] = gain.get(k, 0.0) + float(v)
    done += int(stats["customers"])  # type: ignore[call-overload]
    notify("customers", done, total)
    return done


def _write_global_truth(tmp: Path, shared: _Shared, treated: dict[str, int], gain: dict[str, float]) -> None:
    geo = shared.geo
    truth = tmp / TRUTH_DIR
    spec_rows = [
        (geo.counties["county_id"][c].as_py(), ind, rank + 1)
        for c, inds in enumerate(geo.specialties)
        for rank, ind in enumerate(inds)
    ]
    write_part(
        truth / "county_specialties",
        0,
        pa.table(
            {
                "county_id": pa.array([r[0] for r in spec_rows], pa.string()),
                "industry": pa.array([r[1] for r in spec_rows], pa.string()),
                "rank": pa.array([r[2] for r in spec_rows], pa.int64()),
            }
        ),
    )
    write_part(
        truth / "outlets",
        0,
        pa.table(
            {
                "outlet_id": geo.outlets["outlet_id"],
                "huff_attractiveness": geo.outlet_attractiveness,
            }
        ),
    )
    write_part(
        truth / "campaign_effects",
        0,
        pa.table(
            {
                "campaign_id": [c.campaign_id for c in shared.campaigns],
                "treated_members": [treated.get(c.campaign_id, 0) for c in shared.campaigns],
                "true_uplift": [
                    gain.get(c.campaign_id, 0.0) / max(treated.get(c.campaign_id, 0), 1)
                    for c in shared.campaigns
                ],
            }
        ),
    )


def _run_chunk(job: tuple[_Shared, int, int, int, Path]) -> dict[str, object]:
    """Generate and write one chunk of customers with everything that hangs off them."""
    shared, chunk, start, n, out = job
    prm = shared.params
    rng = np.random.default_rng([prm.seed, chunk])
    bal_months = month_starts(prm.first_day, prm.end_day)
    txn_months = month_starts(prm.txn_first_day, prm.end_day)
    p, customers = people.build_people(rng, shared.geo, start, n, prm.truth_day, prm.first_day, chunk)
    accts = banking.build_accounts(rng, p, prm.end_day)
    tx = flows.TxnBuilder(rng, accts, chunk)
    flows.customer_flows(tx, p, accts, txn_months, prm.txn_first_day, prm.end_day)
    risky = risk.plant_risky_accounts(tx, p, accts, prm.txn_first_day, prm.end_day, chunk)
    merchant_tbl, acquiring, merchant_truth = merchants.build_merchants(
        rng, shared.geo, p, accts, tx, chunk, prm.txn_first_day, prm.end_day, bal_months
    )
    crm, wealth_contact = marketing.crm_contacts(rng, p, bal_months, prm.first_day, prm.end_day, chunk)
    camp = marketing.run_campaigns(
        rng, p, accts, shared.campaigns, merchant_tbl, bal_months, prm.end_day, chunk
    )
    purchases, holdings, _held = banking.purchases_and_holdings(
        rng,
        p,
        shared.product_category,
        shared.product_term,
        bal_months,
        wealth_contact | camp.promo_boost,
        prm.end_day,
    )
    loans = banking.build_loans(rng, p, prm.first_day, prm.end_day)
    for (who, day, amount), direction in ((loans.disbursed, "in"), (loans.repaid, "out")):
        keep = day >= prm.txn_first_day
        tx.add(
            accts.main_of_customer[who[keep]],
            day[keep],
            direction,
            amount[keep],
            "counter" if direction == "in" else "auto",
            "loan",
            cp_prefix="LND",
            cp_num=0,
        )
    tables = {
        "customers": customers,
        "accounts": banking.accounts_table(accts, p, prm.end_day, rng),
        "balances": banking.balances_table(rng, accts, p, bal_months),
        "transactions": tx.table(),
        "merchants": merchant_tbl,
        "acquiring_transactions": acquiring,
        "purchases": purchases,
        "holdings": holdings,
        "crm_contacts": crm,
        "campaign_members": camp.members,
        "coupons": camp.coupons,
        "redemptions": camp.redemptions,
        "referrals": camp.referrals,
        "loans": loans.loans,
        "loan_repayments": loans.repayments,
        # Its own stream, so the cases do not shift any other table.
        "risk_cases": risk.confirmed_cases(np.random.default_rng([prm.seed, chunk, 6]), risky, prm.end_day),
    }
    counts = {}
    for name, table in tables.items():
        write_part(out / name, chunk, table, TABLES_BY_NAME[name])
        counts[name] = table.num_rows
    truth = out / TRUTH_DIR
    write_part(truth / "customers", chunk, people.truth_table(p, prm.truth_day))
    write_part(truth / "risky_accounts", chunk, risky)
    write_part(truth / "merchants", chunk, merchant_truth)
    return {"rows": counts, "treated": camp.treated, "gain": camp.true_gain, "customers": n}
