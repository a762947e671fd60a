"""Planted risky accounts (money mules) with laundering typologies, hidden among legitimate look-alikes.

Typologies follow AMLSim's vocabulary: fan-in, fan-out, cycle, scatter-gather and pass-through. Legitimate
look-alikes (merchants' many small settlements, firms paying wages, people moving salary on payday) come from
the other generators.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from youshu.synth.arrowutil import to_date32
from youshu.synth.banking import Accounts
from youshu.synth.flows import TxnBuilder
from youshu.synth.people import People

TYPOLOGIES = ("fan_in", "fan_out", "cycle", "pass_through", "scatter_gather")
RISKY_RATE = (
    0.006  # share of customers whose main account turns mule; within the 0.1-2% range of real studies
)


class _Rows:
    """Collects (account, day, seconds, amount, counterparty) rows per (direction, category, prefix)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], list[tuple[int, int, int, float, int]]] = defaultdict(list)

    def add(self, key: tuple[str, str, str], acct: int, day: int, sec: int, amount: float, cp: int) -> None:
        self.rows[key].append((acct, day, sec, amount, cp))

    def flush(self, tx: TxnBuilder) -> None:
        for (direction, category, prefix), rows in self.rows.items():
            arr = np.array(rows, dtype=np.float64)
            tx.add(
                arr[:, 0].astype(np.int64),
                arr[:, 1].astype(np.int64),
                direction,
                arr[:, 3],
                "mobile" if category != "other_bank_wealth" else "online",
                category,
                cp_prefix=prefix,
                cp_num=arr[:, 4].astype(np.int64),
                seconds=arr[:, 2].astype(np.int64),
            )


