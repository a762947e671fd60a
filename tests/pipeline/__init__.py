"""Pipeline tests, and a tiny hand-made warehouse whose summary figures are known exactly.

The warehouse is valid against the canonical specs and straddles the as-of date ``AS_OF`` (2025-09-30) so
tests can check that later rows are cut off. ``EXPECTED`` lists what a correct summary reports.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from youshu.schema.storage import write_part
from youshu.schema.tables import get_table

AS_OF = date(2025, 9, 30)
D = date
T = datetime


def _rows(columns: str, *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    names = columns.split()
    return [dict(zip(names, v, strict=True)) for v in values]


TINY: dict[str, list[dict[str, Any]]] = {
    "counties": _rows(
        "county_id county_name city_name is_rural population lat lon",
        ("C1", "甲县", "一市", True, 300_000, 30.1, 110.1),
        ("C2", "乙区", "一市", False, 500_000, 30.2, 110.2),
        ("C3", "丙县", "二市", True, 200_000, 30.3, 110.3),
    ),
    "outlets": _rows(
        "outlet_id outlet_name county_id sub_branch_id outlet_type lat lon opened_date",
        ("O1", "甲县营业所", "C1", "B1", "self_operated", 30.1, 110.1, D(2020, 1, 1)),
        ("O2", "乙区营业所", "C2", "B1", "agency", 30.2, 110.2, D(2020, 1, 1)),
        ("O3", "丙县营业所", "C3", "B2", "self_operated", 30.3, 110.3, D(2025, 12, 1)),  # opens after as-of
    ),
    "customers": _rows(
        "customer_id customer_type name id_card_no phone gender birth_date occupation county_id home_outlet_id "
        "lat lon onboard_date",
        (
            "U1",
            "individual",
            "张三",
            "420100198510010011",
            "13800000001",
            "F",
            D(1985, 10, 1),
            "farmer",
            "C1",
            "O1",
            30.1,
            110.1,
            D(2020, 1, 1),
        ),  # 39 on the as-of date (birthday tomorrow)
        (
            "U2",
            "individual",
            "李四",
            "420100196509300022",
            "13800000002",
            "M",
            D(1965, 9, 30),
            "retiree",
            "C2",
            "O2",
            30.2,
            110.2,
            D(2021, 1, 1),
        ),  # 60 exactly on the as-of date
        (
            "U3",
            "business",
            "某某商行",
            "91420100MA0000003X",
            None,
            None,
            None,
            "merchant_owner",
            "C1",
            "O1",
            30.1,
            110.1,
            D(2022, 1, 1),
        ),
        (
            "U4",
            "individual",
            "王五",
            "420100200001010044",
            None,
            "F",
            D(2000, 1, 1),
            "student",
            "C3",
            "O2",
            30.3,
            110.3,
            D(2025, 10, 15),
        ),  # onboarded after as-of
        (
            "U5",
            "individual",
            "赵六",
            "420100199005050055",
            None,
            "M",
            D(1990, 5, 5),
            "worker",
            "C2",
            "O2",
            30.2,
            110.2,
            D(2025, 8, 20),
        ),
    ),
    "accounts": _rows(
        "account_id customer_id outlet_id account_type open_date close_date status",
        ("A1", "U1", "O1", "debit_card", D(2020, 1, 1), None, "active"),
        ("A2", "U2", "O2", "time_deposit", D(2021, 1, 1), None, "active"),
        ("A3", "U3", "O1", "business", D(2022, 1, 1), None, "active"),
        ("A4", "U1", "O1", "passbook", D(2020, 1, 1), D(2025, 7, 31), "closed"),
        ("A5", "U4", "O2", "debit_card", D(2025, 10, 15), None, "active"),
    ),
    "balances": _rows(
        "account_id month_end_date balance_fen avg_balance_fen",
        ("A1", D(2025, 6, 30), 2_000_000, 2_000_000),
        ("A4", D(2025, 6, 30), 1_000_000, 1_000_000),
        ("A1", D(2025, 7, 31), 3_000_000, 3_000_000),
        ("A4", D(2025, 7, 31), 1_000_000, 1_000_000),
        ("A1", D(2025, 8, 31), 4_000_000, 4_000_000),
        ("A2", D(2025, 8, 31), 20_000_000, 20_000_000),
        ("A3", D(2025, 8, 31), 2_000_000, 2_000_000),
        ("A1", D(2025, 9, 30), 5_000_000, 5_000_000),
        ("A2", D(2025, 9, 30), 20_000_000, 20_000_000),
        ("A3", D(2025, 9, 30), 3_000_000, 3_000_000),
        ("A1", D(2025, 10, 31), 99_000_000, 99_000_000),  # after as-of
    ),
    "transactions": _rows(
        "txn_id account_id txn_at direction amount_fen channel counterparty_id counterparty_account_id "
        "counterparty_category counterparty_industry outlet_id",
        ("X1", "A1", T(2025, 7, 2, 23, 59, 59), "in", 1_000, "counter", None, None, "payroll", None, "O1"),
        ("X2", "A1", T(2025, 7, 3, 0, 0, 0), "in", 50_000, "auto", "E1", None, "payroll", None, None),
        (
            "X3",
            "A1",
            T(2025, 9, 30, 23, 59, 59),
            "out",
            20_000,
            "mobile",
            "W1",
            None,
            "other_bank_wealth",
            None,
            None,
        ),
        (
            "X4",
            "A2",
            T(2025, 10, 1, 0, 0, 0),
            "out",
            99_999,
            "mobile",
            "W1",
            None,
            "other_bank_wealth",
            None,
            None,
        ),
        ("X5", "A2", T(2025, 8, 15, 12, 0, 0), "in", 30_000, "auto", "G1", None, "pension", None, None),
        (
            "X6",
            "A3",
            T(2025, 9, 1, 10, 0, 0),
            "in",
            7_000,
            "auto",
            "M1",
            None,
            "acquiring_settlement",
            None,
            None,
        ),
    ),
    "merchants": _rows(
        "merchant_id merchant_name category specialty_industry county_id lat lon is_acquired acquiring_outlet_id "
        "onboard_date owner_customer_id settlement_account_id status",
        (
            "M1",
            "甲县小吃店",
            "food",
            None,
            "C1",
            30.1,
            110.1,
            True,
            "O1",
            D(2024, 5, 1),
            "U3",
            "A3",
            "active",
        ),
        (
            "M2",
            "乙区超市",
            "retail",
            None,
            "C2",
            30.2,
            110.2,
            True,
            "O2",
            D(2025, 10, 10),
            None,
            None,
            "active",
        ),  # signed after as-of: still a prospect then
        (
            "M3",
            "茶叶市场",
            "specialty_market",
            "tea",
            "C1",
            30.1,
            110.1,
            False,
            None,
            None,
            None,
            None,
            "active",
        ),
        (
            "M4",
            "乙区理发店",
            "daily_services",
            None,
            "C2",
            30.2,
            110.2,
            True,
            "O2",
            D(2025, 7, 15),
            None,
            None,
            "active",
        ),
    ),
    "acquiring_transactions": _rows(
        "acq_txn_id merchant_id paid_at amount_fen payment_method payer_customer_id",
        ("Q1", "M1", T(2025, 9, 30, 18, 0), 1_500, "bank_app", "U1"),
        ("Q2", "M1", T(2025, 9, 24, 0, 0), 2_500, "wechat", None),
        ("Q3", "M4", T(2025, 9, 23, 23, 0), 1_000, "alipay", None),
        ("Q4", "M1", T(2025, 7, 8, 10, 0), 4_000, "wechat", None),  # in 90 days, before the 12 weeks
        ("Q5", "M4", T(2025, 10, 2, 9, 0), 9_000, "wechat", None),  # after as-of
        ("Q6", "M4", T(2025, 8, 31, 12, 0), 3_000, "unionpay", "U2"),  # 30 days back: outside the last 30
    ),
    "products": _rows(
        "product_id product_name category risk_level term_days launch_date",
        ("P1", "邮银财富", "wealth", "R2", 180, D(2020, 1, 1)),
        ("P2", "安心保", "insurance", "R1", 365, D(2020, 1, 1)),
        ("P3", "大额存单", "time_deposit", "R1", 1095, D(2020, 1, 1)),
    ),
    "purchases": _rows(
        "purchase_id customer_id product_id purchase_date amount_fen channel outlet_id",
        ("PU1", "U1", "P1", D(2025, 8, 1), 10_000_000, "mobile", "O1"),
        ("PU2", "U2", "P3", D(2025, 8, 2), 5_000_000, "counter", "O2"),
        ("PU3", "U2", "P2", D(2025, 6, 30), 2_000_000, "counter", "O2"),
        ("PU4", "U1", "P1", D(2025, 10, 5), 7_000_000, "mobile", "O1"),
    ),
    "holdings": _rows(
        "customer_id product_id month_end_date value_fen",
        ("U1", "P1", D(2025, 8, 31), 9_000_000),
        ("U1", "P1", D(2025, 9, 30), 10_000_000),
        ("U2", "P2", D(2025, 9, 30), 2_000_000),
        ("U1", "P1", D(2025, 10, 31), 50_000_000),
    ),
    "crm_contacts": _rows(
        "contact_id customer_id outlet_id staff_id contact_at channel purpose outcome",
        ("K1", "U1", "O1", "S001", T(2025, 9, 1, 10, 0), "phone", "wealth", "reached"),
    ),
    "campaigns": _rows(
        "campaign_id campaign_name campaign_type start_date end_date outlet_id description control_share",
        ("G1", "秋季满减", "coupon", D(2025, 8, 1), D(2025, 10, 31), None, "满50减10", 0.2),
        ("G2", "冬季推荐有礼", "referral", D(2025, 11, 1), D(2025, 12, 31), "O1", "推荐开户得礼品", 0.1),
    ),
    "campaign_members": _rows(
        "campaign_id customer_id is_control assigned_date",
        ("G1", "U1", False, D(2025, 8, 1)),
        ("G1", "U2", True, D(2025, 8, 1)),
        ("G1", "U3", False, D(2025, 8, 1)),
        ("G2", "U1", False, D(2025, 11, 1)),
    ),
    "coupons": _rows(
        "coupon_id campaign_id customer_id merchant_id issued_date face_value_fen",
        ("CP1", "G1", "U1", "M1", D(2025, 8, 2), 1_000),
        ("CP2", "G1", "U3", "M1", D(2025, 8, 2), 1_000),
        ("CP3", "G1", "U1", "M1", D(2025, 10, 2), 1_000),
    ),
    "redemptions": _rows(
        "redemption_id coupon_id merchant_id redeemed_at",
        ("R1", "CP1", "M1", T(2025, 9, 10, 12, 0)),
        ("R2", "CP2", "M1", T(2025, 10, 3, 12, 0)),
    ),
    "referrals": _rows(
        "referral_id campaign_id customer_id merchant_id referral_date outcome account_id",
        ("F1", "G1", "U1", "M1", D(2025, 9, 12), "card_bound", "A1"),
        ("F2", "G1", "U2", None, D(2025, 9, 20), "new_account", "A2"),
        ("F3", "G1", "U3", None, D(2025, 10, 20), "new_account", "A3"),
    ),
    "loans": _rows(
        "loan_id customer_id outlet_id product purpose_industry principal_fen annual_rate_bp issue_date "
        "maturity_date status",
        ("L1", "U1", "O1", "agri", "tea", 10_000_000, 500, D(2025, 1, 1), D(2025, 12, 31), "current"),
        ("L2", "U2", "O2", "business", None, 5_000_000, 600, D(2025, 1, 15), D(2026, 1, 15), "overdue"),
        ("L3", "U3", "O1", "consumer", None, 2_000_000, 800, D(2024, 6, 1), D(2025, 6, 1), "defaulted"),
        ("L4", "U1", "O1", "mortgage", None, 90_000_000, 400, D(2025, 10, 10), D(2045, 10, 10), "current"),
        ("L5", "U2", "O2", "consumer", None, 1_000_000, 800, D(2024, 1, 1), D(2024, 12, 31), "repaid"),
        ("L6", "U3", "O1", "agri", "walnut", 3_000_000, 500, D(2025, 2, 1), D(2025, 8, 1), "repaid"),
    ),
    "loan_repayments": _rows(
        "loan_id due_date amount_due_fen paid_date amount_paid_fen",
        ("L1", D(2025, 3, 31), 2_600_000, D(2025, 3, 31), 2_600_000),
        ("L1", D(2025, 6, 30), 2_600_000, D(2025, 6, 30), 2_600_000),
        ("L1", D(2025, 9, 30), 2_600_000, D(2025, 9, 30), 2_600_000),
        ("L1", D(2025, 12, 31), 2_600_000, None, 0),
        ("L2", D(2025, 4, 15), 1_300_000, D(2025, 4, 15), 1_300_000),
        ("L2", D(2025, 7, 15), 1_300_000, None, 0),
        ("L2", D(2025, 10, 15), 1_300_000, None, 0),
        ("L2", D(2026, 1, 15), 1_300_000, None, 0),
        ("L3", D(2025, 3, 1), 2_100_000, None, 0),
        ("L5", D(2024, 12, 31), 1_050_000, D(2024, 12, 31), 1_050_000),
        ("L6", D(2025, 8, 1), 3_100_000, D(2025, 10, 5), 3_100_000),  # paid only after as-of
    ),
    "kpi_targets": _rows(
        "outlet_id period_start period_end metric target_value",
        ("O1", D(2025, 7, 1), D(2025, 9, 30), "new_customers", 10),
        ("O2", D(2025, 7, 1), D(2025, 9, 30), "new_customers", 5),
        ("O1", D(2025, 7, 1), D(2025, 9, 30), "new_effective_merchants", 2),
        ("O1", D(2025, 7, 1), D(2025, 9, 30), "wealth_sales_fen", 20_000_000),
        ("O1", D(2025, 7, 1), D(2025, 9, 30), "assets_brought_in_fen", 100_000_000),
        ("O1", D(2025, 10, 1), D(2025, 12, 31), "new_customers", 7),
        ("O1", D(2025, 1, 1), D(2025, 12, 31), "new_customers", 40),
    ),
    "risk_cases": [],  # no case reported: the risk step explains instead of training
}


def write_tiny_warehouse(folder: Path) -> Path:
    """Write the tiny warehouse (every canonical table) under ``folder`` and return it."""
    for name, rows in TINY.items():
        spec = get_table(name)
        write_part(folder / name, 0, pa.Table.from_pylist(rows, schema=spec.arrow_schema), spec)
    return folder


# What the summary of the tiny warehouse as of AS_OF must say (money in fen).
EXPECTED: dict[str, Any] = {
    "counts": {
        "counties": 3,
        "outlets": 2,
        "customers": 4,
        "open_accounts": 3,
        "merchants_acquired": 2,
        "merchant_prospects": 2,
    },
    "month_end": D(2025, 9, 30),
    "deposits_fen": 28_000_000,
    "holdings_fen": 12_000_000,
    "aum_by_county": {"C2": 22_000_000, "C1": 18_000_000, "C3": 0},
    "aum_trend": {
        D(2025, 6, 30): 3_000_000,
        D(2025, 7, 31): 4_000_000,
        D(2025, 8, 31): 35_000_000,
        D(2025, 9, 30): 40_000_000,
    },
    "data_window": (D(2025, 7, 2), D(2025, 9, 30)),
    "txn_count": 4,
    "txn_amount_fen": 107_000,
    "txn_by_category": {
        "payroll": (1, 50_000),
        "pension": (1, 30_000),
        "other_bank_wealth": (1, 20_000),
        "acquiring_settlement": (1, 7_000),
    },
    "txn_by_channel": {"auto": (3, 87_000), "mobile": (1, 20_000)},
    "age_bands": {"30-39": 2, "60-69": 1, "unknown": 1},
    "gender": {"F": 1, "M": 2, "unknown": 1},
    "occupation": {"farmer": 1, "retiree": 1, "merchant_owner": 1, "worker": 1},
    "merchants_by_category": {  # acquired, prospects, QR payments and fen over 90 days
        "food": (1, 0, 3, 8_000),
        "retail": (0, 1, 0, 0),
        "specialty_market": (0, 1, 0, 0),
        "daily_services": (1, 0, 2, 4_000),
    },
    "qr_30d": (3, 5_000, 2),
    "qr_weekly": {
        D(2025, 9, 30): (2, 4_000, 1, 1),
        D(2025, 9, 23): (1, 1_000, 1, 0),
        D(2025, 9, 2): (1, 3_000, 1, 1),
    },
    "campaign": {
        "members": 3,
        "treatment": 2,
        "control": 1,
        "coupons_issued": 2,
        "coupons_redeemed": 1,
        "referrals": 2,
        "referral_rate_treatment": 0.5,
        "referral_rate_control": 1.0,
        "redemption_rate": 0.5,
    },
    "loans": {
        "loans": 4,
        "outstanding_fen": 11_250_000,
        "overdue_loans": 2,
        "overdue_fen": 6_750_000,
        "defaulted_loans": 1,
        "defaulted_fen": 2_000_000,
    },
    "kpi_q3": {  # metric: (target, actual)
        "new_customers": (15, 1),
        "new_effective_merchants": (2, 1),
        "wealth_sales_fen": (20_000_000, 10_000_000),
        "assets_brought_in_fen": (100_000_000, 37_000_000),
    },
    "kpi_year": {"new_customers": (40, 1)},
}
