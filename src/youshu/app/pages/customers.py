"""客户 IVL: the IVL cube of the customers in scope, the customers of one cube cell, and one customer's page
(tags, IVL, wealth score, risk flag, list entries) with unmasking on a stated reason."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

import pandas as pd
import yaml
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from youshu.app.access import ScopedData
from youshu.app.pages.catalogue import tag_names
from youshu.app.roles import Permission
from youshu.app.rundata import RunData
from youshu.app.web import Context, check_csrf, context
from youshu.schema.tables import CUSTOMERS

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
#: Shortest and longest reason accepted for unmasking (characters).
REASON_MIN, REASON_MAX = 4, 200
#: Tag definitions shipped with youshu (``<repo>/definitions/tags``), for display names of categorical tags.
SHIPPED_TAGS = FilePath(__file__).resolve().parents[4] / "definitions" / "tags" / "customer"
_NOT_TAGS = {"customer_id", "as_of_date", "outlet_id"}
CustomerId = Annotated[str, Path(max_length=64)]


# -- the cube -----------------------------------------------------------------------------------------------------
def _levels(cube: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Intimacy levels, value levels and lifecycle stages in the order the IVL step wrote them."""
    return (
        [str(v) for v in pd.unique(cube["intimacy_level"])],
        [str(v) for v in pd.unique(cube["value_level"])],
        [str(v) for v in pd.unique(cube["lifecycle_stage_zh"])],
    )


def _cell_counts(ctx: Context) -> pd.DataFrame:
    """Customers and AUM per (intimacy, value, stage) of the customers in scope (an aggregate: viewers see it
    too)."""
    keys = ["intimacy_level", "value_level", "lifecycle_stage_zh"]
    return ctx.data.aggregate("customer_ivl", keys, ("aum_fen",)).rename(columns={"rows": "customers"})


@router.get("/customers/ivl", response_class=HTMLResponse)
def ivl_cube(ctx: Context = Depends(context)) -> HTMLResponse:
    """A 3×3 intimacy × value grid per lifecycle stage with the customers and AUM of each cell and the
    playbook action of the province cube."""
    cube = ctx.data.table("ivl_cube_province")
    intimacy, value, stages = _levels(cube)
    actions = {
        (str(r.intimacy_level), str(r.value_level), str(r.lifecycle_stage_zh)): str(r.action)
        for r in cube.itertuples()
    }
    counts = _cell_counts(ctx)
    stages += [str(s) for s in pd.unique(counts["lifecycle_stage_zh"]) if str(s) not in stages]
    found = {
        (str(r.intimacy_level), str(r.value_level), str(r.lifecycle_stage_zh)): (
            int(r.customers),
            int(r.aum_fen),
        )
        for r in counts.itertuples()
    }
    grids = []
    for stage in stages:
        rows: list[dict[str, Any]] = []
        total = aum_total = 0
        for i in intimacy:
            cells: list[dict[str, Any]] = []
            for v in value:
                customers, aum = found.get((i, v, stage), (0, 0))
                total += customers
                aum_total += aum
                cells.append(
                    {
                        "intimacy": i,
                        "value": v,
                        "customers": customers,
                        "aum_fen": aum,
                        "action": actions.get((i, v, stage), ""),
                    }
                )
            rows.append({"intimacy": i, "cells": cells})
        grids.append({"stage": stage, "rows": rows, "customers": total, "aum_fen": aum_total})
    return ctx.render(
        "ivl.html",
        page="ivl",
        title="客户 IVL",
        grids=grids,
        values=value,
        scoped=True,
        total=int(counts["customers"].sum()),
        aum_fen=int(counts["aum_fen"].sum()),
    )


def _invalid(field: str, value: str, allowed: list[str]) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "loc": ("query", field),
                "msg": f"{value!r} is not one of {', '.join(allowed)} 取值应为 {' / '.join(allowed)}",
                "type": "enum",
            }
        ]
    )


