"""The offline circles map: self-contained HTML that draws its markers in headless Chromium with no network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.browser import PageRun, load_page, requires_chromium

from youshu.geo.circles import CircleResult, circles_from_frames
from youshu.geo.huff import HuffModel, trade_areas
from youshu.geo.map import MARKER_COLOURS, OUTLET_COLOUR, map_figure, map_html

from .conftest import AS_OF, offset, scattered_merchants

EFFECTIVE, LOW, PROSPECT = (MARKER_COLOURS[k] for k in MARKER_COLOURS)


@pytest.fixture(scope="module")
def circles() -> CircleResult:
    points = [(30.0, 104.0), offset(30.0, 104.0, 90, 4000), offset(30.0, 104.0, 200, 5000)]
    outlets = pd.DataFrame(
        {
            "outlet_id": ["OA", "OB", "OC"],
            "outlet_name": ["甲网点", "乙网点", "丙网点"],
            "lat": [p[0] for p in points],
            "lon": [p[1] for p in points],
        }
    )
    merchants = scattered_merchants(30.0, 104.02, 250, 7000, seed=3)
    return circles_from_frames(outlets, merchants, AS_OF, 3.0)


@pytest.fixture(scope="module")
def zones(circles: CircleResult) -> pd.DataFrame:
    summary = circles.summary.to_pandas()
    rng = np.random.default_rng(0)
    lat, lon = 30.0 + rng.normal(0, 0.04, 2000), 104.02 + rng.normal(0, 0.04, 2000)
    idx = np.argmin(
        (lat[:, None] - summary["lat"].to_numpy()) ** 2 + (lon[:, None] - summary["lon"].to_numpy()) ** 2,
        axis=1,
    )
    model = HuffModel(candidates=3).fit(
        lat, lon, summary["outlet_id"].to_numpy()[idx], summary[["outlet_id", "lat", "lon"]]
    )
    return trade_areas(model, resolution=8, reach_km=6).to_pandas()


def test_the_page_references_nothing_outside_itself(circles: CircleResult, zones: pd.DataFrame) -> None:
    page = map_html(circles, huff_zones=zones)
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "@import" not in page and "url(http" not in page
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js is embedded


def test_traces_hold_outlets_circles_merchants_by_tag_and_huff_zones(
    circles: CircleResult, zones: pd.DataFrame
) -> None:
    members = circles.members.to_pandas()
    tags = {mid: "VIP商户" for mid in members["merchant_id"].iloc[:5]}
    fig = map_figure(circles, huff_zones=zones, merchant_tags=tags)
    names = [t.name for t in fig.data]
    assert "网点 outlet" in names and "微商圈 3 km circle" in names
    assert "VIP商户" in names and "有效商户 effective" in names
    assert any(n.startswith("哈夫商圈 Huff ≥50%") for n in names) and any(
        n.startswith("哈夫商圈 Huff ≥70%") for n in names
    )
    by_name = {t.name: t for t in fig.data}
    assert len(by_name["VIP商户"].x) == 5
    shown = sum(len(t.x) for t in fig.data if t.mode == "markers" and t.name != "网点 outlet")
    assert shown == members["merchant_id"].nunique()
    assert len(by_name["网点 outlet"].x) == 3
    one = map_figure(circles, outlet_ids=["OB"], max_merchants=10)
    assert len({t.name: t for t in one.data}["网点 outlet"].x) == 1
    assert "显示 10" in one.layout.title.text


def _screenshot(html_path: Path, png: Path, profile: Path) -> PageRun:
    return load_page(html_path, profile, screenshot=png, dump_dom=False, window=(1000, 800))


def _pixels(png: Path, colour: str, tolerance: int = 12) -> int:
    from PIL import Image as image

    rgb = np.asarray(image.open(png).convert("RGB"), dtype=np.int16)
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(rgb - target).max(axis=2) <= tolerance).sum())


@requires_chromium  # in CI a missing browser fails the test
def test_map_renders_its_markers_in_headless_chromium_with_the_network_blocked(
    circles: CircleResult, zones: pd.DataFrame, tmp_path: Path
) -> None:
    page = tmp_path / "map.html"
    page.write_text(map_html(circles, huff_zones=zones), encoding="utf-8")
    png = tmp_path / "map.png"
    drawn = _screenshot(page, png, tmp_path / "profile")
    assert drawn.console == []
    counts = {
        name: _pixels(png, colour)
        for name, colour in (
            ("outlet", OUTLET_COLOUR),
            ("effective", EFFECTIVE),
            ("low", LOW),
            ("prospect", PROSPECT),
        )
    }
    assert all(n > 30 for n in counts.values()), counts

    # Control: the same figure loading plotly.js from a CDN draws nothing, so the network really is blocked
    # and the pixel check above can tell a drawn map from an empty page.
    spec = json.loads(map_figure(circles).to_json())
    control = tmp_path / "cdn.html"
    control.write_text(
        '<html><head><script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script></head><body>'
        '<div id="m" style="width:960px;height:720px"></div><script>'
        f"Plotly.newPlot('m', {json.dumps(spec['data'])}, {json.dumps(spec['layout'])});</script></body></html>",
        encoding="utf-8",
    )
    control_png = tmp_path / "cdn.png"
    blocked = _screenshot(control, control_png, tmp_path / "profile2")
    assert _pixels(control_png, OUTLET_COLOUR) == 0
    assert any(m.is_uncaught and "Plotly" in m.text for m in blocked.console), blocked.console
