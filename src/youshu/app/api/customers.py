"""API: customers in scope (IVL, wealth score) and one customer's portrait (tags, IVL, score reasons, risk flag)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from youshu.app.access import ScopedData
from youshu.app.api.common import ERRORS, ID_PATTERN, OutletFilter, Page, Paging, paginate, paging, records
from youshu.app.pages.customers import customer_view
from youshu.app.roles import Permission
from youshu.app.web import Context, context
from youshu.models.ivl.lifecycle import LifecycleStage

router = APIRouter(tags=["customers 客户"], responses=ERRORS)

Level = Literal["高", "中", "低"]
#: Master-data fields of the customer detail besides its id and outlet (personal data masked by ScopedData).
_MASTER = ("name", "phone", "id_card_no", "gender", "birth_date", "occupation", "county_id", "onboard_date")


# -- models ----------------------------------------------------------------------------------------------------------
class CustomerItem(BaseModel):
    """A customer in scope with IVL fields and wealth propensity (personal data masked)."""

    customer_id: str
    name: str | None = Field(None, description="姓名（脱敏） masked name")
    outlet_id: str = Field(description="归属网点 home outlet")
    county_id: str | None = None
    aum_fen: int | None = Field(None, description="AUM in fen (分)")
    intimacy_score: float | None = None
    intimacy_level: str | None = Field(None, description="亲密度 高/中/低")
    value_level: str | None = Field(None, description="价值潜力 高/中/低")
    value_predicted_aum_fen: int | None = None
    value_upside_fen: int | None = None
    lifecycle_stage: str | None = None
    lifecycle_stage_zh: str | None = None
    ivl_tag: str | None = Field(None, description="e.g. 中亲密·中潜力·衰退期")
    wealth_score: float | None = Field(None, description="理财倾向评分 wealth propensity score")
    wealth_rank: int | None = Field(None, description="rank of the score in the province (1 = highest)")


class Ivl(BaseModel):
    """A customer's IVL portrait as the IVL step computed it."""

    aum_fen: int | None = None
    intimacy_score: float | None = None
    intimacy_level: str | None = None
    value_predicted_aum_fen: int | None = None
    value_upside_fen: int | None = None
    value_level: str | None = None
    value_purchase_12m_fen: int | None = None
    p_alive: float | None = Field(None, description="BG/NBD probability the customer is still active")
    lifecycle_stage: str | None = None
    lifecycle_stage_zh: str | None = None
    ivl_tag: str | None = None


class Tag(BaseModel):
    """A boolean tag that is true for the customer."""

    tag_id: str
    name_zh: str


class TagValue(BaseModel):
    """A categorical (or score) tag's value for the customer."""

    tag_id: str
    name_zh: str
    value: str | float


class WealthScore(BaseModel):
    """Wealth-product propensity with the three strongest reasons (zh)."""

    score: float | None = None
    rank: int | None = None
    reasons: list[str] = Field(description="三条推荐理由 the three reasons, strongest first")


class RiskFlag(BaseModel):
    """Whether any account of the customer is flagged by the risk step."""

    is_risky_account: bool | None = None
    alerted_accounts: int | None = None
    max_score: float | None = None


class CustomerDetail(BaseModel):
    """One customer in scope: master data (masked), IVL, tags, wealth score and risk flag."""

    customer_id: str
    name: str | None = Field(None, description="masked")
    phone: str | None = Field(None, description="masked")
    id_card_no: str | None = Field(None, description="masked")
    gender: str | None = None
    birth_date: str | None = None
    occupation: str | None = None
    county_id: str | None = None
    outlet_id: str
    outlet_name: str | None = None
    onboard_date: str | None = None
    ivl: Ivl | None = None
    tags: list[Tag] = Field(description="true boolean tags 命中的标签")
    tag_values: list[TagValue] = Field(description="categorical and score tags 分类与评分标签")
    wealth: WealthScore | None = None
    risk: RiskFlag | None = None
    lists: list[str] = Field(description="target lists the customer is on 所在营销名单")