@router.get("/customers/ivl/cell", response_class=HTMLResponse)
def ivl_cell(
    intimacy: Annotated[str, Query(max_length=16, description="亲密度 intimacy level")],
    value: Annotated[str, Query(max_length=16, description="潜力 value level")],
    stage: Annotated[str, Query(max_length=16, description="生命周期 lifecycle stage (zh)")],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """The customers in scope of one cube cell, largest AUM first, 50 a page."""
    ctx.principal.require(Permission.CUSTOMER_ROWS)
    cube = ctx.data.table("ivl_cube_province")
    levels = _levels(cube)
    for field, given, allowed in zip(
        ("intimacy", "value", "stage"), (intimacy, value, stage), levels, strict=True
    ):
        if given not in allowed:
            raise _invalid(field, given, allowed)
    ivl = ctx.data.table("customer_ivl")
    cell = ivl[
        (ivl["intimacy_level"] == intimacy)
        & (ivl["value_level"] == value)
        & (ivl["lifecycle_stage_zh"] == stage)
    ].sort_values(["aum_fen", "customer_id"], ascending=[False, True])
    total = len(cell)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    part = cell.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    names = ctx.data.table("customers")[["customer_id", "name"]]
    part = part.merge(names, on="customer_id", how="left")
    outlets = ctx.data.table("outlets")[["outlet_id", "outlet_name"]]
    part = part.merge(outlets, on="outlet_id", how="left")
    has_wealth = ctx.data.run.has("wealth_scores")
    if has_wealth:
        wealth = ctx.data.table("wealth_scores")[["customer_id", "score"]].rename(
            columns={"score": "wealth_score"}
        )
        part = part.merge(wealth, on="customer_id", how="left")
    match = cube[
        (cube["intimacy_level"] == intimacy)
        & (cube["value_level"] == value)
        & (cube["lifecycle_stage_zh"] == stage)
    ]
    action = str(match["action"].iloc[0]) if not match.empty else ""
    return ctx.render(
        "ivl_cell.html",
        page="ivl",
        title=f"IVL {intimacy}亲密·{value}潜力·{stage}",
        intimacy=intimacy,
        value=value,
        stage=stage,
        action=action,
        rows=part.to_dict("records"),
        has_wealth=has_wealth,
        page_no=page,
        pages=pages,
        total=total,
        aum_fen=int(cell["aum_fen"].sum()),
    )


# -- one customer -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _shipped_tag_names() -> dict[str, str]:
    """zh display names from the shipped customer tag definitions (empty when not a source checkout)."""
    names: dict[str, str] = {}
    if not SHIPPED_TAGS.is_dir():
        return names
    for file in sorted(SHIPPED_TAGS.glob("*.yml")):
        entries = yaml.safe_load(file.read_text(encoding="utf-8")) or []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("id") and entry.get("display_name_zh"):
                names[str(entry["id"])] = str(entry["display_name_zh"])
    return names


@lru_cache(maxsize=4)
def customer_tag_names(run: RunData) -> dict[str, str]:
    """zh display names of the customer tags of ``run``: the boolean tags as its tags step recorded them
    (:func:`youshu.app.pages.catalogue.tag_names`), its model tags, else the shipped definitions."""
    names = dict(_shipped_tag_names())
    model = run.json("tags/customer_tags/as_of_date={as_of}/model_tags.json") or {}
    for tag, meta in (model.get("tags") or {}).items():
        if isinstance(meta, dict) and meta.get("display_name_zh"):
            names[str(tag)] = str(meta["display_name_zh"])
    names.update(tag_names(run, "customer"))
    return names


def _present(value: Any) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def _row(data: ScopedData, table: str, customer_id: str) -> dict[str, Any] | None:
    """The customer's row of ``table`` (None when the run has no such table or no row)."""
    if not data.run.has(table):
        return None
    frame = data.table(table)
    rows = frame[frame["customer_id"] == customer_id]
    return rows.iloc[0].to_dict() if not rows.empty else None


def _rows(data: ScopedData, table: str, customer_id: str) -> list[dict[str, Any]]:
    if not data.run.has(table):
        return []
    frame = data.table(table)
    return frame[frame["customer_id"] == customer_id].to_dict("records")


def _tags(data: ScopedData, customer_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, Any]]]:
    """(true boolean tags as (id, zh)), (categorical and score tags as (id, zh, value))."""
    row = _row(data, "customer_tags", customer_id)
    if row is None:
        return [], []
    names = customer_tag_names(data.run)
    index = (
        data.run.audience()
        if data.run.path("tags/customer_tags/as_of_date={as_of}/audience").exists()
        else None
    )
    booleans = set(index.bitmaps) if index is not None else set()
    true_tags: list[tuple[str, str]] = []
    other: list[tuple[str, str, Any]] = []
    for column, value in row.items():
        if column in _NOT_TAGS or not _present(value):
            continue
        if column in booleans or isinstance(value, bool):
            if bool(value):
                true_tags.append((column, names.get(column, column)))
        else:
            other.append((column, names.get(column, column), value))
    return true_tags, other


