"""An offline county map of specialties (一县一品地图): one marker per county, sized and coloured by its top product.

Drawn as the circles map is (``youshu.geo.map``): plotly scatter traces on plain x/y axes (longitude,
latitude with the aspect ratio of the map's mean latitude), so nothing is fetched: no tile server, no
base-map topojson, no CDN. Each county (its centroid in ``counties``) is a marker

- coloured by the product ranked first in the county by the specialty catalogue (one legend entry per
  product, zh name of ``Industry``);
- sized by that product's activity in the county: yuan of its transactions and loan principal over the
  catalogue's window (the catalogue's scale), marker area proportional to it;
- with hover text listing the county's top three products, their location quotient (区位商) and
  competitiveness index (竞争力指数).

Counties without any catalogue row are small grey rings (无特产活动). :func:`county_map_figure` returns the
figure (a report's ``FigureBlock``), :func:`county_map_html` one self-contained page with plotly.js inline.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from youshu.atomic import atomic_file
from youshu.engine import Engine, Tables
from youshu.errors import YoushuError
from youshu.geo.map import lonlat_figure, offline_page
from youshu.rural.catalogue import specialty_catalogue
from youshu.schema.enums import INDUSTRY_ZH

__all__ = [
    "INDUSTRY_COLOURS",
    "NO_SPECIALTY",
    "county_map_figure",
    "county_map_html",
    "county_specialties",
    "write_county_map",
]

#: One colour per product, in the order of the ``Industry`` enum (stable between runs and provinces), hues apart.
INDUSTRY_COLOURS: dict[str, str] = dict(
    zip(
        INDUSTRY_ZH,
        (
            "#2e7d32",  # tea: green
            "#795548",  # walnut: brown
            "#fb8c00",  # citrus: orange
            "#e53935",  # apple: red
            "#9e9d24",  # kiwi: olive
            "#ad1457",  # chili: crimson
            "#5c6bc0",  # mushroom: indigo
            "#fdd835",  # rice: yellow
            "#29b6f6",  # honey: light blue
            "#37474f",  # cattle: slate
            "#f48fb1",  # pig: pink
            "#00897b",  # bamboo: teal
        ),
        strict=True,
    )
)
NO_SPECIALTY = "无特产活动 no specialty activity"
_GREY = "#9e9e9e"
#: Marker diameters in px: the smallest and largest county with activity.
MIN_SIZE, MAX_SIZE = 8.0, 40.0
_NEEDED = (
    "county_id",
    "industry",
    "rank_in_county",
    "location_quotient",
    "competitiveness_index",
    "participants",
    "txn_amount_fen",
    "loan_principal_fen",
)


def county_specialties(catalogue: pd.DataFrame, counties: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """One row per county: its centroid, first product, that product's activity and the top-``top`` summary.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        The specialty catalogue (``youshu.rural.catalogue.specialty_catalogue``, executed).
    counties : pandas.DataFrame
        ``county_id, county_name, lat, lon`` of every county.
    top : int
        Products listed per county in ``top_text``.

    Returns
    -------
    pandas.DataFrame
        ``county_id, county_name, lat, lon, industry, industry_zh, location_quotient, competitiveness_index,
        participants, activity_yuan, top_text``; product columns are null for counties without activity.

    Raises
    ------
    YoushuError
        When the catalogue or the counties lack a needed column.
    """
    missing = [c for c in _NEEDED if c not in catalogue.columns]
    if missing:
        raise YoushuError(f"the specialty catalogue lacks columns {missing}; pass specialty_catalogue output")
    lacking = [c for c in ("county_id", "county_name", "lat", "lon") if c not in counties.columns]
    if lacking:
        raise YoushuError(f"counties lacks columns {lacking}; expected county_id, county_name, lat, lon")
    cat = catalogue[catalogue["rank_in_county"] <= top].sort_values(["county_id", "rank_in_county"])
    lines = cat.groupby("county_id").apply(_top_lines, include_groups=False)
    first = cat[cat["rank_in_county"] == 1].set_index("county_id")
    out = counties[["county_id", "county_name", "lat", "lon"]].sort_values("county_id").reset_index(drop=True)
    ids = out["county_id"]
    out["industry"] = ids.map(first["industry"])
    out["industry_zh"] = out["industry"].map(INDUSTRY_ZH)
    out["location_quotient"] = ids.map(first["location_quotient"])
    out["competitiveness_index"] = ids.map(first["competitiveness_index"])
    out["participants"] = ids.map(first["participants"])
    out["activity_yuan"] = ids.map((first["txn_amount_fen"] + first["loan_principal_fen"]) / 100.0)
    out["top_text"] = ids.map(lines) if len(lines) else None
    return out


def _top_lines(rows: pd.DataFrame) -> str:
    return "<br>".join(
        f"{int(r.rank_in_county)}. {html.escape(INDUSTRY_ZH.get(str(r.industry), str(r.industry)))} "
        f"区位商 LQ {r.location_quotient:.2f} · 竞争力 {r.competitiveness_index:+.2f}"
        for r in rows.itertuples(index=False)
    )


def _sizes(activity: pd.Series) -> list[float]:
    """Marker diameters with area proportional to activity (a county with none gets the smallest)."""
    peak = float(activity.max()) if activity.notna().any() else 0.0
    if peak <= 0:
        return [MIN_SIZE] * len(activity)
    share = (activity.fillna(0).clip(lower=0) / peak) ** 0.5
    return (MIN_SIZE + (MAX_SIZE - MIN_SIZE) * share).round(1).tolist()


def _hover(rows: pd.DataFrame) -> list[str]:
    texts = []
    for r in rows.itertuples(index=False):
        head = f"<b>{html.escape(str(r.county_name))}</b> ({html.escape(str(r.county_id))})"
        if pd.isna(r.industry):
            texts.append(f"{head}<br>无特产活动 no specialty activity")
            continue
        scale = f"首位特产规模 ¥{r.activity_yuan / 1e4:,.1f}万"
        texts.append(f"{head}<br>{r.top_text}<br>{scale}")
    return texts


def county_map_figure(
    catalogue: pd.DataFrame, counties: pd.DataFrame, *, as_of: date | None = None, title: str | None = None
) -> go.Figure:
    """The county map of specialties as a plotly figure (nothing fetched to draw it).

    Parameters
    ----------
    catalogue : pandas.DataFrame
        The executed specialty catalogue.
    counties : pandas.DataFrame
        ``county_id, county_name, lat, lon`` of every county.
    as_of : date, optional
        Shown in the default title.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One marker trace per first product (named ``"茶叶 tea"``, …) and one for counties without activity.
    """
    rows = county_specialties(catalogue, counties)
    rows["size"] = _sizes(rows["activity_yuan"])
    rows["hover"] = _hover(rows)
    traces: list[go.Scatter] = []
    for industry, colour in INDUSTRY_COLOURS.items():
        part = rows[rows["industry"] == industry]
        if part.empty:
            continue
        traces.append(
            go.Scatter(
                x=part["lon"],
                y=part["lat"],
                mode="markers",
                marker={
                    "color": colour,
                    "size": part["size"].tolist(),
                    "opacity": 0.85,
                    "line": {"width": 1, "color": "white"},
                },
                name=f"{INDUSTRY_ZH[industry]} {industry}",
                text=part["hover"].tolist(),
                hoverinfo="text",
            )
        )
    idle = rows[rows["industry"].isna()]
    if not idle.empty:
        traces.append(
            go.Scatter(
                x=idle["lon"],
                y=idle["lat"],
                mode="markers",
                marker={"color": "white", "size": MIN_SIZE, "line": {"width": 1.5, "color": _GREY}},
                name=NO_SPECIALTY,
                text=idle["hover"].tolist(),
                hoverinfo="text",
            )
        )
    mean_lat = float(rows["lat"].mean()) if len(rows) else 30.0
    when = f" · {as_of}" if as_of else ""
    heading = title or f"一县一品 县域特产地图 county specialties{when}（点大小：首位特产规模）"
    return lonlat_figure(traces, heading, mean_lat)


def county_map_html(
    catalogue: pd.DataFrame, counties: pd.DataFrame, *, as_of: date | None = None, title: str | None = None
) -> str:
    """One self-contained HTML page of the county map: plotly.js inline, no external resource.

    Parameters are those of :func:`county_map_figure`.
    """
    fig = county_map_figure(catalogue, counties, as_of=as_of, title=title)
    return offline_page(fig, "youshu-county-map")


def write_county_map(
    engine: Engine, warehouse: Path, as_of: date, path: Path, *, catalogue: pd.DataFrame | None = None
) -> Path:
    """Compute the catalogue as of ``as_of`` (unless given) and write the county map to ``path`` atomically.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     write_county_map(eng, Path("warehouse"), date(2025, 9, 30), Path("county_map.html"))
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise YoushuError(f"{path}: the county map is written as .html")
    t = Tables(engine, warehouse)
    if catalogue is None:
        catalogue = engine.execute(specialty_catalogue(t, as_of))
    counties = engine.execute(t.counties.select("county_id", "county_name", "lat", "lon"))
    page = county_map_html(catalogue, counties, as_of=as_of)
    with atomic_file(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return path
