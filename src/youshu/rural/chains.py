"""Chain customers (产业链客户): each customer's chain (product) and stage, with a probability and the evidence.

A transparent scoring rule, no labels: for each stage s (production 生产, processing 加工, sales 销售)

    score_s = bias_s + sum_f w_sf * ln(1 + count_f),     p_s = 1 / (1 + exp(-score_s))

over the flow counts of :mod:`youshu.rural.chain_flows` with the biases and weights of
definitions/rural/chains.yml. The stage is the one with the highest p_s; the customer is a chain member when
it reaches ``min_probability``. The chain's product is, in order of preference:

1. ``tagged_industry`` — the product of most of the customer's industry-tagged flows (buyers, farm inputs,
   farmers, distributors);
2. ``loan_industry`` — the product financed by the customer's latest agricultural or chain loan;
3. ``county_specialty`` — the first product of the customer's county in the specialty catalogue (e-commerce
   sellers' receipts carry no product, so this is how most of them get one).

The evidence names each flow of the stage with its count and amount, and where the product came from.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.features.common import as_of_date
from youshu.rural.chain_flows import COUNT_COLUMNS, FLOW_KINDS, chain_flow_features
from youshu.rural.config import ChainConfig, load_chains
from youshu.schema.enums import INDUSTRY_ZH

__all__ = ["CHAIN_COLUMNS", "STAGE_FLOWS", "STAGE_ZH", "chain_customers", "classify_chains"]

STAGE_ZH = {"production": "生产", "processing": "加工", "sales": "销售"}
#: The flows quoted as evidence for each stage, in order.
STAGE_FLOWS = {
    "production": ("buyer_in", "input_out"),
    "processing": ("farmer_out", "distributor_in"),
    "sales": ("ecommerce_in", "logistics_out"),
}
CHAIN_COLUMNS: dict[str, str] = {
    "customer_id": "客户号",
    "county_id": "区县编号",
    "chain_industry": "产业链(代码)",
    "chain_industry_zh": "产业链",
    "chain_stage": "环节(代码)",
    "chain_stage_zh": "环节",
    "probability": "概率",
    "p_production": "生产概率",
    "p_processing": "加工概率",
    "p_sales": "销售概率",
    "industry_basis": "产业依据(代码)",
    "evidence": "证据",
}
_BASIS_ZH = {"tagged": "涉农交易标注", "loan": "产业贷款用途", "county": "所在区县特产名录第1位"}


def chain_customers(
    engine: Engine, warehouse: Path, as_of: date, config: ChainConfig | None = None
) -> pd.DataFrame:
    """Chain members as of ``as_of``: one row per customer classified into a chain (see the module docstring).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark; the flow features run on it.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date (inclusive).
    config : ChainConfig, optional
        Stage weights (default: definitions/rural/chains.yml).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CHAIN_COLUMNS`, members only, sorted by customer id.
    """
    as_of = as_of_date(as_of)
    cfg = config or load_chains()
    flows = engine.execute(chain_flow_features(Tables(engine, warehouse), as_of, cfg.window_days))
    out = classify_chains(flows, cfg)
    return out[out["chain_stage"].notna()].sort_values("customer_id").reset_index(drop=True)


def classify_chains(flows: pd.DataFrame, config: ChainConfig | None = None) -> pd.DataFrame:
    """Score every row of ``flows`` (the columns of ``chain_flow_features``); non-members get a null stage.

    Raises
    ------
    YoushuError
        When a weight names a count that ``flows`` lacks.
    """
    cfg = config or load_chains()
    window = cfg.window_days
    probs = {}
    for stage, rule in cfg.stages.items():
        unknown = [f for f in rule.weights if f not in COUNT_COLUMNS]
        if unknown:
            raise YoushuError(
                f"chains.yml stage {stage!r} weighs unknown counts {unknown}; use {COUNT_COLUMNS}"
            )
        missing = [f for f in rule.weights if f not in flows.columns]
        if missing:
            raise YoushuError(f"the chain flow table lacks columns {missing} needed by stage {stage!r}")
        score = np.full(len(flows), rule.bias, dtype="float64")
        for feature, weight in rule.weights.items():
            score += weight * np.log1p(flows[feature].fillna(0).to_numpy(dtype="float64"))
        probs[stage] = 1.0 / (1.0 + np.exp(-score))
    stages = list(probs)
    matrix = np.column_stack([probs[s] for s in stages])
    best = matrix.argmax(axis=1)
    top = matrix.max(axis=1)
    industry, basis = _industry(flows)
    # a member needs a product to be placed in a chain
    member = pd.Series((top >= cfg.min_probability), index=flows.index) & industry.notna()
    stage = pd.Series(np.array(stages, dtype=object)[best], index=flows.index).where(member)
    industry = industry.where(member)
    out = pd.DataFrame(
        {
            "customer_id": flows["customer_id"],
            "county_id": flows["county_id"],
            "chain_industry": industry,
            "chain_industry_zh": industry.map(INDUSTRY_ZH),
            "chain_stage": stage,
            "chain_stage_zh": stage.map(STAGE_ZH),
            "probability": top.round(4),
            **{f"p_{s}": probs[s].round(4) for s in stages},
            "industry_basis": basis.where(member),
        }
    ).replace({np.nan: None})
    records = flows.to_dict("records")
    out["evidence"] = [
        _evidence(r, s, i, b, window) if s else None
        for r, s, i, b in zip(
            records, out["chain_stage"], out["chain_industry"], out["industry_basis"], strict=True
        )
    ]
    return out[list(CHAIN_COLUMNS)]


def _industry(flows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The product of each row and where it came from (tagged flows, then loans, then the county)."""
    tagged = flows["tagged_industry"].where(flows["tagged_count"].fillna(0) > 0)
    loan = flows["loan_industry"]
    county = flows["county_specialty"]
    industry = tagged.fillna(loan).fillna(county).astype(object)
    basis = pd.Series(None, index=flows.index, dtype=object)
    basis = basis.mask(county.notna(), "county").mask(loan.notna(), "loan").mask(tagged.notna(), "tagged")
    return industry, basis


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def _evidence(row: dict[str, Any], stage: str, industry: str, basis: str, window: int) -> str:
    """The zh evidence of one member, e.g. 近365天收到茶叶收购商付款 12 笔 ¥86,000；…；产业依据：涉农交易标注茶叶."""
    name = INDUSTRY_ZH.get(industry, industry)
    parts = []
    for kind in STAGE_FLOWS[stage]:
        count = int(row.get(f"{kind}_count") or 0)
        if count == 0:
            continue
        label = FLOW_KINDS[kind][2].format(industry="农产品")
        if kind == "buyer_in" and int(row.get("buyer_top_count") or 0) > 0 and row.get("tagged_industry"):
            label = FLOW_KINDS[kind][2].format(
                industry=INDUSTRY_ZH.get(str(row["tagged_industry"]), "农产品")
            )
        text = f"近{window}天{label} {count} 笔 {_yuan(float(row.get(f'{kind}_fen') or 0))}"
        if kind == "farmer_out":
            text += f"（{int(row.get('farmer_payees') or 0)} 个收款农户）"
        parts.append(text)
    parts.append(f"产业依据：{_BASIS_ZH[basis]}{name}")
    return "；".join(parts)
