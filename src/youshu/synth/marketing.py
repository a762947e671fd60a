"""CRM contacts, campaigns with randomized control groups (incl. the 1-yuan breakfast alliance), KPI targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from youshu.schema.enums import ContactChannel, ContactOutcome
from youshu.synth.arrowutil import DAY_US, ids, month_ends, to_date32, to_timestamp
from youshu.synth.banking import Accounts, activity_level
from youshu.synth.flows import monthly_events
from youshu.synth.people import People

# Acquired merchants with an owner banking here are about 0.3 / 80 per customer, signed evenly over ~1,450
# days: per quarter and customer.
MERCHANTS_SIGNED_PER_CUSTOMER_QUARTER = 0.3 / 80 * 91 / 1450


@dataclass(frozen=True)
class Campaign:
    """A planted campaign: who is eligible and how much the offer truly changes conversion."""

    campaign_id: str
    name: str
    campaign_type: str
    start: date
    end: date
    description: str
    control_share: float
    member_rate: float
    uplift: float  # planted increase in conversion probability for treated members (truth only)
    partner_category: str | None = None  # coupons redeemable at merchants of this category


def default_campaigns(first: date, end: date) -> list[Campaign]:
    """Campaigns placed inside the data window (dates move with the window's end year)."""
    y = end.year
    return [
        Campaign(
            "CMP001",
            "绑卡享1元早餐",
            "coupon",
            date(y, 3, 1),
            date(y, 5, 31),
            "绑定邮储银行卡到支付App, 即可在合作面馆享1元早餐 (bind a card, get a 1-yuan breakfast at a partner "
            "noodle shop)",
            0.2,
            0.25,
            0.06,
            "food",
        ),
        Campaign(
            "CMP002",
            "商户推荐开户有礼",
            "referral",
            date(y, 4, 1),
            date(y, 6, 30),
            "合作商户推荐新客开户, 新客获赠礼品 (partner merchants refer new customers)",
            0.2,
            0.15,
            0.02,
            "retail",
        ),
        Campaign(
            "CMP003",
            "理财节",
            "product_promotion",
            date(y - 1, 10, 1),
            date(y - 1, 11, 30),
            "理财产品专属收益加码 (wealth festival)",
            0.1,
            0.2,
            0.0,
        ),
        Campaign(
            "CMP004",
            "她保障·女性健康保险月",
            "product_promotion",
            date(y, 3, 1),
            date(y, 3, 31),
            "女性客户专属保险关爱 (insurance month for women)",
            0.1,
            0.3,
            0.0,
        ),
    ]


def campaigns_table(campaigns: list[Campaign]) -> pa.Table:
    """The ``campaigns`` table."""
    return pa.table(
        {
            "campaign_id": [c.campaign_id for c in campaigns],
            "campaign_name": [c.name for c in campaigns],
            "campaign_type": [c.campaign_type for c in campaigns],
            "start_date": pa.array([c.start for c in campaigns], pa.date32()),
            "end_date": pa.array([c.end for c in campaigns], pa.date32()),
            "outlet_id": pa.array([None] * len(campaigns), pa.string()),
            "description": [c.description for c in campaigns],
            "control_share": [c.control_share for c in campaigns],
        }
    )


def crm_contacts(
    rng: np.random.Generator, p: People, month_starts: np.ndarray, first_day: int, end_day: int, chunk: int
) -> tuple[pa.Table, np.ndarray]:
    """Staff contacts, targeted at wealthier and growing customers; returns the table and wealth contacts.

    The second value is a (customers x months) boolean of wealth-purpose contacts, which also raises the
    purchase rate: a deliberate confounder for propensity models.
    """
    act = np.minimum(activity_level(p, month_starts + 15), 1.0)
    z = (np.log(p.wealth_fen + 1) - 13.8) / 1.1
    lo = np.maximum(p.onboard_day, first_day)
    rates = {
        "wealth": (0.03 + 0.12 / (1 + np.exp(-1.5 * z)) + 0.05 * (p.stage == 1))[:, None] * act,
        "insurance": (0.02 + 0.05 * p.female)[:, None] * act,
        "loan": (0.01 + 0.06 * (p.occupation == "farmer") + 0.06 * (p.chain_stage != ""))[:, None] * act,
        "service": np.full((p.n, len(month_starts)), 0.04) * act,
    }
    cust_l, day_l, purpose_l = [], [], []
    wealth_contact = np.zeros((p.n, len(month_starts)), dtype=bool)
    for kind, rate in rates.items():
        cust, day = monthly_events(rng, rate, month_starts, lo, end_day)
        cust_l.append(cust)
        day_l.append(day)
        purpose_l.append(np.full(len(cust), kind))
        if kind == "wealth":
            month = np.searchsorted(month_starts, day, side="right") - 1
            wealth_contact[cust, month] = True
    cust = np.concatenate(cust_l)
    day = np.concatenate(day_l)
    purpose = np.concatenate(purpose_l)
    n = len(cust)
    channels = np.array([c.value for c in ContactChannel])
    outcomes = np.array([o.value for o in ContactOutcome])
    reach = 0.4 + 0.5 * p.intimacy[cust]
    u = rng.random(n)
    outcome = np.where(
        u > reach,
        0,
        np.where(rng.random(n) < 0.3 * p.intimacy[cust] + 0.1, 2, np.where(rng.random(n) < 0.5, 1, 3)),
    )
    outlet = p.home_outlet[cust]
    table = pa.table(
        {
            "contact_id": ids(f"K{chunk:04d}", np.arange(n), 8),
            "customer_id": p.customer_id.take(pa.array(cust)),
            "outlet_id": ids("O", outlet, 5),
            "staff_id": ids("S", outlet * 10 + rng.integers(0, 4, n), 7),
            "contact_at": to_timestamp(day * DAY_US + rng.integers(9 * 3600, 18 * 3600, n) * 1_000_000),
            "channel": channels[rng.choice(len(channels), size=n, p=[0.45, 0.15, 0.15, 0.15, 0.1])],
            "purpose": purpose,
            "outcome": outcomes[outcome],
        }
    )
    return table, wealth_contact


@dataclass
class CampaignRows:
    """Campaign tables of one chunk plus the planted effect actually realised in it."""

    members: pa.Table
    coupons: pa.Table
    redemptions: pa.Table
    referrals: pa.Table
    treated: dict[str, int]
    true_gain: dict[str, float]  # sum over treated members of the planted conversion uplift
    promo_boost: np.ndarray  # (customers x months) True where a treated promotion member is in the campaign


def run_campaigns(
    rng: np.random.Generator,
    p: People,
    a: Accounts,
    campaigns: list[Campaign],
    merchants: pa.Table,
    month_starts: np.ndarray,
    end_day: int,
    chunk: int,
) -> CampaignRows:
    """Assign members at random (treatment vs control), issue coupons, redemptions and conversions."""
    mid_cols: dict[str, list[Any]] = {"campaign_id": [], "customer": [], "is_control": [], "assigned": []}
    coupons: dict[str, list[Any]] = {
        "campaign_id": [],
        "customer": [],
        "merchant": [],
        "issued": [],
        "value": [],
    }
    red: dict[str, list[Any]] = {"coupon": [], "merchant": [], "at": []}
    ref: dict[str, list[Any]] = {"campaign_id": [], "customer": [], "merchant": [], "day": [], "outcome": []}
    treated: dict[str, int] = {}
    gain: dict[str, float] = {}
    promo = np.zeros((p.n, len(month_starts)), dtype=bool)
    m_cat = merchants["category"].to_numpy(zero_copy_only=False)
    m_acq = merchants["is_acquired"].to_numpy(zero_copy_only=False)
    m_county = np.array([int(c[3:]) for c in merchants["county_id"].to_pylist()])
    coupon_no = 0
    for camp in campaigns:
        start = int(np.datetime64(camp.start, "D").astype(np.int64))
        stop = int(np.datetime64(camp.end, "D").astype(np.int64))
        if start > end_day:
            continue
        eligible = p.onboard_day < start
        if camp.campaign_type == "coupon":
            eligible &= (p.age >= 18) & (p.age <= 50)
        if camp.campaign_id == "CMP004":
            eligible &= p.female & (p.age >= 25) & (p.age <= 55)
        member = np.flatnonzero(eligible & (rng.random(p.n) < camp.member_rate))
        control = rng.random(len(member)) < camp.control_share
        assigned = start - rng.integers(3, 10, len(member))
        mid_cols["campaign_id"] += [camp.campaign_id] * len(member)
        mid_cols["customer"].append(member)
        mid_cols["is_control"].append(control)
        mid_cols["assigned"].append(assigned)
        treat = member[~control]
        treated[camp.campaign_id] = len(treat)
        if camp.campaign_type == "product_promotion":
            months = (month_starts >= start - 27) & (month_starts <= stop)
            promo[np.ix_(treat, np.flatnonzero(months))] = True
            gain[camp.campaign_id] = 0.0
            continue
        partners = np.flatnonzero((m_cat == camp.partner_category) & m_acq)
        base = 0.02 + 0.04 * p.intimacy
        # Control members convert at the base rate (organic card binding / account opening).
        conv_c = member[control][rng.random(control.sum()) < base[member[control]]]
        redeemed = np.zeros(len(treat), dtype=bool)
        partner_of = np.full(len(treat), -1)
        if camp.campaign_type == "coupon" and len(partners):
            same = [partners[m_county[partners] == c] for c in p.county[treat]]
            partner_of = np.array(
                [
                    s[rng.integers(0, len(s))] if len(s) else partners[rng.integers(0, len(partners))]
                    for s in same
                ]
            )
            issued = start + rng.integers(0, 7, len(treat))
            coupons["campaign_id"] += [camp.campaign_id] * len(treat)
            coupons["customer"].append(treat)
            coupons["merchant"].append(partner_of)
            coupons["issued"].append(issued)
            coupons["value"].append(np.full(len(treat), 500))
            redeemed = rng.random(len(treat)) < 0.25 + 0.35 * p.intimacy[treat]
            r_day = np.minimum(issued + rng.integers(0, 30, len(treat)), stop)
            keep = redeemed & (r_day <= end_day)
            red["coupon"].append(coupon_no + np.flatnonzero(keep))
            red["merchant"].append(partner_of[keep])
            red["at"].append(r_day[keep] * DAY_US + rng.integers(6 * 3600, 10 * 3600, keep.sum()) * 1_000_000)
            coupon_no += len(treat)
        uplift = np.where(redeemed, camp.uplift * 1.6, camp.uplift * 0.4)
        p_treat = np.clip(base[treat] + uplift, 0, 1)
        gain[camp.campaign_id] = float(np.sum(p_treat - base[treat]))
        conv_t_mask = rng.random(len(treat)) < p_treat
        conv_t = treat[conv_t_mask]
        outcome = "card_bound" if camp.campaign_type == "coupon" else "new_account"
        for conv, merchant in (
            (conv_c, np.full(len(conv_c), -1)),
            (conv_t, partner_of[conv_t_mask] if len(partner_of) == len(treat) else np.full(len(conv_t), -1)),
        ):
            day = start + rng.integers(0, stop - start + 1, len(conv))
            ok = day <= end_day
            ref["campaign_id"] += [camp.campaign_id] * int(ok.sum())
            ref["customer"].append(conv[ok])
            ref["merchant"].append(merchant[ok])
            ref["day"].append(day[ok])
            ref["outcome"] += [outcome] * int(ok.sum())
            # Converted customers bring deposits that mostly stay (measured at 30/90 days by issue 4).
            ends = month_ends(month_starts)
            for c, d in zip(conv[ok], day[ok], strict=True):
                row = int(a.main_of_customer[c])
                add = np.where(ends >= d, rng.lognormal(np.log(300_000), 0.8), 0.0)
                a.extra_balance[row] = a.extra_balance.get(row, np.zeros(len(ends))) + add
    members = pa.table(
        {
            "campaign_id": mid_cols["campaign_id"],
            "customer_id": p.customer_id.take(pa.array(_cat(mid_cols["customer"]))),
            "is_control": _cat(mid_cols["is_control"], bool),
            "assigned_date": to_date32(_cat(mid_cols["assigned"])),
        }
    )
    coupon_merchant = _cat(coupons["merchant"])
    merchant_ids = merchants["merchant_id"]
    coupon_ids = ids(f"CP{chunk:04d}", np.arange(len(coupon_merchant)), 8)
    coupon_table = pa.table(
        {
            "coupon_id": coupon_ids,
            "campaign_id": pa.array(coupons["campaign_id"], pa.string()),
            "customer_id": p.customer_id.take(pa.array(_cat(coupons["customer"]))),
            "merchant_id": merchant_ids.take(
                pa.array(np.maximum(coupon_merchant, 0), mask=coupon_merchant < 0)
            ),
            "issued_date": to_date32(_cat(coupons["issued"])),
            "face_value_fen": _cat(coupons["value"]),
        }
    )
    red_coupon = _cat(red["coupon"])
    redemptions = pa.table(
        {
            "redemption_id": ids(f"R{chunk:04d}", np.arange(len(red_coupon)), 8),
            "coupon_id": coupon_ids.take(pa.array(red_coupon)),
            "merchant_id": merchant_ids.take(pa.array(_cat(red["merchant"]))),
            "redeemed_at": to_timestamp(_cat(red["at"])),
        }
    )
    ref_customer = _cat(ref["customer"])
    ref_merchant = _cat(ref["merchant"])
    referrals = pa.table(
        {
            "referral_id": ids(f"RF{chunk:04d}", np.arange(len(ref_customer)), 8),
            "campaign_id": pa.array(ref["campaign_id"], pa.string()),
            "customer_id": p.customer_id.take(pa.array(ref_customer)),
            "merchant_id": merchant_ids.take(pa.array(np.maximum(ref_merchant, 0), mask=ref_merchant < 0)),
            "referral_date": to_date32(_cat(ref["day"])),
            "outcome": pa.array(ref["outcome"], pa.string()),
            "account_id": a.account_id.take(pa.array(a.main_of_customer[ref_customer])),
        }
    )
    return CampaignRows(members, coupon_table, redemptions, referrals, treated, gain, promo)


def _cat(parts: list, dtype: type = np.int64) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


def kpi_targets(
    rng: np.random.Generator,
    outlets: pa.Table,
    attractiveness: np.ndarray,
    n_customers: int,
    first: date,
    end: date,
) -> pa.Table:
    """Quarterly targets per outlet, proportional to the outlet's expected size (with noise)."""
    share = attractiveness / attractiveness.sum()
    quarters = [
        date(y, m, 1)
        for y in range(first.year, end.year + 1)
        for m in (1, 4, 7, 10)
        if date(y, m, 1) >= first and date(y, m, 1) <= end
    ]
    rows: dict[str, list] = {
        "outlet_id": [],
        "period_start": [],
        "period_end": [],
        "metric": [],
        "target_value": [],
    }
    outlet_ids = outlets["outlet_id"].to_pylist()
    for q in quarters:
        q_end = date(q.year + (q.month == 10), (q.month + 3 - 1) % 12 + 1, 1)
        q_end = date.fromordinal(q_end.toordinal() - 1)
        base = share * n_customers
        # Targets sized to what the province actually does per customer and quarter (with +-20% ambition),
        # so progress reports land near 100% on average and outlets differ.
        noise = rng.uniform(0.8, 1.3, len(base))
        merchants = base * MERCHANTS_SIGNED_PER_CUSTOMER_QUARTER * noise
        metrics = {
            # stochastic rounding keeps the province total right although most outlets sign 0-1 a quarter
            "new_effective_merchants": np.floor(merchants + rng.random(len(base))),
            "assets_brought_in_fen": np.round(base * 40_000 * noise, -4),
            "new_customers": np.round(base * 0.035 * noise),
            "wealth_sales_fen": np.round(base * 350_000 * noise, -4),
        }
        for metric, values in metrics.items():
            rows["outlet_id"] += outlet_ids
            rows["period_start"] += [q] * len(outlet_ids)
            rows["period_end"] += [q_end] * len(outlet_ids)
            rows["metric"] += [metric] * len(outlet_ids)
            rows["target_value"] += [int(v) for v in values]
    return pa.table(
        {
            "outlet_id": rows["outlet_id"],
            "period_start": pa.array(rows["period_start"], pa.date32()),
            "period_end": pa.array(rows["period_end"], pa.date32()),
            "metric": rows["metric"],
            "target_value": pa.array(rows["target_value"], pa.int64()),
        }
    )
