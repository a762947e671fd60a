"""客群圈选: count the customers in scope matching a tag expression (``女性客群 AND 行外理财客户 AND NOT
沉睡客户``), per outlet, and export them (masked, stamped, audited). Evaluated on the run's tag bitmaps."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from youshu.app.exports import Column, ExportFormat, as_int, export_response, scope_text
from youshu.app.roles import Permission
from youshu.app.web import Context, context

router = APIRouter(include_in_schema=False)

TOP_OUTLETS = 20
EXAMPLE = "女性客群 AND 行外理财客户 AND NOT 沉睡客户"
Expression = Annotated[str, Query(max_length=2000, description="tags joined by AND, OR, NOT and parentheses")]


def _tags(ctx: Context) -> list[dict[str, str]]:
    """The boolean tags an expression may name, with their zh names, in the run's order."""
    index = ctx.data.run.audience()
    ordered = [t for t in index.names if t in index.bitmaps]
    ordered += sorted(t for t in index.bitmaps if t not in index.names)
    return [{"id": t, "zh": index.names.get(t, t)} for t in ordered]


def _by_outlet(ctx: Context, members: pd.DataFrame) -> list[dict[str, Any]]:
    """Matches per outlet in scope, largest first (top 20), with the outlet's customers and the share."""
    counts = members.groupby("outlet_id").size().rename("matches").reset_index()
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    customers = ctx.data.table("customers").groupby("outlet_id").size().rename("customers").reset_index()
    counts = counts.merge(outlets, on="outlet_id", how="left").merge(customers, on="outlet_id", how="left")
    counts["share"] = counts["matches"] / counts["customers"].where(counts["customers"] > 0)
    counts = counts.sort_values(["matches", "outlet_id"], ascending=[False, True]).head(TOP_OUTLETS)
    return counts.to_dict("records")


@router.get("/audience", response_class=HTMLResponse)
def audience(expression: Expression = "", ctx: Context = Depends(context)) -> HTMLResponse:
    """The builder: the expression form, the count in scope and per outlet, and the boolean tags to use.
    A bad expression answers 422 with the parser's message (``AudienceError``, handled by the app)."""
    ctx.principal.require(Permission.AUDIENCE)
    tags = _tags(ctx)
    expression = expression.strip()
    result = None
    if expression:
        members = ctx.data.audience(expression)
        universe = len(ctx.data.table("customers"))
        result = {
            "count": len(members),
            "universe": universe,
            "share": len(members) / universe if universe else None,
            "outlets": _by_outlet(ctx, members),
            "outlets_matched": int(members["outlet_id"].nunique()),
        }
    return ctx.render(
        "audience.html",
        page="audience",
        title="客群圈选",
        expression=expression,
        example=EXAMPLE,
        result=result,
        tags=tags,
    )


@router.get("/audience/export")
def export_audience(
    expression: Annotated[str, Query(min_length=1, max_length=2000)],
    fmt: Annotated[ExportFormat, Query(alias="format", description="xlsx or csv")] = "xlsx",
    ctx: Context = Depends(context),
) -> Response:
    """The audience's customers in scope: id, masked name, outlet and wealth score where present."""
    ctx.principal.require(Permission.AUDIENCE)
    ctx.principal.require(Permission.EXPORT)
    members = ctx.data.audience(expression.strip())
    names = ctx.data.table("customers")[["customer_id", "name"]]
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    frame = members.merge(names, on="customer_id", how="left").merge(outlets, on="outlet_id", how="left")
    columns = [
        Column("customer_id", "客户号 customer id"),
        Column("name", "姓名 name"),
        Column("outlet_id", "网点 outlet"),
        Column("outlet_name", "网点名称 outlet name"),
    ]
    if ctx.data.run.has("wealth_scores"):
        wealth = ctx.data.table("wealth_scores")[["customer_id", "score", "rank"]]
        frame = frame.merge(wealth, on="customer_id", how="left")
        columns += [
            Column("score", "理财倾向评分 wealth score"),
            Column("rank", "全省排名 wealth rank", as_int),
        ]
    frame = frame.sort_values(["outlet_id", "customer_id"]).reset_index(drop=True)
    return export_response(
        ctx,
        frame,
        columns,
        fmt=fmt,
        stem="audience",
        title=f"客群 audience: {expression.strip()}",
        resource="/audience",
        scope=scope_text(ctx),
        expression=expression.strip(),
    )
