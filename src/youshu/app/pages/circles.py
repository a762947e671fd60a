"""微商圈 circles: the outlets in scope with their circle summary and map, and one outlet's circle in detail."""

from __future__ import annotations

import html
import math
from typing import Annotated, Any, Literal
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from youshu.app.access import ScopedData
from youshu.app.pages.catalogue import tag_names
from youshu.app.web import Context, context, figure_json
from youshu.geo.distance import circle_polygon
from youshu.geo.map import CIRCLE_COLOUR, MARKER_COLOURS, OUTLET_COLOUR, lonlat_figure, status_labels

router = APIRouter(include_in_schema=False)

#: Columns the outlet table may be sorted by.
SortKey = Literal[
    "outlet_id", "penetration", "merchants", "effective_share", "low_activity_merchants", "qr_amount_fen"
]
PAGE_SIZE = 100


# -- /circles -----------------------------------------------------------------------------------------------------
@router.get("/circles", response_class=HTMLResponse)
def circles(
    ctx: Context = Depends(context),
    sort: Annotated[SortKey, Query(description="column to sort by")] = "penetration",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The outlets in scope with their circle summary (sortable) and a map of them."""
    summary = ctx.data.table("circle_summary")
    ordered = summary.sort_values(
        [sort, "outlet_id"], ascending=[order == "asc", True], na_position="last", kind="stable"
    )
    pages = max(1, math.ceil(len(ordered) / PAGE_SIZE))
    page = min(page, pages)
    rows = ordered.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].to_dict("records")
    totals = {
        "outlets": len(summary),
        "merchants": int(summary["merchants"].sum()),
        "acquired": int(summary["acquired_merchants"].sum()),
        "prospects": int(summary["prospect_merchants"].sum()),
        "effective": int(summary["effective_merchants"].sum()),
        "low_activity": int(summary["low_activity_merchants"].sum()),
    }
    return ctx.render(
        "circles.html",
        page="circles",
        title="微商圈",
        rows=rows,
        totals=totals,
        sort=sort,
        order=order,
        window_days=_window_days(ctx.data),
        paging={
            "page": page,
            "pages": pages,
            "total": len(ordered),
            "base": f"/circles?sort={sort}&order={order}&",
        },
        map_chart=ctx.memo("circles.map", lambda: figure_json(_outlets_map(summary))),
    )


def _window_days(data: ScopedData) -> Any:
    """Days of QR payments the circle volumes count (the run's ``circles/circles.json``), or "—"."""
    meta = data.run.json("circles/circles.json")
    return meta.get("effective_window_days", "—") if isinstance(meta, dict) else "—"


def _outlets_map(summary: pd.DataFrame) -> go.Figure:
    """Outlet markers coloured by penetration; clicking one opens its circle (customdata = URL)."""
    traces = []
    known = summary[summary["penetration"].notna()]
    unknown = summary[summary["penetration"].isna()]
    for part, marker, name in (
        (
            known,
            {
                "color": known["penetration"],
                "colorscale": "YlGn",
                "cmin": 0.0,
                "cmax": 1.0,
                "colorbar": {"title": {"text": "渗透率"}, "tickformat": ".0%"},
            },
            "网点 outlet (按渗透率着色)",
        ),
        (unknown, {"color": "#9aa5b1"}, "网点 outlet (商圈无商户)"),
    ):
        if part.empty:
            continue
        traces.append(
            go.Scatter(
                x=part["lon"],
                y=part["lat"],
                mode="markers",
                marker={
                    "size": 11,
                    "symbol": "square",
                    "line": {"width": 1, "color": OUTLET_COLOUR},
                    **marker,
                },
                name=name,
                customdata=[f"/circles/{quote(str(o), safe='')}" for o in part["outlet_id"]],
                text=[
                    f"{html.escape(str(n))} ({html.escape(str(o))})<br>商户 {m} · 渗透率 "
                    f"{'—' if pd.isna(p) else f'{p:.0%}'}"
                    for n, o, m, p in zip(
                        part["outlet_name"],
                        part["outlet_id"],
                        part["merchants"],
                        part["penetration"],
                        strict=True,
                    )
                ],
                hoverinfo="text",
            )
        )
    mean_lat = float(summary["lat"].mean()) if len(summary) else 30.0
    return lonlat_figure(traces, "范围内网点 outlets in scope (点击打开商圈 click to open)", mean_lat)


# -- /circles/{outlet_id} -----------------------------------------------------------------------------------------
@router.get("/circles/{outlet_id}", response_class=HTMLResponse)
def circle(outlet_id: str, ctx: Context = Depends(context)) -> HTMLResponse:
    """One outlet's circle: map, merchants with their tags, tag counts, category mix, alerts and VIPs."""
    data = ctx.data
    outlet = data.outlet(outlet_id)
    run = data.run
    summary = _of(data.table("circle_summary"), outlet_id)
    members = _of(data.table("circle_members"), outlet_id).sort_values(["distance_m", "merchant_id"])
    names = tag_names(run, "merchant")
    members = members.assign(tags=_true_tags(data, members["merchant_id"], names))
    tags = (
        _of(data.table("circle_tags"), outlet_id).sort_values(
            "tagged_merchants", ascending=False, kind="stable"
        )
        if run.has("circle_tags")
        else None
    )
    categories = _of(data.table("circle_categories"), outlet_id).sort_values(
        ["merchants", "category"], ascending=[False, True]
    )
    alerts = (
        _of(data.table("merchant_alerts"), outlet_id).sort_values(["rule", "merchant_id"])
        if run.has("merchant_alerts")
        else None
    )
    vip = (
        _of(data.table("merchant_vip"), outlet_id).sort_values("deposit_fen", ascending=False)
        if run.has("merchant_vip")
        else None
    )
    row = summary.iloc[0].to_dict() if len(summary) else None
    map_chart = ctx.memo(f"circle.map:{outlet_id}", lambda: figure_json(_circle_map(outlet, row, members)))
    return ctx.render(
        "circle.html",
        page="circles",
        title=f"微商圈 · {outlet['outlet_name']}",
        outlet=outlet.to_dict(),
        summary=row,
        members=members.to_dict("records"),
        tags=tags.to_dict("records") if tags is not None else None,
        categories=categories.to_dict("records"),
        alerts=alerts.to_dict("records") if alerts is not None else None,
        vip=vip.to_dict("records") if vip is not None else None,
        map_chart=map_chart,
    )


def _of(frame: pd.DataFrame, outlet_id: str) -> pd.DataFrame:
    return frame[frame["outlet_id"] == outlet_id]


def _true_tags(data: ScopedData, merchant_ids: pd.Series, names: dict[str, str]) -> list[list[str] | None]:
    """The zh names of each merchant's true boolean tags; ``None`` where the merchant's tag row is not in scope
    (its home outlet is another outlet) or the run has no merchant tags."""
    if not names or not data.run.has("merchant_tags") or merchant_ids.empty:
        return [None] * len(merchant_ids)
    wide = data.table("merchant_tags")
    wide = wide[wide["merchant_id"].isin(set(merchant_ids))].drop_duplicates("merchant_id")
    columns = [c for c in names if c in wide.columns]
    flags = wide.set_index("merchant_id")[columns].eq(True)
    found: dict[Any, list[str]] = {
        m: [names[c] for c, on in zip(columns, values, strict=True) if on]
        for m, values in zip(flags.index, flags.to_numpy(), strict=True)
    }
    return [found.get(m) for m in merchant_ids]


def _circle_map(outlet: pd.Series, summary: dict[str, Any] | None, members: pd.DataFrame) -> go.Figure:
    """The outlet, its circle ring and its merchants coloured by status, on tile-free lon/lat axes."""
    lat, lon = float(outlet["lat"]), float(outlet["lon"])
    radius_km = float(summary["radius_km"]) if summary is not None else None
    traces: list[go.Scatter] = []
    if radius_km is not None:
        ring_lat, ring_lon = circle_polygon(lat, lon, radius_km * 1000.0)
        traces.append(
            go.Scatter(
                x=ring_lon,
                y=ring_lat,
                mode="lines",
                line={"color": CIRCLE_COLOUR, "width": 1.2},
                name=f"微商圈 {radius_km:g} km circle",
                hoverinfo="skip",
            )
        )
    labels = status_labels(members) if len(members) else pd.Series(dtype=object)
    for label, colour in MARKER_COLOURS.items():
        part = members[labels == label]
        if part.empty:
            continue
        traces.append(
            go.Scatter(
                x=part["lon"],
                y=part["lat"],
                mode="markers",
                marker={"color": colour, "size": 10, "line": {"width": 0.5, "color": "white"}},
                name=label,
                text=[
                    f"{html.escape(str(n))}<br>{html.escape(str(c))} · {label} · {d:,.0f} m"
                    for n, c, d in zip(
                        part["merchant_name"], part["category_zh"], part["distance_m"], strict=True
                    )
                ],
                hoverinfo="text",
            )
        )
    traces.append(
        go.Scatter(
            x=[lon],
            y=[lat],
            mode="markers",
            marker={
                "color": OUTLET_COLOUR,
                "size": 14,
                "symbol": "square",
                "line": {"width": 1, "color": "white"},
            },
            name="网点 outlet",
            text=[html.escape(f"{outlet['outlet_name']} ({outlet['outlet_id']})")],
            hoverinfo="text",
        )
    )
    title = f"{outlet['outlet_name']} 微商圈 circle" + (
        f" ({radius_km:g} km)" if radius_km is not None else ""
    )
    return lonlat_figure(traces, html.escape(title), lat)
