"""A tiny valid warehouse written by hand: a few rows in each of the 20 canonical tables, consistent keys.

Everything happens before ``AS_OF``; ``ID_CARD``/``PHONE``/``NAME`` are personal data that must never appear
unmasked in a report.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from youshu.schema.storage import write_part
from youshu.schema.tables import TABLES, TABLES_BY_NAME

AS_OF = date(2025, 9, 30)
ID_CARD = "420102199001011234"
ID_CARD_MASKED = "4201**********1234"
PHONE = "13812345678"
NAME = "张三丰"


def _customers() -> list[dict[str, Any]]:
    people = [
        ("K0001", NAME, ID_CARD, PHONE, "M", date(1990, 1, 1), "farmer", "C01", "O01"),
        (
            "K0002",
            "李四",
            "420102198505054321",
            "13987654321",
            "F",
            date(1985, 5, 5),
            "teacher_doctor",
            "C01",
            "O01",
        ),
        ("K0003", "王五", "420103197003038765", None, "M", date(1970, 3, 3), "retiree", "C02", "O02"),
    ]
    rows = [
        {
            "customer_id": cid,
            "customer_type": "individual",
            "name": name,
            "id_card_no": idc,
            "phone": phone,
            "gender": gender,
            "birth_date": birth,
            "occupation": occ,
            "county_id": county,
            "home_outlet_id": outlet,
            "lat": 30.55,
            "lon": 114.30,
            "onboard_date": date(2015, 6, 1),
        }
        for cid, name, idc, phone, gender, birth, occ, county, outlet in people
    ]
    rows.append(
        {
            "customer_id": "K0004",
            "customer_type": "business",
            "name": "赵记茶行",
            "id_card_no": "92420100MA4K000001",
            "phone": "13700001111",
            "gender": None,
            "birth_date": None,
            "occupation": "merchant_owner",
            "county_id": "C02",
            "home_outlet_id": "O02",
            "lat": 30.10,
            "lon": 114.90,
            "onboard_date": date(2019, 3, 15),
        }
    )
    return rows


def valid_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows of every canonical table, as Python dicts."""
    t = datetime
    return {
        "counties": [
            {
                "county_id": "C01",
                "county_name": "江岸区",
                "city_name": "武汉市",
                "is_rural": False,
                "population": 960000,
                "lat": 30.60,
                "lon": 114.31,
            },
            {
                "county_id": "C02",
                "county_name": "新洲区",
                "city_name": "武汉市",
                "is_rural": True,
                "population": 860000,
                "lat": 30.84,
                "lon": 114.80,
            },
        ],
        "outlets": [
            {
                "outlet_id": "O01",
                "outlet_name": "江岸支行营业部",
                "county_id": "C01",
                "sub_branch_id": "SB01",
                "outlet_type": "self_operated",
                "lat": 30.59,
                "lon": 114.30,
                "opened_date": date(2008, 1, 1),
            },
            {
                "outlet_id": "O02",
                "outlet_name": "新洲代理网点",
                "county_id": "C02",
                "sub_branch_id": "SB02",
                "outlet_type": "agency",
                "lat": 30.83,
                "lon": 114.79,
                "opened_date": date(2012, 7, 1),
            },
        ],
        "customers": _customers(),
        "accounts": [
            {
                "account_id": f"A000{i}",
                "customer_id": cid,
                "outlet_id": outlet,
                "account_type": kind,
                "open_date": date(2016, 1, i),
                "close_date": None,
                "status": "active",
            }
            for i, (cid, outlet, kind) in enumerate(
                [
                    ("K0001", "O01", "debit_card"),
                    ("K0001", "O01", "time_deposit"),
                    ("K0002", "O01", "debit_card"),
                    ("K0003", "O02", "passbook"),
                    ("K0004", "O02", "business"),
                ],
                start=1,
            )
        ],
        "balances": [
            {
                "account_id": acc,
                "month_end_date": month,
                "balance_fen": 1_000_000 + 1000 * i,
                "avg_balance_fen": 900_000 + 1000 * i,
            }
            for i, (acc, month) in enumerate(
                [(a, m) for a in ("A0001", "A0003", "A0005") for m in (date(2025, 7, 31), date(2025, 8, 31))]
            )
        ],
        "transactions": [
            {
                "txn_id": f"T0000{i}",
                "account_id": acc,
                "txn_at": t(2025, 9, i, 10, 30),
                "direction": direction,
                "amount_fen": amount,
                "channel": channel,
                "counterparty_id": cp,
                "counterparty_account_id": cp_acc,
                "counterparty_category": category,
                "counterparty_industry": industry,
                "outlet_id": outlet,
            }
            for i, (acc, direction, amount, channel, cp, cp_acc, category, industry, outlet) in enumerate(
                [
                    ("A0001", "in", 350_000, "auto", "FIRM01", None, "payroll", None, None),
                    ("A0001", "out", 12_000, "qr", "M001", None, "merchant", None, None),
                    ("A0003", "out", 50_000, "mobile", None, "A0005", "p2p", None, None),
                    ("A0005", "in", 50_000, "mobile", None, "A0003", "p2p", None, None),
                    ("A0004", "in", 80_000, "counter", "BUYER9", None, "agri_buyer", "tea", "O02"),
                ],
                start=1,
            )
        ],
        "merchants": [
            {
                "merchant_id": "M001",
                "merchant_name": "赵记茶行",
                "category": "specialty_market",
                "specialty_industry": "tea",
                "county_id": "C02",
                "lat": 30.84,
                "lon": 114.81,
                "is_acquired": True,
                "acquiring_outlet_id": "O02",
                "onboard_date": date(2020, 5, 20),
                "owner_customer_id": "K0004",
                "settlement_account_id": "A0005",
                "status": "active",
            },
            {
                "merchant_id": "M002",
                "merchant_name": "街角早餐店",
                "category": "food",
                "specialty_industry": None,
                "county_id": "C01",
                "lat": 30.61,
                "lon": 114.32,
                "is_acquired": False,
                "acquiring_outlet_id": None,
                "onboard_date": None,
                "owner_customer_id": None,
                "settlement_account_id": None,
                "status": "active",
            },
        ],
        "acquiring_transactions": [
            {
                "acq_txn_id": "Q0001",
                "merchant_id": "M001",
                "paid_at": t(2025, 9, 2, 12, 0),
                "amount_fen": 12_000,
                "payment_method": "bank_app",
                "payer_customer_id": "K0001",
            },
            {
                "acq_txn_id": "Q0002",
                "merchant_id": "M001",
                "paid_at": t(2025, 9, 3, 18, 5),
                "amount_fen": 3_500,
                "payment_method": "wechat",
                "payer_customer_id": None,
            },
        ],
        "products": [
            {
                "product_id": "P01",
                "product_name": "邮银财富·稳健90天",
                "category": "wealth",
                "risk_level": "R2",
                "term_days": 90,
                "launch_date": date(2025, 1, 1),
            },
            {
                "product_id": "P02",
                "product_name": "储蓄国债(电子式)",
                "category": "treasury_bond",
                "risk_level": "R1",
                "term_days": 1095,
                "launch_date": date(2025, 3, 10),
            },
        ],
        "purchases": [
            {
                "purchase_id": "PU01",
                "customer_id": "K0002",
                "product_id": "P01",
                "purchase_date": date(2025, 6, 18),
                "amount_fen": 5_000_000,
                "channel": "counter",
                "outlet_id": "O01",
            }
        ],
        "holdings": [
            {
                "customer_id": "K0002",
                "product_id": "P01",
                "month_end_date": date(2025, 8, 31),
                "value_fen": 5_030_000,
            }
        ],
        "crm_contacts": [
            {
                "contact_id": "CT01",
                "customer_id": "K0001",
                "outlet_id": "O01",
                "staff_id": "S001",
                "contact_at": t(2025, 8, 12, 9, 15),
                "channel": "phone",
                "purpose": "wealth",
                "outcome": "interested",
            }
        ],
        "campaigns": [
            {
                "campaign_id": "CP01",
                "campaign_name": "茶叶节扫码立减",
                "campaign_type": "coupon",
                "start_date": date(2025, 8, 1),
                "end_date": date(2025, 10, 31),
                "outlet_id": "O02",
                "description": "扫码支付满50减10",
                "control_share": 0.2,
            }
        ],
        "campaign_members": [
            {
                "campaign_id": "CP01",
                "customer_id": "K0001",
                "is_control": False,
                "assigned_date": date(2025, 8, 1),
            },
            {
                "campaign_id": "CP01",
                "customer_id": "K0003",
                "is_control": True,
                "assigned_date": date(2025, 8, 1),
            },
        ],
        "coupons": [
            {
                "coupon_id": "CO01",
                "campaign_id": "CP01",
                "customer_id": "K0001",
                "merchant_id": "M001",
                "issued_date": date(2025, 8, 2),
                "face_value_fen": 1000,
            }
        ],
        "redemptions": [
            {
                "redemption_id": "RD01",
                "coupon_id": "CO01",
                "merchant_id": "M001",
                "redeemed_at": t(2025, 9, 2, 12, 0),
            }
        ],
        "referrals": [
            {
                "referral_id": "RF01",
                "campaign_id": "CP01",
                "customer_id": "K0004",
                "merchant_id": "M001",
                "referral_date": date(2025, 8, 20),
                "outcome": "card_bound",
                "account_id": "A0005",
            }
        ],
        "loans": [
            {
                "loan_id": "L01",
                "customer_id": "K0004",
                "outlet_id": "O02",
                "product": "agri",
                "purpose_industry": "tea",
                "principal_fen": 20_000_000,
                "annual_rate_bp": 435,
                "issue_date": date(2025, 3, 1),
                "maturity_date": date(2026, 3, 1),
                "status": "current",
            }
        ],
        "loan_repayments": [
            {
                "loan_id": "L01",
                "due_date": date(2025, 6, 1),
                "amount_due_fen": 217_500,
                "paid_date": date(2025, 6, 1),
                "amount_paid_fen": 217_500,
            },
            {
                "loan_id": "L01",
                "due_date": date(2025, 9, 1),
                "amount_due_fen": 217_500,
                "paid_date": None,
                "amount_paid_fen": 0,
            },
        ],
        "kpi_targets": [
            {
                "outlet_id": "O01",
                "period_start": date(2025, 7, 1),
                "period_end": date(2025, 9, 30),
                "metric": "new_customers",
                "target_value": 120,
            }
        ],
        "risk_cases": [
            {
                "account_id": "A0001",
                "reported_on": date(2025, 9, 20),
                "active_from": date(2025, 7, 1),
                "active_to": date(2025, 8, 15),
                "source": "police_notice",
            }
        ],
    }


def valid_tables() -> dict[str, pa.Table]:
    """Every canonical table as an Arrow table with the canonical schema."""
    rows = valid_rows()
    return {spec.name: pa.Table.from_pylist(rows[spec.name], schema=spec.arrow_schema) for spec in TABLES}


def write_warehouse(folder: Path, tables: dict[str, pa.Table] | None = None) -> Path:
    """Write tables in the warehouse layout ``folder/<table>/part-00000.parquet``."""
    for name, table in (tables if tables is not None else valid_tables()).items():
        write_part(folder / name, 0, table, TABLES_BY_NAME.get(name))
    return folder


def write_csv(path: Path, table: pa.Table) -> Path:
    """Write a table as CSV text (dates ISO, empty field for null)."""
    columns = {}
    for name in table.column_names:
        values = table[name].to_pylist()
        columns[name] = pa.array([None if v is None else _text(v) for v in values], pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table(columns), path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def raw_pii() -> list[str]:
    """Every unmasked name, ID-card and phone number in the valid data."""
    out = []
    for person in valid_rows()["customers"]:
        out.extend(str(person[k]) for k in ("name", "id_card_no", "phone") if person[k])
    return out
