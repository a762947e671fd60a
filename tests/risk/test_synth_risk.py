"""The generator plants mules of every typology at a realistic rate, in gangs, among legitimate look-alikes.

Generator tests may read the truth folder; model and feature code never do.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from youshu.schema.storage import parquet_files
from youshu.synth.risk import RISKY_RATE, TYPOLOGIES


def _sql(warehouse: Path, query: str) -> pd.DataFrame:
    con = duckdb.connect()
    for name in ("transactions", "accounts", "customers"):
        files = ", ".join(f"'{f}'" for f in parquet_files(warehouse / name))
        con.execute(f"create view {name} as select * from read_parquet([{files}])")
    con.execute(
        f"create view risky as select * from read_parquet('{warehouse}/truth/risky_accounts/*.parquet')"
    )
    return con.execute(query).df()


def test_every_typology_is_planted_at_a_realistic_rate(risk_province: Path, cases: pd.DataFrame) -> None:
    customers = _sql(risk_province, "select count(*) n from customers")["n"][0]
    assert set(cases["typology"]) == set(TYPOLOGIES)
    assert cases["account_id"].is_unique
    assert 0.001 <= len(cases) / customers <= 0.02
    # Enough to evaluate on: at 10k customers over a hundred, so a 20-50k province holds a few hundred.
    assert len(cases) >= 100
    assert abs(len(cases) / customers - RISKY_RATE) < 0.005


def test_mules_transact_inside_their_active_window(risk_province: Path) -> None:
    rows = _sql(
        risk_province,
        """
        select r.account_id, r.typology,
               count(*) filter (where x.txn_at >= r.active_from and x.txn_at < r.active_to + 1) inside,
               count(*) filter (where x.txn_at >= r.active_from - 60 and x.txn_at < r.active_from) earlier
        from risky r join transactions x using (account_id) group by all""",
    )
    # Activity in the window is far denser than in the two months before it.
    days = 60
    assert (rows["inside"] > 0).all()
    assert rows["inside"].sum() > 3 * rows["earlier"].sum() * 55 / days


def test_cycle_mules_pass_money_round_a_ring_of_accounts_here(risk_province: Path) -> None:
    ring = _sql(
        risk_province,
        """
        select x.account_id, x.counterparty_account_id from transactions x
        join risky r using (account_id)
        join risky s on s.account_id = x.counterparty_account_id
        where r.typology = 'cycle' and s.typology = 'cycle' and x.direction = 'out'
          and x.txn_at between r.active_from and r.active_to + 2""",
    )
    cycle_mules = _sql(risk_province, "select account_id from risky where typology = 'cycle'")
    assert set(ring["account_id"]) == set(cycle_mules["account_id"])  # each pays another ring member


def test_gang_mules_share_their_collection_accounts(risk_province: Path) -> None:
    shared = _sql(
        risk_province,
        """
        select x.counterparty_id, count(distinct x.account_id) mules from transactions x
        join risky r using (account_id)
        where x.direction = 'out' and x.counterparty_id like 'EXT1%' and length(x.counterparty_id) = 13
        group by 1 having count(distinct x.account_id) >= 3""",
    )
    assert len(shared) >= 2


def test_legitimate_look_alikes_are_there_and_not_labelled(risk_province: Path) -> None:
    night = _sql(
        risk_province,
        """
        select account_id, count(*) n, avg(case when hour(txn_at) >= 22 or hour(txn_at) < 6 then 1 else 0 end) night_share
        from transactions where account_id not in (select account_id from risky)
        group by 1 having count(*) >= 30 and night_share >= 0.3""",
    )
    collectors = _sql(
        risk_province,
        """
        select counterparty_id, count(distinct account_id) payers from transactions
        where direction = 'out' and counterparty_id like 'EXT11%'
        group by 1 having count(distinct account_id) >= 1""",
    )
    rosca = _sql(
        risk_province,
        """
        select count(*) n from transactions
        where direction = 'out' and counterparty_account_id is not null and amount_fen % 100000 = 0
          and account_id not in (select account_id from risky)""",
    )
    assert len(night) >= 20  # night owls
    assert len(collectors) >= 10  # group-buy organisers settling with wholesalers
    assert rosca["n"][0] >= 100  # savings circles paying round sums around
