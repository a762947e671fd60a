"""Merchants (acquired and prospect POIs), their QR payments, settlements and how long settled funds stay."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.spatial import cKDTree

from youshu.schema.enums import MerchantCategory, PaymentMethod
from youshu.synth.arrowutil import DAY_US, expand, ids, month_ends, to_timestamp
from youshu.synth.banking import Accounts
from youshu.synth.flows import INDUSTRIES, TxnBuilder
from youshu.synth.geography import KM_PER_DEG_LAT, Geography
from youshu.synth.people import People

CATEGORIES = [c.value for c in MerchantCategory]
_CAT_WEIGHT = np.array([0.06, 0.3, 0.18, 0.2, 0.07, 0.05, 0.04, 0.03, 0.04, 0.03])
_DAILY = np.array([6, 12, 5, 8, 3, 4, 1.5, 3, 3, 2], dtype=float)  # payments per day when fully on our QR
_TICKET = np.array([12_000, 3_500, 5_000, 6_000, 15_000, 9_000, 30_000, 4_000, 8_000, 5_000], dtype=float)
_SHOP_WORD = [
    "特产行",
    "面馆",
    "便民服务部",
    "超市",
    "农资店",
    "诊所",
    "培训中心",
    "客运站",
    "茶楼",
    "杂货铺",
]
CUSTOMERS_PER_MERCHANT = 80


def build_merchants(
    rng: np.random.Generator,
    geo: Geography,
    p: People,
    a: Accounts,
    tx: TxnBuilder,
    chunk: int,
    txn_first: int,
    end_day: int,
    balance_month_starts: np.ndarray,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Merchants of one chunk; writes settlement flows into ``tx`` and retained funds into account balances.

    Returns the ``merchants`` and ``acquiring_transactions`` tables and the merchant truth table.
    """
    n = max(1, p.n // CUSTOMERS_PER_MERCHANT)
    county = rng.choice(len(geo.county_weight), size=n, p=geo.county_weight)
    towns = [np.flatnonzero(geo.town_county == c) for c in county]
    town = np.array([t[0] if rng.random() < 0.45 else t[rng.integers(0, len(t))] for t in towns])
    spread = np.where(geo.county_rural[county], 1.8, 1.0) / KM_PER_DEG_LAT
    lat = np.round(geo.town_lat[town] + rng.normal(0, spread), 6)
    lon = np.round(geo.town_lon[town] + rng.normal(0, spread / np.cos(np.radians(30))), 6)
    category = rng.choice(len(CATEGORIES), size=n, p=_CAT_WEIGHT / _CAT_WEIGHT.sum())
    specialty = np.full(n, None, dtype=object)
    for i in np.flatnonzero(np.isin(category, [0, 4])):
        spec = geo.specialties[county[i]]
        specialty[i] = (
            spec[0] if spec and rng.random() < 0.8 else INDUSTRIES[rng.integers(0, len(INDUSTRIES))]
        )

    cos = np.cos(np.radians(29.0))
    tree = cKDTree(np.c_[geo.outlet_lat * KM_PER_DEG_LAT, geo.outlet_lon * KM_PER_DEG_LAT * cos])
    dist, near = tree.query(
        np.c_[lat * KM_PER_DEG_LAT, lon * KM_PER_DEG_LAT * cos], k=min(2, len(geo.outlet_lat))
    )
    near = np.atleast_2d(near.T).T if near.ndim == 1 else near
    dist = dist if dist.ndim == 2 else dist[:, None]
    acquired = rng.random(n) < np.clip(0.6 - 0.05 * dist[:, 0], 0.15, 0.6)
    acq_outlet = np.where(rng.random(n) < 0.8, near[:, 0], near[:, -1])
    onboard = rng.integers(txn_first - 900, end_day - 10, n)

    # Owners: merchant-owner customers of this chunk, preferably of the same county.
    owners = np.flatnonzero(p.is_merchant_owner)
    owner = np.full(n, -1)
    if len(owners):
        by_county = {c: owners[p.county[owners] == c] for c in np.unique(county)}
        for i in np.flatnonzero(acquired | (rng.random(n) < 0.2)):
            pool = by_county.get(county[i])
            pool = pool if pool is not None and len(pool) else owners
            owner[i] = pool[rng.integers(0, len(pool))]
    acquired &= owner >= 0
    settle_acct = np.where(owner >= 0, a.business_of_customer[np.maximum(owner, 0)], -1)
    settle_acct = np.where(acquired, settle_acct, -1)

    # Latents: how much of the takings run through our QR code, how long settled funds stay, churn, growth.
    qr_share = rng.beta(2.0, 2.2, n)
    retention = rng.beta(2.0, 2.0, n)
    growth = np.where(rng.random(n) < 0.15, rng.uniform(0.03, 0.08, n), 0.0)
    churn_day = np.where(rng.random(n) < 0.18, rng.integers(txn_first + 60, end_day + 240, n), 10**9)
    churn_day = np.maximum(churn_day, onboard + 45)
    status = np.where(churn_day <= end_day - 30, "closed", "active")

    acq = np.flatnonzero(acquired)
    days = np.arange(txn_first, end_day + 1)
    weekday = 1.0 + 0.25 * (((days + 3) % 7) >= 5)  # 1970-01-01 was a Thursday
    intensity = (_DAILY[category[acq]] * qr_share[acq])[:, None] * weekday[None, :]
    months_in = (days[None, :] - np.maximum(onboard[acq], txn_first)[:, None]) / 30.44
    intensity = intensity * np.exp(growth[acq][:, None] * np.clip(months_in, 0, None))
    fading = np.clip((churn_day[acq][:, None] - days[None, :]) / 60.0, 0, 1)  # volume fades before churn
    intensity = intensity * fading * (days[None, :] >= onboard[acq][:, None])
    counts = rng.poisson(intensity)
    cell = expand(counts.ravel())
    mi, di = np.divmod(cell, len(days))
    merchant = acq[mi]
    pay_day = days[di]
    amount = np.maximum(np.round(rng.lognormal(np.log(_TICKET[category[merchant]]), 0.7)), 100).astype(
        np.int64
    )
    seconds = rng.integers(7 * 3600, 22 * 3600, len(cell))
    method = rng.choice(len(PaymentMethod), size=len(cell), p=[0.2, 0.45, 0.3, 0.05])
    payer_known = rng.random(len(cell)) < 0.25
    payer = rng.integers(0, p.n, len(cell))
    merchant_ids = ids(f"M{chunk:04d}", np.arange(n), 6)
    methods = np.array([m.value for m in PaymentMethod])
    acquiring = pa.table(
        {
            "acq_txn_id": ids(f"Q{chunk:04d}", np.arange(len(cell)), 10),
            "merchant_id": merchant_ids.take(pa.array(merchant)),
            "paid_at": to_timestamp(pay_day * DAY_US + seconds * 1_000_000),
            "amount_fen": amount,
            "payment_method": methods[method],
            "payer_customer_id": p.customer_id.take(pa.array(payer, mask=~payer_known)),
        }
    )

    # Settlement T+1 into the settlement account; the unretained share leaves within a few days.
    daily = np.zeros((len(acq), len(days)))
    np.add.at(daily, (mi, di), amount)
    m_idx, d_idx = np.nonzero(daily)
    settle_day = days[d_idx] + 1
    ok = settle_day <= end_day
    m_idx, d_idx, settle_day = m_idx[ok], d_idx[ok], settle_day[ok]
    s_amount = daily[m_idx, d_idx]
    acct_rows = settle_acct[acq[m_idx]]
    tx.add(acct_rows, settle_day, "in", s_amount, "auto", "acquiring_settlement", cp_prefix="ACQ", cp_num=0)
    lag = 1 + np.round((retention[acq[m_idx]]) * 8).astype(np.int64)
    out_amt = s_amount * (1 - retention[acq[m_idx]]) * rng.uniform(0.9, 1.0, len(m_idx))
    out_day = settle_day + lag
    go = (out_day <= end_day) & (out_amt >= 100)
    tx.add(
        acct_rows[go],
        out_day[go],
        "out",
        out_amt[go],
        "mobile",
        "p2p",
        cp_prefix="EXT",
        cp_num=8_000_000 + acq[m_idx][go] % 1000,
    )
    # Retained funds raise the settlement account's month-end balances (decaying as they are spent).
    ends = month_ends(balance_month_starts)
    kept = daily * retention[acq][:, None]
    age = ends[None, :] - days[:, None]  # days x months
    weights = np.where(age >= 0, np.exp(-np.clip(age, 0, None) / 90.0), 0.0)
    retained = kept @ weights  # acquired merchants x months
    for j, m in enumerate(acq):
        row = int(settle_acct[m])
        a.extra_balance[row] = a.extra_balance.get(row, np.zeros(len(ends))) + retained[j]

    names = [
        f"{p_.split('商行')[0][:1]}记{_SHOP_WORD[c]}"
        for p_, c in zip(
            rng.choice(["王", "李", "张", "刘", "陈", "杨", "老", "小", "阿", "新"], n), category, strict=True
        )
    ]
    merchants = pa.table(
        {
            "merchant_id": merchant_ids,
            "merchant_name": names,
            "category": np.array(CATEGORIES)[category],
            "specialty_industry": pa.array(list(specialty), pa.string()),
            "county_id": [f"CTY{c:03d}" for c in county],
            "lat": lat,
            "lon": lon,
            "is_acquired": acquired,
            "acquiring_outlet_id": pc.if_else(
                pa.array(acquired), ids("O", acq_outlet, 5), pa.scalar(None, pa.string())
            ),
            "onboard_date": pa.array(onboard.astype(np.int32), mask=~acquired).cast(pa.date32()),
            "owner_customer_id": p.customer_id.take(pa.array(np.maximum(owner, 0), mask=owner < 0)),
            "settlement_account_id": a.account_id.take(
                pa.array(np.maximum(settle_acct, 0), mask=settle_acct < 0)
            ),
            "status": status,
        }
    )
    truth = pa.table(
        {
            "merchant_id": merchant_ids,
            "qr_share": np.round(qr_share, 4),
            "retention_30d": np.round(retention, 4),
            "monthly_growth": np.round(growth, 4),
            "churn_date": pa.array(
                np.minimum(churn_day, 2**31 - 1).astype(np.int32), mask=churn_day >= 10**9
            ).cast(pa.date32()),
        }
    )
    return merchants, acquiring, truth
