"""营销名单: the target lists of the run (理财营销名单, 一县一品入选客户) per outlet in scope, their rows, and
stamped Excel/CSV exports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from youshu.app.access import OutOfScope
from youshu.app.exports import Column, ExportFormat, export_response, fen_to_yuan, scope_text
from youshu.app.roles import Permission
from youshu.app.web import Context, context

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@dataclass(frozen=True)
class ListSpec:
    """A list of the run: its table (see ``rundata.TABLES``), owning-outlet column, score and extra columns."""

    table: str
    zh: str
    en: str
    outlet: str
    score: str
    score_label: str
    extra: tuple[tuple[str, str], ...] = ()


LISTS: dict[str, ListSpec] = {
    "wealth_targets": ListSpec(
        "wealth_targets",
        "理财营销名单",
        "wealth product targets",
        outlet="outlet_id",
        score="score",
        score_label="倾向评分 score",
        extra=(("campaign_zh", "营销活动 campaign"),),
    ),
    "rural_selection": ListSpec(
        "rural_selection",
        "一县一品入选客户",
        "one county, one product: selected customers",
        outlet="home_outlet_id",
        score="eligibility_score",
        score_label="准入评分 eligibility score",
        extra=(("chain_industry_zh", "特色产业 industry"), ("chain_stage_zh", "产业链环节 chain stage")),
    ),
}

ListName = Annotated[str, Path(max_length=64)]
OutletFilter = Annotated[str | None, Query(max_length=32, description="only this outlet (in scope)")]


def _spec(ctx: Context, name: str) -> ListSpec:
    spec = LISTS.get(name)
    if spec is None or not ctx.data.run.has(spec.table):
        known = ", ".join(n for n, s in LISTS.items() if ctx.data.run.has(s.table))
        raise OutOfScope(f"名单 list {name!r} 不存在 not found; lists of this run: {known}")
    return spec


def _list_rows(ctx: Context, spec: ListSpec, outlet_id: str | None) -> pd.DataFrame:
    """The list's rows in scope (masked), of one outlet when given (404 when it is not in scope), with the
    outlet's name, ordered by outlet and rank within it."""
    if outlet_id:
        ctx.data.outlet(outlet_id)
    frame = ctx.data.table(spec.table)
    if outlet_id:
        frame = frame[frame[spec.outlet] == outlet_id]
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    frame = frame.merge(outlets.rename(columns={"outlet_id": spec.outlet}), on=spec.outlet, how="left")
    return frame.sort_values([spec.outlet, "rank_in_outlet", "customer_id"]).reset_index(drop=True)


def _per_outlet(ctx: Context, spec: ListSpec) -> list[dict[str, Any]]:
    """Rows per outlet in scope: counted from the list when the role may read customer rows, else taken from
    the wealth list's outlet summary (an aggregate); the wealth list adds capacity, candidates and exclusions."""
    counts = pd.DataFrame({"outlet_id": pd.Series(dtype=str), "rows": pd.Series(dtype="int64")})
    if ctx.principal.can(Permission.CUSTOMER_ROWS):
        rows = ctx.data.table(spec.table)
        counts = rows.groupby(spec.outlet).size().rename("rows").rename_axis("outlet_id").reset_index()
    if spec.table == "wealth_targets" and ctx.data.run.has("wealth_targets_summary"):
        summary = ctx.data.table("wealth_targets_summary")
        excluded = [c for c in summary.columns if c.startswith("excluded_")]
        summary = summary.assign(excluded=summary[excluded].sum(axis=1))
        summary = summary[["outlet_id", "capacity", "candidates", "selected", "excluded"]]
        counts = summary.merge(counts, on="outlet_id", how="outer")
        if not ctx.principal.can(Permission.CUSTOMER_ROWS):
            counts["rows"] = counts["selected"]
    counts["rows"] = counts["rows"].fillna(0).astype("int64")
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    counts = counts[counts["rows"] > 0].merge(outlets, on="outlet_id", how="left").sort_values("outlet_id")
    return counts.to_dict("records")


@router.get("/lists", response_class=HTMLResponse)
def lists(ctx: Context = Depends(context)) -> HTMLResponse:
    """Each list of the run with its rows per outlet in scope."""
    shown = []
    rows_visible = ctx.principal.can(Permission.CUSTOMER_ROWS)
    for name, spec in LISTS.items():
        if not ctx.data.run.has(spec.table):
            continue
        outlets = _per_outlet(ctx, spec)
        shown.append(
            {
                "name": name,
                "spec": spec,
                "outlets": outlets,
                "total": sum(int(o["rows"]) for o in outlets),
            }
        )
    return ctx.render("lists.html", page="lists", title="营销名单", lists=shown, rows_visible=rows_visible)


@router.get("/lists/{name}", response_class=HTMLResponse)
def list_page(
    name: ListName,
    outlet_id: OutletFilter = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """The rows of one list in scope (optionally one outlet), 50 a page: rank, masked name and phone, score and
    the zh reasons."""
    spec = _spec(ctx, name)
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    frame = _list_rows(ctx, spec, outlet_id or None)
    total = len(frame)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    part = frame.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    choices = sorted(set(ctx.data.table(spec.table)[spec.outlet]))
    base = f"/lists/{quote(name)}?" + (f"outlet_id={quote(outlet_id)}&" if outlet_id else "")
    return ctx.render(
        "list.html",
        page="lists",
        title=spec.zh,
        name=name,
        spec=spec,
        rows=part.to_dict("records"),
        outlet_id=outlet_id or "",
        choices=choices,
        page_no=page,
        pages=pages,
        total=total,
        base=base,
    )


def list_columns(spec: ListSpec) -> list[Column]:
    """The export columns of a list, zh headers with the English beneath."""
    columns = [
        Column(spec.outlet, "网点 outlet"),
        Column("outlet_name", "网点名称 outlet name"),
        Column("rank_in_outlet", "网点内排名 rank"),
        Column("customer_id", "客户号 customer id"),
        Column("name", "姓名 name"),
        Column("phone", "手机号 phone"),
        Column(spec.score, spec.score_label),
        *(Column(key, label) for key, label in spec.extra),
        Column("reasons", "推荐理由 reasons"),
    ]
    if spec.table == "rural_selection":
        columns.insert(-1, Column("aum_fen", "资产(元) AUM (yuan)", fen_to_yuan))
    return columns


@router.get("/lists/{name}/export")
def export_list(
    name: ListName,
    fmt: Annotated[ExportFormat, Query(alias="format", description="xlsx or csv")] = "xlsx",
    outlet_id: OutletFilter = None,
    ctx: Context = Depends(context),
) -> Response:
    """The list in scope (or one outlet's part) as Excel or CSV: masked, stamped with user and time, audited."""
    spec = _spec(ctx, name)
    ctx.principal.require(Permission.EXPORT)
    frame = _list_rows(ctx, spec, outlet_id or None)
    return export_response(
        ctx,
        frame,
        list_columns(spec),
        fmt=fmt,
        stem=name,
        title=f"{spec.zh} {spec.en}",
        resource=f"/lists/{name}",
        scope=scope_text(ctx, outlet_id or None),
        outlet_id=outlet_id or None,
    )