def plant_risky_accounts(tx: TxnBuilder, p: People, a: Accounts, txn_first: int, end_day: int) -> pa.Table:
    """Turn a few customers' main accounts into mules and write their transactions; returns the truth table."""
    rng = tx.rng
    eligible = p.onboard_day < end_day - 60
    weight = eligible * (
        1
        + 2.0 * (p.age < 30)
        + 1.5 * (p.intimacy < 0.3)
        + 1.0 * np.isin(p.occupation, ["student", "other"])
        + 1.0 * (p.onboard_day > end_day - 500)
    )
    k = rng.binomial(p.n, RISKY_RATE)
    if k == 0 or weight.sum() == 0:
        return _truth([], a)
    chosen = rng.choice(p.n, size=min(k, int((weight > 0).sum())), replace=False, p=weight / weight.sum())
    typ = rng.choice(len(TYPOLOGIES), size=len(chosen), p=[0.25, 0.2, 0.15, 0.25, 0.15])
    main = a.main_of_customer
    number = a.number
    rows = _Rows()
    truth: list[tuple[int, str, int, int]] = []

    def window(c: int) -> tuple[int, int]:
        lo = max(int(p.onboard_day[c]) + 20, txn_first + 20)
        start = int(rng.integers(lo, end_day - 15)) if lo < end_day - 15 else end_day - 15
        return start, min(end_day, start + int(rng.integers(15, 60)))

    def night() -> int:
        return int(tx.day_seconds(1, night=True)[0])

    def amount() -> float:
        x = rng.uniform(50_000, 500_000)
        return round(x, -5) if rng.random() < 0.4 else round(x)

    def random_peer() -> int:
        return int(main[rng.integers(0, p.n)])

    for c, t in zip(chosen, typ, strict=True):
        name = TYPOLOGIES[t]
        if name in ("cycle", "scatter_gather"):
            continue  # group typologies are planted below
        acct = int(main[c])
        start, stop = window(c)
        truth.append((acct, name, start, stop))
        if name == "fan_in":
            total = 0.0
            for _ in range(int(rng.integers(15, 50))):
                day, sec, amt = int(rng.integers(start, stop + 1)), night(), amount()
                total += amt
                if rng.random() < 0.5:
                    peer = random_peer()
                    rows.add(("in", "p2p", "A"), acct, day, sec, amt, int(number[peer]))
                    rows.add(("out", "p2p", "A"), peer, day, sec, amt, int(number[acct]))
                else:
                    rows.add(("in", "p2p", "EXT"), acct, day, sec, amt, int(rng.integers(0, 10**7)))
            outs = max(1, (stop - start) // 3)
            for i in range(outs):
                rows.add(
                    ("out", "p2p", "EXT"),
                    acct,
                    min(stop, start + 3 * i + 2),
                    night(),
                    total * 0.98 / outs,
                    int(rng.integers(0, 3)) + 9_000_000,
                )
        elif name == "fan_out":
            total = 0.0
            for _ in range(int(rng.integers(2, 5))):
                amt = rng.uniform(2e6, 1e7)
                total += amt
                rows.add(
                    ("in", "p2p", "EXT"),
                    acct,
                    int(rng.integers(start, start + 5)),
                    night(),
                    amt,
                    int(rng.integers(0, 10**7)),
                )
            n_out = int(rng.integers(15, 50))
            for _ in range(n_out):
                day, sec, amt = int(rng.integers(start + 1, stop + 1)), night(), total * 0.97 / n_out
                if rng.random() < 0.5:
                    peer = random_peer()
                    rows.add(("out", "p2p", "A"), acct, day, sec, amt, int(number[peer]))
                    rows.add(("in", "p2p", "A"), peer, day, sec, amt, int(number[acct]))
                else:
                    rows.add(("out", "p2p", "EXT"), acct, day, sec, amt, int(rng.integers(0, 10**7)))
        else:  # pass_through: money in, nearly all of it out within hours, many times
            for _ in range(int(rng.integers(8, 25))):
                day = int(rng.integers(start, stop + 1))
                sec = int(rng.integers(0, 20 * 3600))
                amt = amount() * 2
                rows.add(("in", "p2p", "EXT"), acct, day, sec, amt, int(rng.integers(0, 10**7)))
                later = sec + int(rng.integers(600, 4 * 3600))
                rows.add(
                    ("out", "other_bank_wealth" if rng.random() < 0.2 else "p2p", "EXT"),
                    acct,
                    day + later // 86_400,
                    later % 86_400,
                    amt * rng.uniform(0.97, 0.995),
                    int(rng.integers(0, 10**7)),
                )

    # Group typologies: cycles of 3-5 accounts, and scatter-gather through 3-8 intermediaries.
    for name, size_range in (("cycle", (3, 6)), ("scatter_gather", (3, 9))):
        members = list(chosen[typ == TYPOLOGIES.index(name)])
        while len(members) >= size_range[0]:
            size = min(len(members), int(rng.integers(*size_range)))
            group, members = members[:size], members[size:]
            accts = [int(main[c]) for c in group]
            start, stop = window(group[0])
            for acct in accts:
                truth.append((acct, name, start, stop))
            for _ in range(int(rng.integers(3, 10))):
                day, sec = int(rng.integers(start, stop + 1)), night()
                amt = rng.uniform(1e6, 5e6)
                if name == "cycle":
                    for i, src in enumerate(accts):
                        dst = accts[(i + 1) % len(accts)]
                        hop_sec = sec + 1800 * i
                        d, s = day + hop_sec // 86_400, hop_sec % 86_400
                        rows.add(("out", "p2p", "A"), src, d, s, amt, int(number[dst]))
                        rows.add(("in", "p2p", "A"), dst, d, s, amt, int(number[src]))
                        amt *= rng.uniform(0.97, 0.995)
                else:
                    source, sink = int(rng.integers(0, 10**7)), 9_500_000 + int(rng.integers(0, 5))
                    for mid in accts:
                        part = amt / len(accts) * rng.uniform(0.8, 1.2)
                        rows.add(("in", "p2p", "EXT"), mid, day, sec, part, source)
                        rows.add(("out", "p2p", "EXT"), mid, day + 1, night(), part * 0.98, sink)
    rows.flush(tx)
    return _truth(truth, a)


def _truth(rows: list[tuple[int, str, int, int]], a: Accounts) -> pa.Table:
    if not rows:
        return pa.table(
            {
                "account_id": pa.array([], pa.string()),
                "typology": pa.array([], pa.string()),
                "active_from": pa.array([], pa.date32()),
                "active_to": pa.array([], pa.date32()),
            }
        )
    acct, typology, start, stop = zip(*rows, strict=True)
    return pa.table(
        {
            "account_id": a.account_id.take(pa.array(np.array(acct, dtype=np.int64))),
            "typology": list(typology),
            "active_from": to_date32(np.array(start)),
            "active_to": to_date32(np.array(stop)),
        }
    )