def customer_view(data: ScopedData, customer_id: str) -> dict[str, Any]:
    """Everything the customer page shows, read through ``data`` (masked unless it unmasks this customer).

    Raises
    ------
    youshu.app.access.OutOfScope
        When the customer is unknown or not in scope.
    """
    master = data.customer(customer_id)
    outlets = data.table("outlets")
    outlet = outlets[outlets["outlet_id"] == master["outlet_id"]]
    fields = [
        (CUSTOMERS.column(c).zh if c in CUSTOMERS.column_names else c, c, master[c])
        for c in ("customer_id", "name", "phone", "id_card_no", "gender", "birth_date", "occupation")
        if c in master.index
    ]
    true_tags, other_tags = _tags(data, customer_id)
    wealth = _row(data, "wealth_scores", customer_id)
    reasons = []
    if wealth is not None:
        reasons = [str(wealth[f"reason_{i}"]) for i in (1, 2, 3) if _present(wealth.get(f"reason_{i}"))]
    return {
        "customer": master.to_dict(),
        "fields": fields,
        "outlet_name": str(outlet["outlet_name"].iloc[0]) if not outlet.empty else "",
        "ivl": _row(data, "customer_ivl", customer_id),
        "true_tags": true_tags,
        "other_tags": other_tags,
        "wealth": wealth,
        "wealth_reasons": reasons,
        "risk": _row(data, "customer_risk_flags", customer_id),
        "wealth_targets": _rows(data, "wealth_targets", customer_id),
        "rural": _rows(data, "rural_selection", customer_id),
    }


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(customer_id: CustomerId, ctx: Context = Depends(context)) -> HTMLResponse:
    """One customer in scope: master data (masked), IVL, tags, wealth score, risk flag and list entries."""
    view = customer_view(ctx.data, customer_id)
    return ctx.render("customer.html", page="ivl", title=f"客户 {customer_id}", unmasked=False, **view)


@router.post("/customers/{customer_id}/unmask", response_class=HTMLResponse)
async def unmask(request: Request, customer_id: CustomerId, ctx: Context = Depends(context)) -> HTMLResponse:
    """The customer page with this one customer's name, phone and ID number in full: needs the ``unmask``
    permission, the form's CSRF token and a reason, and is audited. Nothing unmasked is stored."""
    ctx.principal.require(Permission.UNMASK)
    await check_csrf(request, ctx)
    form = await request.form()
    given = form.get("reason")
    reason = given.strip() if isinstance(given, str) else ""
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        view = await run_in_threadpool(customer_view, ctx.data, customer_id)
        return ctx.render(
            "customer.html",
            status_code=422,
            page="ivl",
            title=f"客户 {customer_id}",
            unmasked=False,
            unmask_error=(
                f"请填写查看原因（{REASON_MIN}–{REASON_MAX} 个字）"
                f" a reason of {REASON_MIN} to {REASON_MAX} characters is required"
            ),
            **view,
        )
    data = ScopedData(ctx.data.run, ctx.principal, unmask_customer=customer_id)
    view = await run_in_threadpool(customer_view, data, customer_id)  # OutOfScope (404) before the audit
    ctx.audit("unmask", f"/customers/{customer_id}", reason=reason)
    return ctx.render(
        "customer.html", page="ivl", title=f"客户 {customer_id}", unmasked=True, reason=reason, **view
    )
