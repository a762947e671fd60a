"""A hand-built warehouse whose catalogue and chain members are known in advance (as of 2025-09-30).

Counties A 甲县 and B 乙县; amounts in fen.

Catalogue (industry-tagged transactions, merchants, loans):

- A tea: buyer receipts 30,000 on 2025-05-10 (last 180 days) and 10,000 on 2025-01-10 (the 180 before) ->
  growth 2.0, peak month 5 with 75%; 1 tea merchant; a tea loan of 10,000 with 4 instalments due in the
  window, 3 paid on time, 1 unpaid.
- A walnut: 10,000 on 2025-09-01. B tea: 10,000 on 2025-06-01.
- B walnut: 40,000 on 2025-08-01; 3 walnut merchants; a walnut loan of 10,000, 2 instalments both on time.
- Balances and holdings: a1 holds 100,000 on its account and 50,000 in products at 2025-09-30.
- Ignored: A walnut 999,999 on 2025-10-05 (after the as-of date) and 777,777 on 2024-09-01 (before the window);
  a merchant signed 2025-11-01.

Chains (county C 丙县, its specialty made tea by a tea merchant):

- P1 producer: 3 tea buyer receipts of 50,000, 2 farm-input payments of 8,000 -> production, tea.
- Q1 processor: pays 5 different farmers 20,000 (tea-tagged), 3 distributor receipts of 300,000 -> processing.
- S1 seller: 40 e-commerce receipts of 1,500 and 4 logistics payments of 400, untagged -> sales, tea (county).
- L1 look-alike: 60 e-commerce receipts of 1,200, no logistics -> not a member.
- F1 stray farmer: one walnut buyer receipt of 30,000 -> not a member.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from youshu.schema.storage import write_part
from youshu.schema.tables import TABLES_BY_NAME

AS_OF = date(2025, 9, 30)
OPEN = date(2020, 1, 1)


def _write(warehouse: Path, name: str, rows: list[dict[str, Any]]) -> None:
    spec = TABLES_BY_NAME[name]
    columns = {c: [r.get(c) for r in rows] for c in spec.column_names}
    write_part(warehouse / name, 0, pa.table(columns, schema=spec.arrow_schema), spec)


def _customer(cid: str, county: str, occupation: str = "farmer") -> dict[str, Any]:
    return {
        "customer_id": cid,
        "customer_type": "individual",
        "name": f"客户{cid}",
        "id_card_no": "110101199001011234",
        "occupation": occupation,
        "county_id": county,
        "home_outlet_id": "O1",
        "lat": 30.0,
        "lon": 110.0,
        "onboard_date": OPEN,
    }


def build(warehouse: Path, *, chains: bool = False) -> Path:
    """Write the tiny warehouse (with county C and its chain customers when ``chains``) and return it."""
    counties = [("A", "甲县"), ("B", "乙县"), ("C", "丙县")]
    _write(
        warehouse,
        "counties",
        [
            {
                "county_id": c,
                "county_name": n,
                "city_name": "某市",
                "is_rural": True,
                "population": 1000,
                "lat": 30.0,
                "lon": 110.0,
            }
            for c, n in counties
        ],
    )
    people = [("a1", "A"), ("b1", "B")]
    if chains:
        people += [("P1", "C"), ("Q1", "C"), ("S1", "C"), ("L1", "C"), ("F1", "C")]
    _write(warehouse, "customers", [_customer(c, k) for c, k in people])
    _write(
        warehouse,
        "accounts",
        [
            {
                "account_id": f"ACC{c}",
                "customer_id": c,
                "outlet_id": "O1",
                "account_type": "debit_card",
                "open_date": OPEN,
                "status": "active",
            }
            for c, _ in people
        ],
    )
    txns: list[dict[str, Any]] = []

    def add(
        cid: str,
        day: date,
        direction: str,
        fen: int,
        category: str,
        industry: str | None = None,
        counterparty: str = "X",
    ) -> None:
        txns.append(
            {
                "txn_id": f"T{len(txns):05d}",
                "account_id": f"ACC{cid}",
                "txn_at": datetime(day.year, day.month, day.day, 10),
                "direction": direction,
                "amount_fen": fen,
                "channel": "online",
                "counterparty_id": counterparty,
                "counterparty_category": category,
                "counterparty_industry": industry,
            }
        )

    add("a1", date(2025, 5, 10), "in", 30_000, "agri_buyer", "tea")
    add("a1", date(2025, 1, 10), "in", 10_000, "agri_buyer", "tea")
    add("a1", date(2025, 9, 1), "in", 10_000, "agri_buyer", "walnut")
    add("a1", date(2025, 10, 5), "in", 999_999, "agri_buyer", "walnut")
    add("a1", date(2024, 9, 1), "in", 777_777, "agri_buyer", "walnut")
    add("b1", date(2025, 6, 1), "in", 10_000, "agri_buyer", "tea")
    add("b1", date(2025, 8, 1), "in", 40_000, "agri_buyer", "walnut")
    if chains:
        _chain_flows(add)
    _write(warehouse, "transactions", txns)

    def shop(mid: str, county: str, industry: str, onboard: date | None = OPEN) -> dict[str, Any]:
        return {
            "merchant_id": mid,
            "merchant_name": f"特产{mid}",
            "category": "specialty_market",
            "specialty_industry": industry,
            "county_id": county,
            "lat": 30.0,
            "lon": 110.0,
            "is_acquired": onboard is not None,
            "onboard_date": onboard,
            "status": "active",
        }

    _write(
        warehouse,
        "merchants",
        [
            shop("M1", "A", "tea"),
            shop("M2", "B", "walnut"),
            shop("M3", "B", "walnut"),
            shop("M4", "B", "walnut"),
            shop("M5", "A", "walnut", date(2025, 11, 1)),
        ]
        + ([shop("M6", "C", "tea")] if chains else []),
    )
    loan = {
        "outlet_id": "O1",
        "product": "agri",
        "annual_rate_bp": 500,
        "issue_date": date(2025, 1, 1),
        "maturity_date": date(2026, 1, 1),
        "status": "current",
        "principal_fen": 10_000,
    }
    _write(
        warehouse,
        "loans",
        [
            {**loan, "loan_id": "LN1", "customer_id": "a1", "purpose_industry": "tea"},
            {**loan, "loan_id": "LN2", "customer_id": "b1", "purpose_industry": "walnut"},
        ],
    )
    due = [date(2025, m, 1) for m in (3, 4, 5, 6)]
    reps = [
        {
            "loan_id": "LN1",
            "due_date": d,
            "amount_due_fen": 2_500,
            "paid_date": d if i < 3 else None,
            "amount_paid_fen": 2_500 if i < 3 else 0,
        }
        for i, d in enumerate(due)
    ]
    reps += [
        {
            "loan_id": "LN2",
            "due_date": d,
            "amount_due_fen": 5_000,
            "paid_date": d + timedelta(days=3),
            "amount_paid_fen": 5_000,
        }
        for d in due[:2]
    ]
    # an instalment due after the as-of date is not read
    reps.append(
        {
            "loan_id": "LN2",
            "due_date": date(2025, 12, 1),
            "amount_due_fen": 5_000,
            "paid_date": None,
            "amount_paid_fen": 0,
        }
    )
    _write(warehouse, "loan_repayments", reps)
    # a1 holds 1,000 yuan on its account and 500 yuan of products at 2025-09-30; older month ends are not read
    _write(
        warehouse,
        "balances",
        [
            {
                "account_id": "ACCa1",
                "month_end_date": date(2025, 9, 30),
                "balance_fen": 100_000,
                "avg_balance_fen": 90_000,
            },
            {
                "account_id": "ACCa1",
                "month_end_date": date(2025, 8, 31),
                "balance_fen": 777_000,
                "avg_balance_fen": 1,
            },
        ],
    )
    _write(
        warehouse,
        "holdings",
        [
            {
                "customer_id": "a1",
                "product_id": "P1",
                "month_end_date": date(2025, 9, 30),
                "value_fen": 50_000,
            },
            {
                "customer_id": "a1",
                "product_id": "P1",
                "month_end_date": date(2025, 8, 31),
                "value_fen": 9_000,
            },
        ],
    )
    return warehouse


def _chain_flows(add: Any) -> None:
    """The flows of P1, Q1, S1, L1 and F1 in county C."""
    for k in range(3):
        add("P1", date(2025, 4, 10 + k), "in", 50_000, "agri_buyer", "tea")
    for k in range(2):
        add("P1", date(2025, 2, 10 + k), "out", 8_000, "farm_input", "tea")
    for k in range(5):
        add("Q1", date(2025, 5, 1 + k), "out", 20_000, "farmer", "tea", counterparty=f"FRM{k}")
    for k in range(3):
        add("Q1", date(2025, 6 + k, 15), "in", 300_000, "distributor", "tea")
    start = date(2025, 1, 1)
    for k in range(40):
        add("S1", start + timedelta(days=5 * k), "in", 1_500, "ecommerce")
    for k in range(4):
        add("S1", date(2025, 3 + k, 20), "out", 400, "logistics")
    for k in range(60):
        add("L1", start + timedelta(days=4 * k), "in", 1_200, "ecommerce")
    add("F1", date(2025, 7, 7), "in", 30_000, "agri_buyer", "walnut")
