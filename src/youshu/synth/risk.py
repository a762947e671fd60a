"""Planted risky accounts (money mules) with laundering typologies, hidden among legitimate look-alikes.

Typologies follow AMLSim's vocabulary: fan-in, fan-out, cycle, scatter-gather and pass-through. Most mules
work for a gang (a few per chunk of customers) whose collection and source accounts at other banks they
share; some work alone. Mules vary in intensity, night-time habit and amount rounding, and many accounts
opened during the data are used within days of opening, so no single feature separates them.

Legitimate look-alikes are planted next to them: group-buy organisers (团购团长, many small payments in,
weekly settlement to a county wholesaler), farm-produce middlemen (农产品经纪人, a big receipt paid on to
several farmers within hours), rotating savings circles (标会, monthly round amounts around a ring of
customers), night owls (late-night transfers and spending) and Spring Festival senders (a burst of red
packets to relatives). Merchants' settlements and firms paying wages come from the other generators.

Everything is vectorised per typology (no per-row Python, except one loop over savings circles), so
planting costs little next to the rest of a chunk. Outside accounts are numbered above the ordinary ones
(gangs from 10**9, wholesalers from 1.1 * 10**9, look-alikes' regular contacts from 2 * 10**9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from youshu.synth.arrowutil import expand, to_date32
from youshu.synth.banking import Accounts
from youshu.synth.flows import TxnBuilder
from youshu.synth.people import People

TYPOLOGIES = ("fan_in", "fan_out", "cycle", "pass_through", "scatter_gather")
TYPOLOGY_MIX = (0.25, 0.2, 0.15, 0.25, 0.15)
#: Share of customers whose main account turns mule at some point; within the 0.1-2% of real studies and high
#: enough that a 20k-customer province has a few hundred to evaluate on.
RISKY_RATE = 0.015
#: Share of mules not tied to a gang (no shared counterparties, so graph features cannot see them).
LONE_SHARE = 0.3
MULES_PER_GANG = 30
#: Share of customers planted as legitimate look-alikes of each kind.
LOOKALIKES = {
    "group_buy": 0.006,
    "middleman": 0.005,
    "rosca": 0.006,
    "night_owl": 0.008,
    "festival": 0.006,
}
#: Spring Festival (春节) days, as day numbers; festival senders transfer in the ten days before it.
SPRING_FESTIVALS = tuple(
    int(np.datetime64(d, "D").astype(np.int64)) for d in ("2024-02-10", "2025-01-29", "2026-02-17")
)
# External counterparty numbers above every ordinary one (those are < 10**7).
_GANG_BASE = 1_000_000_000  # + chunk * 1000 + gang * 4 + role (0 source, 1-2 collection accounts)
_WHOLESALER_BASE = 1_100_000_000  # + county * 10 + k
_REGULARS_BASE = 2_000_000_000  # + customer number * 64 + k: look-alikes' repeat counterparties
_DAY = 86_400


@dataclass
class _Ctx:
    tx: TxnBuilder
    p: People
    a: Accounts
    txn_first: int
    end_day: int

    @property
    def rng(self) -> np.random.Generator:
        return self.tx.rng

    def seconds(self, night_pref: np.ndarray) -> np.ndarray:
        """Seconds after midnight: night-heavy hours with probability ``night_pref`` per row, else daytime."""
        n = len(night_pref)
        night = self.tx.day_seconds(n, night=True)
        day = self.tx.day_seconds(n)
        return np.where(self.rng.random(n) < night_pref, night, day)

    def night_seconds(self, n: int) -> np.ndarray:
        """Seconds after midnight between 22:00 and 06:00."""
        return (22 * 3600 + self.rng.integers(0, 8 * 3600, n)) % _DAY

    def amounts(self, round_pref: np.ndarray, lo: float = 50_000, hi: float = 500_000) -> np.ndarray:
        """Amounts in fen, uniform in [lo, hi); with probability ``round_pref`` whole thousands of yuan."""
        x = self.rng.uniform(lo, hi, len(round_pref))
        whole = np.maximum(np.round(x, -5), 100_000)
        return np.where(self.rng.random(len(round_pref)) < round_pref, whole, np.round(x))

    def peers(self, customers: np.ndarray, near: bool = False) -> np.ndarray:
        """A random other customer of the chunk for each of ``customers`` (same county when ``near``)."""
        p = self.p
        if near:
            order = np.argsort(p.county, kind="stable")
            rank = np.empty(p.n, dtype=np.int64)
            rank[order] = np.arange(p.n)
            other = order[np.clip(rank[customers] + self.rng.integers(-150, 150, len(customers)), 0, p.n - 1)]
        else:
            other = self.rng.integers(0, p.n, len(customers))
        return np.where(other == customers, (other + 1) % p.n, other)

    def external(self, n: int) -> np.ndarray:
        """Outside accounts met once (victims, one-off payees)."""
        return self.rng.integers(0, 10**7, n)

    def regulars(self, cust: np.ndarray, k: int) -> np.ndarray:
        """Outside accounts each customer deals with again and again (a pool of ``k`` <= 64 per customer)."""
        return _REGULARS_BASE + self.p.index[cust] * 64 + self.rng.integers(0, k, len(cust))

    def emit(
        self,
        acct: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        direction: str,
        amount: np.ndarray,
        cp_num: np.ndarray,
        *,
        category: str = "p2p",
        prefix: str = "EXT",
    ) -> None:
        """Rows on our accounts with an outside (or given-prefix) counterparty; days past the data are dropped."""
        day, sec = _normalise(day, sec)
        ok = (day <= self.end_day) & (day >= self.txn_first)
        self.tx.add(
            acct[ok],
            day[ok],
            direction,
            amount[ok],
            "mobile",
            category,
            cp_prefix=prefix,
            cp_num=np.asarray(cp_num)[ok],
            seconds=sec[ok],
        )

    def transfer(
        self, src: np.ndarray, dst: np.ndarray, day: np.ndarray, sec: np.ndarray, amount: np.ndarray
    ) -> None:
        """Internal transfers between customers' main accounts, written on both sides."""
        day, sec = _normalise(day, sec)
        main = self.a.main_of_customer
        onboard = np.maximum(self.p.onboard_day[src], self.p.onboard_day[dst])
        ok = (day <= self.end_day) & (day >= np.maximum(onboard, self.txn_first)) & (src != dst)
        s, d = main[src[ok]], main[dst[ok]]
        number = self.a.number
        for acct, other, direction in ((s, d, "out"), (d, s, "in")):
            self.tx.add(
                acct,
                day[ok],
                direction,
                amount[ok],
                "mobile",
                "p2p",
                cp_prefix="A",
                cp_num=number[other],
                seconds=sec[ok],
            )

    def in_from(
        self,
        cust: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        amount: np.ndarray,
        internal: np.ndarray,
        ext: np.ndarray | None = None,
    ) -> None:
        """Money into ``cust``: from another customer where ``internal``, else from outside (``ext`` or new)."""
        self._move("in", cust, day, sec, amount, internal, ext)

    def out_to(
        self,
        cust: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        amount: np.ndarray,
        internal: np.ndarray,
        ext: np.ndarray | None = None,
    ) -> None:
        """Money out of ``cust``: to another customer where ``internal``, else to outside (``ext`` or new)."""
        self._move("out", cust, day, sec, amount, internal, ext)

    def _move(
        self,
        direction: str,
        cust: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        amount: np.ndarray,
        internal: np.ndarray,
        ext: np.ndarray | None,
    ) -> None:
        peers = self.peers(cust[internal])
        payer, payee = (peers, cust[internal]) if direction == "in" else (cust[internal], peers)
        self.transfer(payer, payee, day[internal], sec[internal], amount[internal])
        main = self.a.main_of_customer
        other = self.external(len(cust)) if ext is None else ext
        self.emit(
            main[cust[~internal]],
            day[~internal],
            sec[~internal],
            direction,
            amount[~internal],
            other[~internal],
        )


