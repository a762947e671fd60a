"""An offline interactive map of circles: outlets, service circles, merchants coloured by tag, Huff zones.

Drawn with plotly on plain x/y axes (longitude, latitude with the aspect ratio of the map's mean latitude), so
nothing is fetched: no tile server, no base-map topojson (plotly's geo traces would download it), no CDN.
:func:`map_html` writes one self-contained HTML file with plotly.js embedded; :func:`map_figure` returns the
figure for a report section (``FigureBlock(map_figure(...))`` in ``youshu.reports.html``). Circles are true
geodesic circles (72-gon), Huff zones the outlines of their H3 cells.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import h3
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from youshu.geo.circles import CircleResult
from youshu.geo.distance import circle_polygon

__all__ = ["MARKER_COLOURS", "OUTLET_COLOUR", "lonlat_figure", "map_figure", "map_html", "offline_page"]

#: Outlets are dark red squares.
OUTLET_COLOUR = "#b3001b"
#: Colours of the default merchant labels; other tags take ``TAG_PALETTE`` in order of appearance.
MARKER_COLOURS: dict[str, str] = {
    "有效商户 effective": "#1a9641",
    "低活跃商户 low activity": "#f28e2b",
    "潜在商户 prospect": "#2b6cb0",
}
TAG_PALETTE = ("#1a9641", "#f28e2b", "#2b6cb0", "#9c27b0", "#00897b", "#6d4c41", "#e91e63", "#546e7a")
CIRCLE_COLOUR = "rgba(70, 70, 70, 0.55)"
#: Huff zones: fill and outline per probability level (teal, apart from every marker colour).
ZONE_COLOURS = {
    0.5: ("rgba(0, 150, 136, 0.10)", "rgba(0, 150, 136, 0.55)"),
    0.7: ("rgba(0, 105, 92, 0.22)", "rgba(0, 105, 92, 0.75)"),
}
_FALLBACK_ZONE = ("rgba(120, 120, 120, 0.15)", "rgba(120, 120, 120, 0.6)")


def status_labels(members: pd.DataFrame) -> pd.Series:
    """The status label of each circle member: 有效商户 / 低活跃商户 / 潜在商户 (prospect)."""
    labels = np.where(
        members["is_effective"],
        "有效商户 effective",
        np.where(members["is_acquired"], "低活跃商户 low activity", "潜在商户 prospect"),
    )
    return pd.Series(labels, index=members.index)


def _rings(circles: CircleResult, outlets: pd.DataFrame) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for la, lo in zip(outlets["lat"], outlets["lon"], strict=True):
        ring_lat, ring_lon = circle_polygon(float(la), float(lo), circles.radius_km * 1000.0)
        xs.extend([*ring_lon.tolist(), None])
        ys.extend([*ring_lat.tolist(), None])
    return xs, ys


def _zone_traces(zones: pd.DataFrame, outlet_ids: set[str]) -> list[go.Scatter]:
    traces = []
    for level in sorted(zones["level"].unique()):
        xs: list[float | None] = []
        ys: list[float | None] = []
        inside = zones[(zones["level"] >= level) & zones["outlet_id"].isin(outlet_ids)]
        for _, cells in inside.groupby("outlet_id")["h3_cell"]:
            shape = h3.cells_to_h3shape(list(cells))
            polys = list(shape) if isinstance(shape, h3.LatLngMultiPoly) else [shape]
            for poly in polys:
                ring = [*poly.outer, poly.outer[0]]
                xs.extend([p[1] for p in ring] + [None])
                ys.extend([p[0] for p in ring] + [None])
        if not xs:
            continue
        fill, outline = ZONE_COLOURS.get(float(level), _FALLBACK_ZONE)
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=fill,
                line={"color": outline, "width": 1},
                name=f"哈夫商圈 Huff ≥{level:.0%}",
                hoverinfo="skip",
            )
        )
    return traces


def map_figure(
    circles: CircleResult,
    *,
    outlet_ids: Sequence[str] | None = None,
    merchant_tags: Mapping[str, str] | None = None,
    huff_zones: pa.Table | pd.DataFrame | None = None,
    max_merchants: int = 20_000,
    title: str | None = None,
) -> go.Figure:
    """The circles map as a plotly figure (no network needed to draw it).

    Parameters
    ----------
    circles : CircleResult
        The circles to draw.
    outlet_ids : sequence of str, optional
        Outlets to show (default all) with their circles, members and zones.
    merchant_tags : mapping of str to str, optional
        A label per merchant id (e.g. a merchant tag's zh name); merchants without one keep their status.
        Default: status labels 有效商户 / 低活跃商户 / 潜在商户.
    huff_zones : table, optional
        Output of :func:`youshu.geo.huff.trade_areas`, drawn as filled zone outlines.
    max_merchants : int
        Merchants drawn at most (an even, seeded sample beyond it; the title says so).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    summary = circles.summary.to_pandas()
    members = circles.members.to_pandas()
    if outlet_ids is not None:
        wanted = set(outlet_ids)
        summary = summary[summary["outlet_id"].isin(wanted)]
        members = members[members["outlet_id"].isin(wanted)]
    shown = set(summary["outlet_id"])
    merchants = members.drop_duplicates("merchant_id").reset_index(drop=True)
    total = len(merchants)
    if total > max_merchants:
        merchants = merchants.sample(n=max_merchants, random_state=0).sort_index()
    labels = status_labels(merchants)
    if merchant_tags:
        tagged = merchants["merchant_id"].map(dict(merchant_tags))
        labels = tagged.where(tagged.notna(), labels)
    traces: list[go.Scatter] = []
    if huff_zones is not None:
        zones = huff_zones.to_pandas() if isinstance(huff_zones, pa.Table) else huff_zones
        traces.extend(_zone_traces(zones, shown))
    xs, ys = _rings(circles, summary)
    traces.append(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": CIRCLE_COLOUR, "width": 1.2},
            name=f"微商圈 {circles.radius_km:g} km circle",
            hoverinfo="skip",
        )
    )
    palette = iter(c for c in TAG_PALETTE if c not in MARKER_COLOURS.values())
    for label in sorted(labels.unique(), key=lambda v: (v not in MARKER_COLOURS, v)):
        part = merchants[labels == label]
        colour = MARKER_COLOURS.get(label) or next(palette, "#555555")
        traces.append(
            go.Scatter(
                x=part["lon"],
                y=part["lat"],
                mode="markers",
                marker={"color": colour, "size": 8, "line": {"width": 0.5, "color": "white"}},
                name=label,
                text=[
                    f"{html.escape(str(n))}<br>{html.escape(str(c))} · {html.escape(str(label))}"
                    for n, c in zip(part["merchant_name"], part["category_zh"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    traces.append(
        go.Scatter(
            x=summary["lon"],
            y=summary["lat"],
            mode="markers",
            marker={
                "color": OUTLET_COLOUR,
                "size": 13,
                "symbol": "square",
                "line": {"width": 1, "color": "white"},
            },
            name="网点 outlet",
            text=[
                f"{html.escape(str(name))} ({oid})<br>商户 {m} · 渗透率 {'' if pd.isna(p) else f'{p:.0%}'}"
                for name, oid, m, p in zip(
                    summary["outlet_name"],
                    summary["outlet_id"],
                    summary["merchants"],
                    summary["penetration"],
                    strict=True,
                )
            ],
            hoverinfo="text",
        )
    )
    mean_lat = float(summary["lat"].mean()) if len(summary) else 30.0
    heading = title or f"微商圈地图 circles map · {circles.as_of}"
    if total > len(merchants):
        heading += f" (显示 {len(merchants):,} / {total:,} 商户 merchants shown)"
    return lonlat_figure(traces, heading, mean_lat)


def map_html(
    circles: CircleResult,
    *,
    outlet_ids: Sequence[str] | None = None,
    merchant_tags: Mapping[str, str] | None = None,
    huff_zones: pa.Table | pd.DataFrame | None = None,
    max_merchants: int = 20_000,
    title: str | None = None,
) -> str:
    """One self-contained HTML page of the circles map: plotly.js inline, no external resource.

    Parameters are those of :func:`map_figure`.

    Examples
    --------
    >>> Path("circles.html").write_text(map_html(circles), encoding="utf-8")  # doctest: +SKIP
    """
    fig = map_figure(
        circles,
        outlet_ids=outlet_ids,
        merchant_tags=merchant_tags,
        huff_zones=huff_zones,
        max_merchants=max_merchants,
        title=title,
    )
    return offline_page(fig, "youshu-circles-map")


def lonlat_figure(traces: Sequence[go.Scatter], heading: str, mean_lat: float) -> go.Figure:
    """A map without tiles: plain longitude/latitude axes, east-west scaled by cos(latitude) so distances look
    right, white background and the legend below (the circles map and the county map use it)."""
    fig = go.Figure(list(traces))
    fig.update_layout(
        title={"text": heading},
        xaxis={"title": {"text": "经度 longitude"}, "showgrid": False, "zeroline": False},
        yaxis={
            "title": {"text": "纬度 latitude"},
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "scaleratio": 1.0 / math.cos(math.radians(mean_lat)),
        },
        plot_bgcolor="white",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.12},
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
    )
    return fig


def offline_page(fig: go.Figure, div_id: str) -> str:
    """``fig`` as one self-contained HTML page: plotly.js inline, nothing fetched; a fixed ``div_id`` so a
    rerun writes the same bytes."""
    return fig.to_html(
        include_plotlyjs=True,
        full_html=True,
        include_mathjax=False,
        config={"displaylogo": False, "responsive": True},
        default_height="92vh",
        div_id=div_id,
    )
