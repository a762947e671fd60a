"""Chain customers: each stage on hand-built flows, look-alikes left out, and quality on a small province."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from youshu.engine import Engine, Tables, connect
from youshu.rural import chain_customers, specialty_catalogue
from youshu.schema.storage import TRUTH_DIR

from .tiny import AS_OF


@pytest.fixture(scope="module")
def members(tiny_chain_warehouse: Path) -> pd.DataFrame:
    with connect("duckdb") as eng:
        return chain_customers(eng, tiny_chain_warehouse, AS_OF).set_index("customer_id")


def test_each_stage_is_found_with_its_chain(members: pd.DataFrame) -> None:
    got = members[["chain_industry", "chain_stage", "industry_basis"]].to_dict("index")
    assert got == {
        "P1": {"chain_industry": "tea", "chain_stage": "production", "industry_basis": "tagged"},
        "Q1": {"chain_industry": "tea", "chain_stage": "processing", "industry_basis": "tagged"},
        "S1": {"chain_industry": "tea", "chain_stage": "sales", "industry_basis": "county"},
    }
    assert (members["probability"] >= 0.5).all()
    assert members.loc["S1", "chain_stage_zh"] == "销售" and members.loc["S1", "chain_industry_zh"] == "茶叶"


def test_look_alikes_are_not_labelled(members: pd.DataFrame) -> None:
    # L1 has many e-commerce receipts but pays no logistics firm; F1 sold produce once; a1/b1 only a few times
    assert {"L1", "F1", "a1", "b1"}.isdisjoint(members.index)


def test_evidence_quotes_counts_and_amounts_in_chinese(members: pd.DataFrame) -> None:
    assert members.loc["P1", "evidence"] == (
        "近365天收到茶叶收购商付款 3 笔 ¥1,500；近365天向农资供应商付款 2 笔 ¥160；产业依据：涉农交易标注茶叶"
    )
    assert "（5 个收款农户）" in members.loc["Q1", "evidence"]
    assert members.loc["S1", "evidence"].endswith("产业依据：所在区县特产名录第1位茶叶")


def _rates(engine: Engine, warehouse: Path) -> tuple[float, float, float]:
    catalogue = engine.execute(specialty_catalogue(Tables(engine, warehouse), AS_OF))
    planted = pd.read_parquet(warehouse / TRUTH_DIR / "county_specialties")
    hit = planted.merge(catalogue, on=["county_id", "industry"], how="left")["rank_in_county"].fillna(99) <= 3
    found = chain_customers(engine, warehouse, AS_OF)
    truth = pd.read_parquet(
        warehouse / TRUTH_DIR / "customers", columns=["customer_id", "chain_industry", "chain_stage"]
    )
    truth = truth[truth["chain_stage"].fillna("") != ""]
    both = found.merge(truth, on="customer_id", suffixes=("", "_truth"))
    tp = (both["chain_industry"] == both["chain_industry_truth"]).sum()
    precision, recall = tp / len(found), tp / len(truth)
    stage = (both["chain_stage"] == both["chain_stage_truth"]).mean()
    return float(hit.mean()), float(2 * precision * recall / (precision + recall)), float(stage)


def test_province_specialties_and_chains_are_recovered(rural_province: Path) -> None:
    with connect("duckdb") as eng:
        top3, f1, stage = _rates(eng, rural_province)
    assert top3 >= 0.85
    assert f1 >= 0.80
    assert stage >= 0.75