def _normalise(day: np.ndarray, sec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    day = np.asarray(day, dtype=np.int64) + np.asarray(sec, dtype=np.int64) // _DAY
    return day, np.asarray(sec, dtype=np.int64) % _DAY


def plant_risky_accounts(
    tx: TxnBuilder, p: People, a: Accounts, txn_first: int, end_day: int, chunk: int = 0
) -> pa.Table:
    """Turn a few customers' main accounts into mules, plant look-alikes, write their transactions.

    Returns the truth table (``account_id, typology, active_from, active_to``), one row per mule.
    """
    ctx = _Ctx(tx, p, a, txn_first, end_day)
    rng = ctx.rng
    chosen = _choose_mules(ctx)
    truth_rows: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []
    if len(chosen):
        typ = rng.choice(len(TYPOLOGIES), size=len(chosen), p=TYPOLOGY_MIX)
        start, stop = _windows(ctx, chosen)
        n_gangs = max(1, round(len(chosen) / MULES_PER_GANG))
        gang = np.where(rng.random(len(chosen)) < LONE_SHARE, -1, rng.integers(0, n_gangs, len(chosen)))
        m = _Mules(
            chosen, start, stop, gang, rng.uniform(0.25, 0.9, len(chosen)), rng.uniform(0, 0.6, len(chosen))
        )
        base = _GANG_BASE + chunk * 1000
        groups = {name: np.flatnonzero(typ == i) for i, name in enumerate(TYPOLOGIES)}
        # Group typologies need at least three members; leftovers work as pass-through mules.
        leftovers = []
        for name, lo, hi in (("cycle", 3, 7), ("scatter_gather", 3, 9)):
            sizes, rest = _group_sizes(rng, len(groups[name]), lo, hi)
            members = groups[name]
            leftovers.append(members[len(members) - rest :])
            groups[name] = members[: len(members) - rest]
            if len(groups[name]):
                start_g, stop_g = _group_windows(m, groups[name], sizes, end_day)
                m.start[groups[name]], m.stop[groups[name]] = start_g, stop_g
                (_cycles if name == "cycle" else _scatter_gather)(ctx, m, groups[name], sizes, base)
        groups["pass_through"] = np.concatenate([groups["pass_through"], *leftovers])
        _fan_in(ctx, m, groups["fan_in"], base)
        _fan_out(ctx, m, groups["fan_out"], base)
        _pass_through(ctx, m, groups["pass_through"], base)
        for name, rows in groups.items():
            truth_rows.append((chosen[rows], name, m.start[rows], m.stop[rows]))
    # Look-alikes are ordinary, active customers (dormant ones stay quiet).
    _plant_lookalikes(ctx, np.setdiff1d(np.flatnonzero(p.stage != 4), chosen))
    return _truth(truth_rows, a)


@dataclass
class _Mules:
    customer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    gang: np.ndarray  # -1 for lone mules
    night_pref: np.ndarray
    round_pref: np.ndarray


def _choose_mules(ctx: _Ctx) -> np.ndarray:
    p, rng, end_day = ctx.p, ctx.rng, ctx.end_day
    eligible = p.onboard_day < end_day - 60
    weight = eligible * (
        1
        + 2.0 * (p.age < 30)
        + 1.5 * (p.intimacy < 0.3)
        + 1.0 * np.isin(p.occupation, ["student", "other"])
        + 1.0 * (p.onboard_day > end_day - 500)
    )
    k = min(int(rng.binomial(p.n, RISKY_RATE)), int((weight > 0).sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(p.n, size=k, replace=False, p=weight / weight.sum()))


def _windows(ctx: _Ctx, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active windows of 20-90 days; mules opened during the data start soon after opening."""
    rng, end_day = ctx.rng, ctx.end_day
    onboard = ctx.p.onboard_day[chosen]
    lo = np.maximum(onboard + 20, ctx.txn_first + 20)
    start = lo + (rng.random(len(chosen)) * np.maximum(end_day - 15 - lo, 0)).astype(np.int64)
    fresh = (onboard >= ctx.txn_first) & (rng.random(len(chosen)) < 0.6)
    start = np.where(fresh, onboard + rng.integers(3, 20, len(chosen)), start)
    start = np.minimum(start, end_day - 15)
    return start, np.minimum(end_day, start + rng.integers(20, 91, len(chosen)))


def _group_sizes(rng: np.random.Generator, n: int, lo: int, hi: int) -> tuple[list[int], int]:
    """Sizes in [lo, hi) of consecutive groups out of ``n`` members, and how many are left over (< lo)."""
    sizes: list[int] = []
    left = n
    while left >= lo:
        size = min(left, int(rng.integers(lo, hi)))
        sizes.append(size)
        left -= size
    return sizes, left


def _group_windows(
    m: _Mules, rows: np.ndarray, sizes: list[int], end_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """One window per group: it starts when the last member could start, and lasts as long as the first's."""
    first = np.cumsum([0, *sizes[:-1]])
    group = np.repeat(np.arange(len(sizes)), sizes)
    start = np.minimum(np.maximum.reduceat(m.start[rows], first), end_day - 15)
    stop = np.minimum(start + m.stop[rows[first]] - m.start[rows[first]], end_day)
    return start[group], stop[group]


def _gang_account(base: int, gang: np.ndarray, role: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Shared outside accounts of a gang (role 0 source, 1-2 collection); lone mules use ``fallback``."""
    return np.where(gang >= 0, base + gang * 4 + role, fallback)


def _fan_in(ctx: _Ctx, m: _Mules, rows: np.ndarray, base: int) -> None:
    """Collection mules (收款卡): many payers in, the takings forwarded every few days to a collector."""
    if len(rows) == 0:
        return
    rng = ctx.rng
    n_in = rng.integers(8, 46, len(rows))
    r = expand(n_in)
    mule = rows[r]
    span = m.stop[mule] - m.start[mule] + 1
    day = m.start[mule] + (rng.random(len(r)) * span).astype(np.int64)
    amount = ctx.amounts(m.round_pref[mule])
    ctx.in_from(m.customer[mule], day, ctx.seconds(m.night_pref[mule]), amount, rng.random(len(r)) < 0.5)
    total = np.bincount(r, weights=amount, minlength=len(rows))
    n_out = np.maximum(1, (m.stop[rows] - m.start[rows]) // rng.integers(2, 5, len(rows)))
    o = expand(n_out)
    mule_o = rows[o]
    step = np.arange(len(o)) - np.repeat(np.cumsum(n_out) - n_out, n_out)
    gap = (m.stop[mule_o] - m.start[mule_o]) / n_out[o]
    out_day = m.start[mule_o] + ((step + 1) * gap).astype(np.int64)
    own = ctx.external(len(rows))
    sink = _gang_account(base, m.gang[mule_o], 1 + rng.integers(0, 2, len(o)), own[o])
    acct = ctx.a.main_of_customer[m.customer[mule_o]]
    ctx.emit(acct, out_day, ctx.seconds(m.night_pref[mule_o]), "out", total[o] * 0.98 / n_out[o], sink)


def _fan_out(ctx: _Ctx, m: _Mules, rows: np.ndarray, base: int) -> None:
    """Distribution mules (分发卡): a few large receipts split into many payments."""
    if len(rows) == 0:
        return
    rng = ctx.rng
    main = ctx.a.main_of_customer
    n_in = rng.integers(2, 6, len(rows))
    r = expand(n_in)
    mule = rows[r]
    amount = rng.uniform(2e6, 1e7, len(r))
    source = _gang_account(base, m.gang[mule], np.zeros(len(r), dtype=np.int64), ctx.external(len(r)))
    day = m.start[mule] + rng.integers(0, 5, len(r))
    ctx.emit(main[m.customer[mule]], day, ctx.seconds(m.night_pref[mule]), "in", amount, source)
    total = np.bincount(r, weights=amount, minlength=len(rows))
    n_out = rng.integers(10, 46, len(rows))
    o = expand(n_out)
    mule_o = rows[o]
    span = np.maximum(m.stop[mule_o] - m.start[mule_o], 1)
    out_day = m.start[mule_o] + 1 + (rng.random(len(o)) * span).astype(np.int64)
    out_amount = total[o] * 0.97 / n_out[o] * rng.uniform(0.8, 1.2, len(o))
    secs = ctx.seconds(m.night_pref[mule_o])
    ctx.out_to(m.customer[mule_o], out_day, secs, out_amount, rng.random(len(o)) < 0.4)


def _pass_through(ctx: _Ctx, m: _Mules, rows: np.ndarray, base: int) -> None:
    """Transit mules (过渡卡): money in and nearly all of it out again within hours, many times."""
    if len(rows) == 0:
        return
    rng = ctx.rng
    main = ctx.a.main_of_customer
    n = rng.integers(6, 26, len(rows))
    r = expand(n)
    mule = rows[r]
    span = m.stop[mule] - m.start[mule] + 1
    day = m.start[mule] + (rng.random(len(r)) * span).astype(np.int64)
    sec = rng.integers(0, 20 * 3600, len(r))
    night = rng.random(len(r)) < m.night_pref[mule]
    sec = np.where(night, (sec + 22 * 3600) % _DAY, sec)
    amount = ctx.amounts(m.round_pref[mule]) * 2
    gang = m.gang[mule]
    source = _gang_account(base, np.where(rng.random(len(r)) < 0.5, gang, -1), 0 * r, ctx.external(len(r)))
    acct = main[m.customer[mule]]
    ctx.emit(acct, day, sec, "in", amount, source)
    later = sec + rng.integers(600, 4 * 3600, len(r))
    sink = _gang_account(
        base,
        np.where(rng.random(len(r)) < 0.5, gang, -1),
        1 + rng.integers(0, 2, len(r)),
        ctx.external(len(r)),
    )
    wealth = rng.random(len(r)) < 0.2
    out_amount = amount * rng.uniform(0.97, 0.995, len(r))
    ctx.emit(acct[~wealth], day[~wealth], later[~wealth], "out", out_amount[~wealth], sink[~wealth])
    ctx.emit(
        acct[wealth],
        day[wealth],
        later[wealth],
        "out",
        out_amount[wealth],
        sink[wealth],
        category="other_bank_wealth",
    )


def _rounds(ctx: _Ctx, m: _Mules, rows: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, ...]:
    """Rounds of a group typology: (group of each round, first member row of it, day, second of the day)."""
    rng = ctx.rng
    first = np.cumsum([0, *sizes[:-1]])
    n_rounds = rng.integers(3, 11, len(sizes))
    g = expand(n_rounds)
    lead = rows[first[g]]
    span = m.stop[lead] - m.start[lead] + 1
    day = m.start[lead] + (rng.random(len(g)) * span).astype(np.int64)
    return g, lead, day, ctx.seconds(m.night_pref[lead])


def _cycles(ctx: _Ctx, m: _Mules, rows: np.ndarray, sizes: list[int], base: int) -> None:
    """Rings of 3-6 mules passing money round (each hop half an hour later, a little skimmed off)."""
    rng = ctx.rng
    first = np.cumsum([0, *sizes[:-1]])
    size = np.asarray(sizes)
    g, _lead, day, sec = _rounds(ctx, m, rows, sizes)
    amount = rng.uniform(1e6, 5e6, len(g))
    # One row per hop: round j, hop i of size[g[j]].
    h = expand(size[g])
    hop = np.arange(len(h)) - np.repeat(np.cumsum(size[g]) - size[g], size[g])
    grp = g[h]
    src = m.customer[rows[first[grp] + hop]]
    dst = m.customer[rows[first[grp] + (hop + 1) % size[grp]]]
    skim = rng.uniform(0.97, 0.995, len(h)) ** hop
    ctx.transfer(src, dst, day[h], sec[h] + 1800 * hop, amount[h] * skim)


def _scatter_gather(ctx: _Ctx, m: _Mules, rows: np.ndarray, sizes: list[int], base: int) -> None:
    """A source splits money over 3-8 mules who all pass it on to one collector the next night."""
    rng = ctx.rng
    main = ctx.a.main_of_customer
    first = np.cumsum([0, *sizes[:-1]])
    size = np.asarray(sizes)
    g, lead, day, sec = _rounds(ctx, m, rows, sizes)
    own_source, own_sink = ctx.external(len(sizes)), ctx.external(len(sizes))
    source = _gang_account(base, m.gang[lead], 0 * g, own_source[g])
    sink = _gang_account(base, m.gang[lead], 1 + rng.integers(0, 2, len(g)), own_sink[g])
    amount = rng.uniform(1e6, 5e6, len(g))
    h = expand(size[g])
    hop = np.arange(len(h)) - np.repeat(np.cumsum(size[g]) - size[g], size[g])
    mid = rows[first[g[h]] + hop]
    acct = main[m.customer[mid]]
    part = amount[h] / size[g[h]] * rng.uniform(0.8, 1.2, len(h))
    ctx.emit(acct, day[h], sec[h], "in", part, source[h])
    ctx.emit(acct, day[h] + 1, ctx.seconds(m.night_pref[mid]), "out", part * 0.98, sink[h])


# -- legitimate look-alikes -------------------------------------------------------------------------------


def _plant_lookalikes(ctx: _Ctx, pool: np.ndarray) -> None:
    rng = ctx.rng
    counts = rng.binomial(ctx.p.n, list(LOOKALIKES.values()))
    picked = rng.permutation(pool)[: int(counts.sum())]
    bounds = np.cumsum([0, *counts])
    who = {name: picked[bounds[i] : bounds[i + 1]] for i, name in enumerate(LOOKALIKES)}
    _group_buy(ctx, who["group_buy"])
    _middleman(ctx, who["middleman"])
    _rosca(ctx, who["rosca"])
    _night_owl(ctx, who["night_owl"])
    _festival(ctx, who["festival"])


def _months(ctx: _Ctx, cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer row, first day of month) for each month of the data each customer is a customer in."""
    first = np.maximum(ctx.p.onboard_day[cust], ctx.txn_first)
    n = np.maximum((ctx.end_day - first) // 30, 0)
    r = expand(n)
    step = np.arange(len(r)) - np.repeat(np.cumsum(n) - n, n)
    return r, first[r] + 30 * step


def _group_buy(ctx: _Ctx, cust: np.ndarray) -> None:
    """Group-buy organisers: 10-35 small payments a month from neighbours, settled weekly to a wholesaler."""
    if len(cust) == 0:
        return
    rng = ctx.rng
    r, month = _months(ctx, cust)
    n = rng.integers(10, 36, len(r))
    e = expand(n)
    who = cust[r[e]]
    day = month[e] + rng.integers(0, 30, len(e))
    amount = rng.lognormal(np.log(8_000), 0.6, len(e)).round()
    evening = np.full(len(e), 0.15)
    ctx.in_from(who, day, ctx.seconds(evening), amount, rng.random(len(e)) < 0.3, ctx.regulars(who, 40))
    total = np.bincount(r[e], weights=amount, minlength=len(r))
    w = expand(np.full(len(r), 4))
    wholesaler = _WHOLESALER_BASE + ctx.p.county[cust[r[w]]] * 10 + rng.integers(0, 3, len(w))
    main = ctx.a.main_of_customer
    day_w = month[w] + 7 * (np.arange(len(w)) % 4) + 6
    ctx.emit(main[cust[r[w]]], day_w, ctx.tx.day_seconds(len(w)), "out", total[w] * 0.92 / 4, wholesaler)


def _middleman(ctx: _Ctx, cust: np.ndarray) -> None:
    """Farm-produce middlemen: a buyer's payment passed on to 3-8 farmers within a few hours."""
    if len(cust) == 0:
        return
    rng = ctx.rng
    r, month = _months(ctx, cust)
    n = rng.integers(1, 5, len(r))
    d = expand(n)
    who = cust[r[d]]
    day = month[d] + rng.integers(0, 30, len(d))
    sec = rng.integers(8 * 3600, 15 * 3600, len(d))
    amount = rng.lognormal(np.log(2_000_000), 0.6, len(d)).round(-2)
    main = ctx.a.main_of_customer
    ctx.emit(main[who], day, sec, "in", amount, ctx.regulars(who, 5))
    k = rng.integers(3, 9, len(d))
    f = expand(k)
    share = amount[f] * 0.95 / k[f] * rng.uniform(0.7, 1.3, len(f))
    later = sec[f] + rng.integers(1800, 5 * 3600, len(f))
    farmers = ctx.regulars(who[f], 30) + 5  # 5-34: not the buyers
    ctx.out_to(who[f], day[f], later, np.round(share, -2), rng.random(len(f)) < 0.3, farmers)


def _rosca(ctx: _Ctx, cust: np.ndarray) -> None:
    """Rotating savings circles (标会): each month every member pays a round sum to that month's recipient."""
    if len(cust) < 4:
        return
    rng = ctx.rng
    cust = cust[np.argsort(ctx.p.county[cust], kind="stable")]  # circles form among neighbours
    sizes, rest = _group_sizes(rng, len(cust), 4, 11)
    cust = cust[: len(cust) - rest]
    first = np.cumsum([0, *sizes[:-1]])
    start = max(ctx.txn_first, int(ctx.p.onboard_day[cust].max()))
    months = np.arange(start, ctx.end_day - 5, 30)
    stake = rng.integers(1, 6, len(sizes)) * 100_000  # 1,000-5,000 yuan
    for g, size in enumerate(sizes):
        members = cust[first[g] : first[g] + size]
        m = np.repeat(np.arange(len(months)), size)
        payer = np.tile(members, len(months))
        recipient = members[m % size]
        keep = payer != recipient
        day = months[m[keep]] + 4
        ctx.transfer(
            payer[keep],
            recipient[keep],
            day,
            ctx.tx.day_seconds(int(keep.sum())),
            np.full(keep.sum(), stake[g]),
        )


def _night_owl(ctx: _Ctx, cust: np.ndarray) -> None:
    """Night owls: 8-30 late-night transfers and purchases a month, ordinary amounts."""
    if len(cust) == 0:
        return
    rng = ctx.rng
    r, month = _months(ctx, cust)
    n = rng.integers(8, 31, len(r))
    e = expand(n)
    who = cust[r[e]]
    day = month[e] + rng.integers(0, 30, len(e))
    sec = np.where(rng.random(len(e)) < 0.8, ctx.night_seconds(len(e)), ctx.tx.day_seconds(len(e)))
    amount = rng.lognormal(np.log(20_000), 1.0, len(e)).round()
    direction = rng.random(len(e))
    spend = direction < 0.5
    main = ctx.a.main_of_customer
    ctx.emit(
        main[who[spend]],
        day[spend],
        sec[spend],
        "out",
        amount[spend],
        rng.integers(0, 50_000, int(spend.sum())),
        category="merchant",
        prefix="MCH",
    )
    out = direction >= 0.75
    friends = ctx.regulars(who, 8)
    ctx.out_to(who[out], day[out], sec[out], amount[out], rng.random(int(out.sum())) < 0.3, friends[out])
    came = (direction >= 0.5) & ~out
    ctx.in_from(
        who[came], day[came], sec[came], amount[came], rng.random(int(came.sum())) < 0.3, friends[came]
    )


def _festival(ctx: _Ctx, cust: np.ndarray) -> None:
    """Spring Festival senders: a year's wages in, then 8-25 red packets to relatives in ten days."""
    rng = ctx.rng
    for festival in SPRING_FESTIVALS:
        if not ctx.txn_first + 15 <= festival <= ctx.end_day:
            continue
        who = cust[ctx.p.onboard_day[cust] < festival - 30]
        if len(who) == 0:
            continue
        main = ctx.a.main_of_customer
        wage = rng.lognormal(np.log(4_000_000), 0.5, len(who)).round(-2)
        arrive = festival - rng.integers(10, 16, len(who))
        ctx.emit(main[who], arrive, ctx.tx.day_seconds(len(who)), "in", wage, ctx.external(len(who)))
        n = rng.integers(8, 26, len(who))
        e = expand(n)
        day = festival - rng.integers(0, 10, len(e))
        packet = rng.choice([20_000, 50_000, 66_600, 88_800, 100_000, 200_000], size=len(e))
        ctx.out_to(
            who[e], day, ctx.seconds(np.full(len(e), 0.2)), packet.astype(float), rng.random(len(e)) < 0.5
        )


def _truth(rows: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]], a: Accounts) -> pa.Table:
    cust = np.concatenate([r[0] for r in rows]) if rows else np.empty(0, dtype=np.int64)
    typology = [name for c, name, _, _ in rows for _ in range(len(c))]
    start = np.concatenate([r[2] for r in rows]) if rows else np.empty(0, dtype=np.int64)
    stop = np.concatenate([r[3] for r in rows]) if rows else np.empty(0, dtype=np.int64)
    order = np.argsort(cust, kind="stable")
    return pa.table(
        {
            "account_id": a.account_id.take(pa.array(a.main_of_customer[cust[order]].astype(np.int64))),
            "typology": pa.array([typology[i] for i in order], pa.string()),
            "active_from": to_date32(start[order]),
            "active_to": to_date32(stop[order]),
        }
    )


#: Share of mules the bank eventually learns of (police notices and its own investigations).
CONFIRMED_SHARE = 0.6
#: Days from the end of a mule's activity to the notice: at least this many, plus an exponential delay.
REPORT_MIN_LAG_DAYS, REPORT_MEAN_EXTRA_LAG_DAYS = 10, 45
#: Share of confirmed cases that come from police notices (the rest from internal investigations).
POLICE_SHARE = 0.7


def confirmed_cases(rng: np.random.Generator, risky: pa.Table, end_day: int) -> pa.Table:
    """The cases the bank has been told of by the end of the data: ``risk_cases`` (observed, not truth).

    Only some mules are ever confirmed, and each weeks after its activity ended, so a model trained on these
    cases learns from a partial, late view of the truth, as at a bank.
    """
    n = risky.num_rows
    chosen = rng.random(n) < CONFIRMED_SHARE
    lag = REPORT_MIN_LAG_DAYS + rng.exponential(REPORT_MEAN_EXTRA_LAG_DAYS, n).astype(np.int64)
    police = rng.random(n) < POLICE_SHARE
    active_to = risky.column("active_to").cast(pa.int32()).to_numpy().astype(np.int64)
    reported = active_to + lag
    keep = np.flatnonzero(chosen & (reported <= end_day))
    return pa.table(
        {
            "account_id": risky.column("account_id").take(pa.array(keep)),
            "reported_on": to_date32(reported[keep]),
            "active_from": risky.column("active_from").take(pa.array(keep)),
            "active_to": risky.column("active_to").take(pa.array(keep)),
            "source": pa.array(
                np.where(police[keep], "police_notice", "investigation").tolist(), pa.string()
            ),
        }
    )
