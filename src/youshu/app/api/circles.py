"""API: merchant circles (微商圈) of the outlets in scope and the merchants of one circle with their tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from youshu.app.access import ScopedData
from youshu.app.api.common import ERRORS, ID_PATTERN, Page, Paging, paginate, paging
from youshu.app.pages.catalogue import tag_names
from youshu.app.web import Context, context

router = APIRouter(tags=["circles 微商圈"], responses=ERRORS)


class CircleSummary(BaseModel):
    """One outlet's circle as the circles step summarised it."""

    outlet_id: str
    outlet_name: str | None = None
    county_id: str | None = None
    sub_branch_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    merchants: int | None = Field(None, description="merchants in the circle 商圈商户数")
    acquired_merchants: int | None = None
    prospect_merchants: int | None = None
    penetration: float | None = Field(None, description="acquired / merchants 拓展渗透率")
    effective_merchants: int | None = None
    effective_share: float | None = None
    low_activity_merchants: int | None = None
    shared_merchants: int | None = Field(None, description="also in another outlet's circle")
    home_merchants: int | None = None
    qr_payments: int | None = None
    qr_amount_fen: int | None = None
    deposit_fen: int | None = None


class MerchantTag(BaseModel):
    """A boolean merchant tag that is true."""

    tag_id: str
    name_zh: str


class CircleMerchant(BaseModel):
    """A merchant in the circle of an outlet."""

    merchant_id: str
    merchant_name: str | None = None
    category: str | None = None
    category_zh: str | None = None
    distance_m: float | None = Field(None, description="metres from the outlet")
    is_acquired: bool | None = None
    is_effective: bool | None = None
    is_low_activity: bool | None = None
    is_home: bool | None = Field(None, description="this outlet is the merchant's home outlet")
    home_outlet_id: str | None = Field(
        None, description="归属网点; null when it is not in the caller's scope"
    )
    circles: int | None = Field(None, description="circles the merchant is in")
    qr_payments: int | None = None
    qr_amount_fen: int | None = None
    deposit_fen: int | None = None
    lat: float | None = None
    lon: float | None = None
    tags: list[MerchantTag] | None = Field(
        None,
        description="命中的商户标签 true merchant tags; null when the run has no merchant tags for it",
    )


@router.get(
    "/circles",
    response_model=Page[CircleSummary],
    summary="微商圈概况 Circles of the outlets in scope",
    description=(
        "范围内每个网点的微商圈概况：商户数、拓展渗透率、有效商户、低活跃商户、扫码交易与存款。\n\n"
        "The circle summary of each outlet in the caller's scope: merchants, penetration, effective and "
        "low-activity merchants, QR payments and deposits. Ordered by outlet id."
    ),
)
def list_circles(
    ctx: Annotated[Context, Depends(context)], pg: Annotated[Paging, Depends(paging)]
) -> dict[str, Any]:
    summary = ctx.data.table("circle_summary").sort_values("outlet_id")
    return paginate(summary[[c for c in CircleSummary.model_fields if c in summary.columns]], pg)


@router.get(
    "/circles/{outlet_id}/merchants",
    response_model=Page[CircleMerchant],
    summary="商圈商户 Merchants of one circle",
    description=(
        "一个范围内网点微商圈内的商户（按距离排序）及其命中的商户标签。网点不在范围内时 404。\n\n"
        "The merchants in the circle of one outlet in scope, nearest first, with the merchant tags true for "
        "each. 404 when the outlet is unknown or not in the caller's scope."
    ),
)
def circle_merchants(
    ctx: Annotated[Context, Depends(context)],
    pg: Annotated[Paging, Depends(paging)],
    outlet_id: Annotated[str, Path(min_length=1, max_length=32, pattern=ID_PATTERN, description="网点号")],
) -> dict[str, Any]:
    data = ctx.data
    data.outlet(outlet_id)  # OutOfScope → 404
    members = data.table("circle_members", outlet_id=outlet_id).sort_values(["distance_m", "merchant_id"])
    visible = set(data.outlet_ids())
    members = members.assign(
        home_outlet_id=members["home_outlet_id"].where(members["home_outlet_id"].isin(visible))
    )
    answer = paginate(members[[c for c in CircleMerchant.model_fields if c in members.columns]], pg)
    tags = _true_tags(data, [m["merchant_id"] for m in answer["items"]])
    for item in answer["items"]:
        item["tags"] = tags.get(item["merchant_id"])
    return answer


def _true_tags(data: ScopedData, merchant_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Merchant id -> its true boolean tags (id and zh name), for the merchants whose tag row is in scope."""
    names = tag_names(data.run, "merchant")
    if not names or not merchant_ids or not data.run.has("merchant_tags"):
        return {}
    wide = data.table("merchant_tags")
    wide = wide[wide["merchant_id"].isin(set(merchant_ids))].drop_duplicates("merchant_id")
    columns = [c for c in names if c in wide.columns]
    flags = wide.set_index("merchant_id")[columns].eq(True)
    return {
        str(merchant): [{"tag_id": c, "name_zh": names[c]} for c, on in zip(columns, row, strict=True) if on]
        for merchant, row in zip(flags.index, flags.to_numpy(), strict=True)
    }