# -- helpers ---------------------------------------------------------------------------------------------------------
def clean(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row as JSON-safe values (NaN → None, numpy scalars → Python, dates → ISO text)."""
    return None if row is None else records(pd.DataFrame([row]))[0]


def _frame(data: ScopedData, outlet_id: str | None, segment: str | None) -> pd.DataFrame:
    """Customers in scope (masked) with IVL fields and wealth score, filtered by outlet and tag expression."""
    if outlet_id is not None:
        data.outlet(outlet_id)  # OutOfScope → 404
    customers = data.table("customers", **({"outlet_id": outlet_id} if outlet_id is not None else {}))
    customers = customers[["customer_id", "name", "outlet_id", "county_id"]]
    if segment is not None:
        members = data.audience(segment)["customer_id"]
        customers = customers[customers["customer_id"].isin(members)]
    run = data.run
    if run.has("customer_ivl"):
        fields = [f for f in Ivl.model_fields if f not in ("value_purchase_12m_fen", "p_alive")]
        ivl = data.table("customer_ivl")[["customer_id", *fields]]
        customers = customers.merge(ivl, on="customer_id", how="left")
    if run.has("wealth_scores"):
        wealth = data.table("wealth_scores")[["customer_id", "score", "rank"]]
        wealth = wealth.rename(columns={"score": "wealth_score", "rank": "wealth_rank"})
        customers = customers.merge(wealth, on="customer_id", how="left")
    return customers


# -- routes ----------------------------------------------------------------------------------------------------------
@router.get(
    "/customers",
    response_model=Page[CustomerItem],
    summary="客户列表 Customers in scope",
    description=(
        "范围内客户（姓名脱敏）及其 IVL 画像与理财倾向评分，可按网点、亲密度、价值潜力、生命周期阶段和标签表达式筛选。"
        "需要客户明细权限（只读用户 403）。\n\n"
        "Customers of the caller's outlets (names masked) with their IVL fields and wealth propensity score; "
        "filter by outlet, intimacy level, value level, lifecycle stage and a tag expression (`segment`, e.g. "
        "`女性客群 AND NOT 沉睡客户`). Needs the customer_rows permission (viewers get 403). Ordered by "
        "customer id."
    ),
)
def list_customers(
    ctx: Annotated[Context, Depends(context)],
    pg: Annotated[Paging, Depends(paging)],
    outlet_id: OutletFilter = None,
    intimacy_level: Annotated[Level | None, Query(description="亲密度 intimacy level")] = None,
    value_level: Annotated[Level | None, Query(description="价值潜力 value level")] = None,
    lifecycle_stage: Annotated[
        LifecycleStage | None, Query(description="生命周期阶段 lifecycle stage")
    ] = None,
    segment: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2000,
            description="标签表达式 tag expression: tags joined by AND, OR, NOT and parentheses",
        ),
    ] = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    frame = _frame(ctx.data, outlet_id, segment)
    for column, wanted in (
        ("intimacy_level", intimacy_level),
        ("value_level", value_level),
        ("lifecycle_stage", lifecycle_stage),
    ):
        if wanted is not None:
            frame = frame[frame[column] == str(wanted)] if column in frame else frame.iloc[0:0]
    frame = frame.sort_values("customer_id")
    return paginate(frame[[c for c in CustomerItem.model_fields if c in frame.columns]], pg)


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerDetail,
    summary="客户画像 One customer",
    description=(
        "一位范围内客户：主数据（脱敏）、IVL、命中标签与分类标签值、理财倾向评分及三条理由、风险标记。"
        "不存在或不在范围内时 404。\n\n"
        "One customer in scope: master data (masked), IVL, true boolean tags and categorical tag values, wealth "
        "score with its three zh reasons, and the risk flag. 404 when unknown or not in the caller's scope."
    ),
)
def get_customer(
    ctx: Annotated[Context, Depends(context)],
    customer_id: Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="客户号")],
) -> CustomerDetail:
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    view = customer_view(ctx.data, customer_id)
    master = clean(view["customer"]) or {}
    wealth = clean(view["wealth"])
    risk = clean(view["risk"])
    ivl = clean(view["ivl"])
    on_lists = [
        name
        for name, key in (("wealth_targets", "wealth_targets"), ("rural_selection", "rural"))
        if view[key]
    ]
    return CustomerDetail(
        **{k: (None if master.get(k) is None else str(master[k])) for k in _MASTER},
        customer_id=str(master["customer_id"]),
        outlet_id=str(master["outlet_id"]),
        outlet_name=view["outlet_name"] or None,
        ivl=Ivl(**{k: ivl.get(k) for k in Ivl.model_fields}) if ivl else None,
        tags=[Tag(tag_id=t, name_zh=zh) for t, zh in view["true_tags"]],
        tag_values=[TagValue(tag_id=t, name_zh=zh, value=_scalar(v)) for t, zh, v in view["other_tags"]],
        wealth=(
            WealthScore(score=wealth.get("score"), rank=wealth.get("rank"), reasons=view["wealth_reasons"])
            if wealth
            else None
        ),
        risk=RiskFlag(**{k: risk.get(k) for k in RiskFlag.model_fields}) if risk else None,
        lists=on_lists,
    )


def _scalar(value: Any) -> str | float:
    """A tag value as text or a number (numpy scalars to Python)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, int | float) else str(value)
