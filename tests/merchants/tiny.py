"""A tiny hand-built warehouse where every alert, ledger count and KPI is known in advance.

Merchants (as of 2025-09-30; amounts in fen):

- M01 快出面馆 (O1): 10 QR payments of 10,000 a day, settled next day; 90% of each settlement leaves two days
  later -> quick outflow (FIFO share 29.4 / 30 = 0.98).
- M02 慢出超市 (O1): as M01 but 50% leaves ten days later -> share 3.5 / 30 (control, no alert).
- M03 骤降茶楼 (O2): 10 payments of 5,000 a day, 5 a day in the last 7 days -> volume drop 50%; VIP.
- M04 平稳便利店 (O2): steady 10 a day (control); VIP. M05 小降药店 (O2): drops to 7 a day, 30% (control).
- M06 沉睡诊所 (O3): last payment 2025-08-31 -> silent 30 days (a payment at midnight after the as-of date
  must not count). M07 (O3): last payment 2025-09-03, 27 days (control). M08 (O3): last payment
  2025-01-15, silent 258 days, beyond silent_max_days (control). M09 (O3): signed 2025-09-20, never paid,
  10 days (control). M10: signed after the as-of date. M11/M12/M13: new signings of Q3 for the KPIs.
- P01: a prospect.

Campaign G1 绑卡享1元早餐 (coupon, 2025-03-01..05-31): members K20..K39, control K20..K23. Coupons for K24..K31
at M01 and K32..K39 at M04; redemptions K24..K28 at M01, K32..K34 at M04 (K35's is after the as-of date).
Conversions (card_bound): treatment K24, K25 (after redeeming at M01), K29 (M01, no redemption), K32 (M04,
before redeeming), K36, K37 (M04); control K20.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from youshu.schema.storage import write_part
from youshu.schema.tables import TABLES_BY_NAME

AS_OF = date(2025, 9, 30)
OWNER_NAME = "王老板"
OWNER_PHONE = "13900001111"
MONTH_ENDS = [
    date(2025, 1, 31),
    date(2025, 2, 28),
    date(2025, 3, 31),
    date(2025, 4, 30),
    date(2025, 5, 31),
    date(2025, 6, 30),
    date(2025, 7, 31),
    date(2025, 8, 31),
    date(2025, 9, 30),
    date(2025, 10, 31),  # after the as-of date: must never be read
]
# merchant: (name, category, outlet, onboard date)
MERCHANTS = {
    "M01": ("快出面馆", "food", "O1", date(2024, 6, 1)),
    "M02": ("慢出超市", "retail", "O1", date(2024, 6, 1)),
    "M03": ("骤降茶楼", "leisure", "O2", date(2024, 3, 1)),
    "M04": ("平稳便利店", "retail", "O2", date(2024, 3, 1)),
    "M05": ("小降药店", "health", "O2", date(2024, 3, 1)),
    "M06": ("沉睡诊所", "health", "O3", date(2024, 5, 1)),
    "M07": ("近期收单", "daily_services", "O3", date(2024, 5, 1)),
    "M08": ("长期沉睡", "other", "O3", date(2024, 1, 10)),
    "M09": ("新签商户", "food", "O3", date(2025, 9, 20)),
    "M10": ("后签商户", "food", "O1", date(2025, 10, 5)),
    "M11": ("新签有效", "food", "O1", date(2025, 7, 10)),
    "M12": ("新签未达标", "retail", "O2", date(2025, 8, 1)),
    "M13": ("月末新签", "retail", "O1", date(2025, 9, 25)),
}
MEMBERS = [f"K{i}" for i in range(20, 40)]
CONTROL = {"K20", "K21", "K22", "K23"}
# referred customer: (merchant, date); K20 is in the control group
REFERRALS = {
    "K24": ("M01", date(2025, 3, 20)),
    "K25": ("M01", date(2025, 3, 21)),
    "K29": ("M01", date(2025, 4, 1)),
    "K32": ("M04", date(2025, 3, 5)),
    "K36": ("M04", date(2025, 4, 2)),
    "K37": ("M04", date(2025, 4, 3)),
    "K20": (None, date(2025, 4, 10)),
}


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour))


def home_outlet(customer: str) -> str:
    if customer.startswith("K0") or customer.startswith("K1"):
        return MERCHANTS["M" + customer[1:]][2]
    n = int(customer[1:])
    return "O1" if n < 30 else "O2"


def _qr_plan() -> dict[str, list[tuple[date, int, int]]]:
    """merchant -> (day, payments that day, amount each)."""
    june, end = date(2025, 6, 1), AS_OF
    recent = date(2025, 9, 24)
    plan: dict[str, list[tuple[date, int, int]]] = {m: [] for m in MERCHANTS}
    for m in ("M01", "M02"):
        plan[m] = [(d, 10, 10_000) for d in days(june, end)]
    plan["M03"] = [(d, 10 if d < recent else 5, 5_000) for d in days(june, end)]
    plan["M04"] = [(d, 10, 5_000) for d in days(june, end)]
    plan["M05"] = [(d, 10 if d < recent else 7, 5_000) for d in days(june, end)]
    plan["M06"] = [(d, 2, 3_000) for d in days(june, date(2025, 8, 31))]
    plan["M07"] = [(d, 1, 3_000) for d in days(date(2025, 8, 1), date(2025, 9, 3))]
    plan["M08"] = [(d, 1, 3_000) for d in days(date(2025, 1, 1), date(2025, 1, 15))]
    plan["M10"] = [(d, 3, 2_000) for d in days(date(2025, 10, 5), date(2025, 10, 10))]
    plan["M11"] = [(d, 1, 2_000) for d in days(date(2025, 7, 10), end)]
    m12 = [date(2025, 8, d) for d in (1, 5, 10, 20)] + [date(2025, 9, d) for d in (5, 15, 28)]
    plan["M12"] = [(d, 1, 2_000) for d in m12]  # 4 within 30 days of signing, 7 by the as-of date
    plan["M13"] = [(d, 1, 2_000) for d in days(date(2025, 9, 25), date(2025, 9, 29))]
    return plan


def _acquiring() -> list[dict[str, Any]]:
    rows = []
    for m, plan in _qr_plan().items():
        for d, n, amount in plan:
            for k in range(n):
                rows.append(
                    {
                        "acq_txn_id": f"Q{m}{d:%Y%m%d}{k:02d}",
                        "merchant_id": m,
                        "paid_at": at(d) + timedelta(minutes=k),
                        "amount_fen": amount,
                        "payment_method": "wechat",
                        "payer_customer_id": None,
                    }
                )
    # Midnight after the as-of date: not part of the as-of view (M06 stays silent).
    rows.append(
        {**rows[-1], "acq_txn_id": "QLATE", "merchant_id": "M06", "paid_at": at(AS_OF + timedelta(1), 0)}
    )
    return rows


def _txn(i: int, account: str, when: datetime, direction: str, amount: int, category: str) -> dict[str, Any]:
    return {
        "txn_id": f"T{i:06d}",
        "account_id": account,
        "txn_at": when,
        "direction": direction,
        "amount_fen": amount,
        "channel": "auto" if direction == "in" else "mobile",
        "counterparty_id": None,
        "counterparty_account_id": None,
        "counterparty_category": category,
        "counterparty_industry": None,
        "outlet_id": None,
    }


def settlement_rows() -> list[dict[str, Any]]:
    """Settlements of M01 (B01) and M02 (B02) and what leaves their accounts (some after the as-of date)."""
    rows: list[dict[str, Any]] = []
    plan = _qr_plan()
    for m, share, lag in (("M01", 0.9, 2), ("M02", 0.5, 10)):
        account = "B" + m[1:]
        for d, n, amount in plan[m]:
            credit_day = d + timedelta(days=1)
            rows.append(_txn(len(rows), account, at(credit_day, 2), "in", n * amount, "acquiring_settlement"))
            rows.append(
                _txn(
                    len(rows),
                    account,
                    at(credit_day + timedelta(lag), 10),
                    "out",
                    int(n * amount * share),
                    "p2p",
                )
            )
    return rows


def _balance(account: str, month_end: date) -> int:
    if month_end > AS_OF:
        return 10**12
    fixed = {"B01": 5_000_000, "B03": 15_000_000, "B04": 20_000_000}
    if account in fixed:
        return fixed[account]
    customer = "K" + account[1:]
    if customer in REFERRALS:
        _, day = REFERRALS[customer]
        k = int(customer[1:])
        if month_end >= day:
            # the referral month end holds part of the new money, later month ends all of it
            first_after = month_end.replace(day=1) <= day
            return 100_000 + (k * 10_000 if first_after else k * 20_000)
    if account == "A40":
        return {date(2025, 7, 31): 800_000, date(2025, 8, 31): 800_000, date(2025, 9, 30): 900_000}.get(
            month_end, 0
        )
    return 100_000


def _customers() -> list[dict[str, Any]]:
    ids = [f"K{m[1:]}" for m in MERCHANTS] + MEMBERS + ["K40", "K41"]
    rows = []
    for cid in ids:
        owner = cid[1] in "01"
        onboard = {"K40": date(2025, 7, 20), "K41": date(2025, 10, 2)}.get(cid, date(2020, 1, 1))
        rows.append(
            {
                "customer_id": cid,
                "customer_type": "business" if owner else "individual",
                "name": OWNER_NAME if owner else "李四",
                "id_card_no": "420102199001011234",
                "phone": OWNER_PHONE if owner else None,
                "gender": None if owner else "F",
                "birth_date": None if owner else date(1990, 1, 1),
                "occupation": "merchant_owner" if owner else "worker",
                "county_id": "C1",
                "home_outlet_id": home_outlet(cid) if cid not in ("K40", "K41") else "O2",
                "lat": 30.5,
                "lon": 114.3,
                "onboard_date": onboard,
            }
        )
    return rows


def _accounts() -> list[dict[str, Any]]:
    rows = []
    for c in _customers():
        cid = c["customer_id"]
        owner = c["customer_type"] == "business"
        rows.append(
            {
                "account_id": ("B" if owner else "A") + cid[1:],
                "customer_id": cid,
                "outlet_id": c["home_outlet_id"],
                "account_type": "business" if owner else "debit_card",
                "open_date": c["onboard_date"],
                "close_date": None,
                "status": "active",
            }
        )
    return rows


def _campaign_rows() -> dict[str, list[dict[str, Any]]]:
    camp = [
        ("G1", "绑卡享1元早餐", "coupon", date(2025, 3, 1), date(2025, 5, 31), 0.2),
        ("G2", "商户推荐开户有礼", "referral", date(2025, 10, 10), date(2025, 12, 31), 0.2),
        ("G3", "理财节", "product_promotion", date(2025, 7, 1), date(2025, 7, 31), 0.1),
    ]
    campaigns = [
        {
            "campaign_id": c,
            "campaign_name": name,
            "campaign_type": kind,
            "start_date": start,
            "end_date": end,
            "outlet_id": None,
            "description": "绑定邮储银行卡, 即可在合作面馆享1元早餐" if c == "G1" else name,
            "control_share": share,
        }
        for c, name, kind, start, end, share in camp
    ]
    members = [
        {
            "campaign_id": "G1",
            "customer_id": k,
            "is_control": k in CONTROL,
            "assigned_date": date(2025, 2, 25),
        }
        for k in MEMBERS
    ] + [
        {
            "campaign_id": "G3",
            "customer_id": k,
            "is_control": k in CONTROL,
            "assigned_date": date(2025, 6, 25),
        }
        for k in MEMBERS[:10]
    ]
    treat = [k for k in MEMBERS if k not in CONTROL]
    coupons = [
        {
            "coupon_id": f"CP{k}",
            "campaign_id": "G1",
            "customer_id": k,
            "merchant_id": "M01" if int(k[1:]) < 32 else "M04",
            "issued_date": date(2025, 3, 2),
            "face_value_fen": 500,
        }
        for k in treat
    ]
    redeemed = [("K24", "M01", 10), ("K25", "M01", 10), ("K26", "M01", 10), ("K27", "M01", 10)]
    redeemed += [("K28", "M01", 10), ("K32", "M04", 12), ("K33", "M04", 12), ("K34", "M04", 12)]
    redemptions = [
        {
            "redemption_id": f"R{k}",
            "coupon_id": f"CP{k}",
            "merchant_id": m,
            "redeemed_at": at(date(2025, 3, d), 8),
        }
        for k, m, d in redeemed
    ]
    redemptions.append(
        {
            "redemption_id": "RK35",
            "coupon_id": "CPK35",
            "merchant_id": "M04",
            "redeemed_at": at(date(2025, 10, 2)),
        }
    )
    referrals = [
        {
            "referral_id": f"RF{k}",
            "campaign_id": "G1",
            "customer_id": k,
            "merchant_id": m,
            "referral_date": d,
            "outcome": "card_bound",
            "account_id": "A" + k[1:],
        }
        for k, (m, d) in REFERRALS.items()
    ]
    return {
        "campaigns": campaigns,
        "campaign_members": members,
        "coupons": coupons,
        "redemptions": redemptions,
        "referrals": referrals,
    }


def _kpi_targets() -> list[dict[str, Any]]:
    targets = {
        "new_effective_merchants": {"O1": 2, "O2": 2, "O3": 1},
        "assets_brought_in_fen": {"O1": 1_000_000, "O2": 1_000_000, "O3": 1_000_000},
        "new_customers": {"O1": 1, "O2": 1, "O3": 1},
        "wealth_sales_fen": {"O1": 1_000_000, "O2": 1_000_000, "O3": 1_000_000},
    }
    return [
        {
            "outlet_id": o,
            "period_start": date(2025, 7, 1),
            "period_end": date(2025, 9, 30),
            "metric": metric,
            "target_value": v,
        }
        for metric, per in targets.items()
        for o, v in per.items()
    ]


def tiny_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows of every table the merchant operations read."""
    customers = _customers()
    accounts = _accounts()
    merchants = [
        {
            "merchant_id": m,
            "merchant_name": name,
            "category": cat,
            "specialty_industry": None,
            "county_id": {"O1": "C1", "O2": "C2", "O3": "C3"}[outlet],
            "lat": 30.5,
            "lon": 114.3,
            "is_acquired": True,
            "acquiring_outlet_id": outlet,
            "onboard_date": onboard,
            "owner_customer_id": "K" + m[1:],
            "settlement_account_id": "B" + m[1:],
            "status": "active",
        }
        for m, (name, cat, outlet, onboard) in MERCHANTS.items()
    ]
    merchants.append(
        {
            **merchants[0],
            "merchant_id": "P01",
            "merchant_name": "潜在早餐店",
            "is_acquired": False,
            "acquiring_outlet_id": None,
            "onboard_date": None,
            "owner_customer_id": None,
            "settlement_account_id": None,
        }
    )
    return {
        "counties": [
            {
                "county_id": c,
                "county_name": n,
                "city_name": city,
                "is_rural": True,
                "population": 1000,
                "lat": 30.5,
                "lon": 114.3,
            }
            for c, n, city in (("C1", "甲县", "甲市"), ("C2", "乙区", "甲市"), ("C3", "丙县", "乙市"))
        ],
        "outlets": [
            {
                "outlet_id": o,
                "outlet_name": name,
                "county_id": c,
                "sub_branch_id": sb,
                "outlet_type": "self_operated",
                "lat": 30.5,
                "lon": 114.3,
                "opened_date": date(2010, 1, 1),
            }
            for o, name, c, sb in (
                ("O1", "甲县营业所", "C1", "SB1"),
                ("O2", "乙区营业所", "C2", "SB1"),
                ("O3", "丙县营业所", "C3", "SB2"),
            )
        ],
        "customers": customers,
        "accounts": accounts,
        "balances": [
            {"account_id": a["account_id"], "month_end_date": me, "balance_fen": b, "avg_balance_fen": b}
            for a in accounts
            for me in MONTH_ENDS
            if me >= a["open_date"] and (b := _balance(a["account_id"], me)) >= 0
        ],
        "transactions": settlement_rows(),
        "merchants": merchants,
        "acquiring_transactions": _acquiring(),
        "products": [
            {
                "product_id": p,
                "product_name": n,
                "category": cat,
                "risk_level": "R2",
                "term_days": 90,
                "launch_date": date(2024, 1, 1),
            }
            for p, n, cat in (("PR1", "稳健理财", "wealth"), ("PR2", "定期存款", "time_deposit"))
        ],
        "purchases": [
            {
                "purchase_id": pid,
                "customer_id": c,
                "product_id": p,
                "purchase_date": d,
                "amount_fen": a,
                "channel": "counter",
                "outlet_id": o,
            }
            for pid, c, p, d, a, o in (
                ("PU1", "K21", "PR1", date(2025, 8, 10), 500_000, "O2"),
                ("PU2", "K22", "PR2", date(2025, 9, 1), 300_000, "O1"),
                ("PU3", "K21", "PR1", date(2025, 10, 3), 900_000, "O1"),
            )
        ],
        "holdings": [
            {"customer_id": "K21", "product_id": "PR1", "month_end_date": me, "value_fen": v}
            for me, v in ((date(2025, 8, 31), 500_000), (date(2025, 9, 30), 500_000))
        ],
        "kpi_targets": _kpi_targets(),
        **_campaign_rows(),
    }


def write_tiny_warehouse(root: Path) -> Path:
    """Write the tiny warehouse under ``root`` and return it."""
    for name, rows in tiny_rows().items():
        spec = TABLES_BY_NAME[name]
        table = pa.Table.from_pylist(rows, schema=spec.arrow_schema)
        write_part(root / name, 0, table, spec)
    return root
