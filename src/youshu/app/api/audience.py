"""API: count an audience (客群) in scope from a tag expression, in total and per outlet."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from youshu.app.api.common import ERRORS
from youshu.app.web import Context, context

router = APIRouter(prefix="/audience", tags=["audience 客群圈选"], responses=ERRORS)


class OutletCount(BaseModel):
    """Members of the audience at one outlet in scope."""

    outlet_id: str
    outlet_name: str | None = None
    customers: int


class AudienceCount(BaseModel):
    """How many customers in scope match the expression."""

    expression: str
    total: int = Field(description="customers in scope matching the expression")
    outlets: list[OutletCount] = Field(description="per outlet in scope with members, most members first")


@router.get(
    "/count",
    response_model=AudienceCount,
    summary="客群计数 Count an audience",
    description=(
        "按标签表达式（AND、OR、NOT 和括号，如 `女性客群 AND 行外理财客户 AND NOT 沉睡客户`）统计您范围内的"
        "客户数及各网点人数；表达式有误或标签未知时 422。需要客群圈选权限。\n\n"
        "Counts the customers in the caller's scope matching a tag expression (tags joined by AND, OR, NOT and "
        "parentheses), in total and per outlet, from the run's tag bitmaps. A malformed expression or an "
        "unknown tag is 422. Needs the audience permission."
    ),
)
def count(
    ctx: Annotated[Context, Depends(context)],
    expression: Annotated[
        str,
        Query(
            min_length=1,
            max_length=2000,
            description="标签表达式 tag expression, e.g. 女性客群 AND NOT 沉睡客户",
        ),
    ],
) -> AudienceCount:
    members = ctx.data.audience(expression)
    per_outlet = members.groupby("outlet_id").size().rename("customers").reset_index()
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    per_outlet = per_outlet.merge(outlets, on="outlet_id", how="left").sort_values(
        ["customers", "outlet_id"], ascending=[False, True]
    )
    return AudienceCount(
        expression=expression,
        total=len(members),
        outlets=[
            OutletCount(outlet_id=str(o), outlet_name=None if pd.isna(n) else str(n), customers=int(c))
            for o, n, c in zip(
                per_outlet["outlet_id"], per_outlet["outlet_name"], per_outlet["customers"], strict=True
            )
        ],
    )
