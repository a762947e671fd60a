"""API: the run's target lists (理财营销名单, 一县一品入选客户) and their rows in scope."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from youshu.app.access import OutOfScope
from youshu.app.api.common import ERRORS, ID_PATTERN, OutletFilter, Page, Paging, paginate, paging
from youshu.app.pages.lists import LISTS
from youshu.app.roles import Permission
from youshu.app.web import Context, context

router = APIRouter(tags=["lists 营销名单"], responses=ERRORS)


class ListInfo(BaseModel):
    """A list of the run."""

    name: str = Field(description="e.g. wealth_targets")
    name_zh: str
    name_en: str
    rows: int = Field(description="rows in the caller's scope (a count: viewers see it too)")


class ListEntry(BaseModel):
    """A customer on a list (personal data masked). Fields of the other list are null."""

    outlet_id: str = Field(description="网点 outlet the entry belongs to")
    rank_in_outlet: int | None = None
    customer_id: str
    name: str | None = Field(None, description="masked")
    phone: str | None = Field(None, description="masked")
    score: float | None = Field(None, description="倾向评分 / 准入评分 the list's score")
    reasons: str | None = Field(None, description="推荐理由 zh reasons")
    campaign: str | None = None
    campaign_zh: str | None = None
    county_id: str | None = None
    chain_industry: str | None = None
    chain_industry_zh: str | None = None
    chain_stage: str | None = None
    chain_stage_zh: str | None = None
    aum_potential_fen: int | None = None


@router.get(
    "/lists",
    response_model=Page[ListInfo],
    summary="营销名单 Target lists of the run",
    description=(
        "本次运行的营销名单及其在您范围内的行数（计数，只读用户也可见）。\n\n"
        "The target lists this run wrote, with their rows in the caller's scope (a count, so viewers see it "
        "too)."
    ),
)
def list_lists(
    ctx: Annotated[Context, Depends(context)], pg: Annotated[Paging, Depends(paging)]
) -> dict[str, Any]:
    found = [
        {
            "name": name,
            "name_zh": spec.zh,
            "name_en": spec.en,
            # an aggregate: viewers may count the rows of their outlets without reading them
            "rows": int(ctx.data.aggregate(spec.table, [spec.outlet])["rows"].sum()),
        }
        for name, spec in LISTS.items()
        if ctx.data.run.has(spec.table)
    ]
    return paginate(pd.DataFrame(found, columns=list(ListInfo.model_fields)), pg)


@router.get(
    "/lists/{name}",
    response_model=Page[ListEntry],
    summary="名单明细 Rows of one list",
    description=(
        "一份名单在您范围内的客户（姓名、手机号脱敏），按网点和网点内排名排序，可按网点筛选。未知名单 404。\n\n"
        "The rows of one list in the caller's scope (names and phones masked), ordered by outlet and rank in "
        "it; filter by outlet. Unknown list names are 404. Needs the customer_rows permission."
    ),
)
def list_rows(
    ctx: Annotated[Context, Depends(context)],
    pg: Annotated[Paging, Depends(paging)],
    name: Annotated[
        str,
        Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="wealth_targets, rural_selection"),
    ],
    outlet_id: OutletFilter = None,
) -> dict[str, Any]:
    spec = LISTS.get(name)
    if spec is None or not ctx.data.run.has(spec.table):
        known = ", ".join(n for n, s in LISTS.items() if ctx.data.run.has(s.table))
        raise OutOfScope(f"名单 list {name!r} 不存在 not found; lists of this run: {known}")
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    if outlet_id is not None:
        ctx.data.outlet(outlet_id)
    frame = ctx.data.table(spec.table, **({spec.outlet: outlet_id} if outlet_id is not None else {}))
    if spec.outlet != "outlet_id":
        frame = frame.rename(columns={spec.outlet: "outlet_id"})
    if spec.score != "score":
        frame = frame.rename(columns={spec.score: "score"})
    frame = frame.sort_values(["outlet_id", "rank_in_outlet", "customer_id"])
    return paginate(frame[[c for c in ListEntry.model_fields if c in frame.columns]], pg)
