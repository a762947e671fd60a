"""API: risk-account alerts (风险账户预警) and merchant fund-flow alerts (商户资金流预警) in scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from youshu.app.api.common import ERRORS, ID_PATTERN, OutletFilter, Page, Paging, paginate, paging
from youshu.app.pages.risk import HIDDEN_ACCOUNT, hide_accounts
from youshu.app.roles import Permission
from youshu.app.web import Context, context

router = APIRouter(prefix="/alerts", tags=["alerts 预警"], responses=ERRORS)


class RiskAlert(BaseModel):
    """An account the risk step flagged (holder's personal data masked)."""

    rank: int | None = Field(None, description="1 = highest score of the day")
    as_of_date: str | None = None
    account_id: str
    customer_id: str | None = None
    name: str | None = Field(None, description="masked")
    phone: str | None = Field(None, description="masked")
    id_card_no: str | None = Field(None, description="masked")
    outlet_id: str
    county_id: str | None = None
    score: float | None = Field(None, description="combined score 综合评分")
    model_score: float | None = None
    rules_hit: str | None = Field(None, description="规则命中 rules hit")
    reasons: str | None = Field(None, description="zh reasons with contributions")
    counterparties: str | None = Field(
        None,
        description=f"top counterparties; internal accounts outside the caller's scope read 「{HIDDEN_ACCOUNT}」",
    )


class MerchantAlert(BaseModel):
    """A merchant alert of the merchants step (quick outflow, volume drop, silence)."""

    outlet_id: str
    outlet_name: str | None = None
    merchant_id: str
    merchant_name: str | None = None
    category: str | None = None
    category_zh: str | None = None
    rule: str
    rule_zh: str | None = None
    is_vip: bool | None = None
    value: float | None = None
    threshold: float | None = None
    evidence_zh: str | None = Field(None, description="证据 the evidence in zh")
    owner_customer_id: str | None = Field(
        None,
        description="the merchant owner's customer id; null unless that customer is in the caller's scope and "
        "the role may read customer rows",
    )


@router.get(
    "/risk",
    response_model=Page[RiskAlert],
    summary="风险账户预警 Risk-account alerts",
    description=(
        "范围内的风险账户预警（持有人信息脱敏），按日期和排名排序；交易对手中不在您范围内的行内账户显示为"
        f"「{HIDDEN_ACCOUNT}」。需要客户明细权限。\n\n"
        "Risk-account alerts of the caller's outlets (holders masked), latest day first then by rank. Internal "
        f"counterparty accounts outside the caller's scope read 「{HIDDEN_ACCOUNT}」. Needs the customer_rows "
        "permission."
    ),
)
def risk_alerts(
    ctx: Annotated[Context, Depends(context)],
    pg: Annotated[Paging, Depends(paging)],
    outlet_id: OutletFilter = None,
) -> dict[str, Any]:
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    if outlet_id is not None:
        ctx.data.outlet(outlet_id)
    alerts = ctx.data.table("risk_alerts", **({"outlet_id": outlet_id} if outlet_id is not None else {}))
    if ctx.principal.outlets is not None:
        visible = set(ctx.data.table("accounts")["account_id"])
        alerts = alerts.assign(counterparties=[hide_accounts(t, visible) for t in alerts["counterparties"]])
    alerts = alerts.assign(as_of_date=alerts["as_of_date"].astype(str)).sort_values(
        ["as_of_date", "rank", "account_id"], ascending=[False, True, True]
    )
    return paginate(alerts[[c for c in RiskAlert.model_fields if c in alerts.columns]], pg)


@router.get(
    "/merchants",
    response_model=Page[MerchantAlert],
    summary="商户资金流预警 Merchant alerts",
    description=(
        "范围内网点的商户资金流预警（快进快出、交易量骤降、沉默），可按网点和规则筛选。\n\n"
        "Merchant fund-flow alerts of the caller's outlets (quick outflow, volume drop, silence), ordered by "
        "outlet, rule and merchant; filter by outlet and rule."
    ),
)
def merchant_alerts(
    ctx: Annotated[Context, Depends(context)],
    pg: Annotated[Paging, Depends(paging)],
    outlet_id: OutletFilter = None,
    rule: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="e.g. quick_outflow, volume_drop"),
    ] = None,
) -> dict[str, Any]:
    if outlet_id is not None:
        ctx.data.outlet(outlet_id)
    alerts = ctx.data.table("merchant_alerts", **({"outlet_id": outlet_id} if outlet_id is not None else {}))
    if rule is not None:
        alerts = alerts[alerts["rule"] == rule]
    if "owner_customer_id" in alerts.columns:
        owners = alerts["owner_customer_id"]
        if not ctx.principal.can(Permission.CUSTOMER_ROWS):
            owners = owners.where(owners.isna())
        elif ctx.principal.outlets is not None:
            owners = owners.where(owners.isin(set(ctx.data.table("customers")["customer_id"])))
        alerts = alerts.assign(owner_customer_id=owners)
    alerts = alerts.sort_values(["outlet_id", "rule", "merchant_id"])
    return paginate(alerts[[c for c in MerchantAlert.model_fields if c in alerts.columns]], pg)
