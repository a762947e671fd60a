"""The HTML report is one self-contained file: every section addressable, no network, no personal data."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from pipeline import AS_OF, TINY, write_tiny_warehouse
from youshu.engine import connect
from youshu.pipeline.run import summary_sections
from youshu.pipeline.summary import data_quality_from, province_summary, warehouse_row_counts
from youshu.reports import (
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Note,
    QualityBadge,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
    fmt_wan,
    render_report,
)

SUMMARY_SECTIONS = [
    "overview",
    "aum",
    "customers",
    "transactions",
    "merchants",
    "campaigns",
    "loans",
    "kpis",
    "data-quality",
]


def _sample() -> list[Section]:
    figure = go.Figure(go.Bar(x=["甲县", "乙区"], y=[1.5, 2.5]))
    frame = pd.DataFrame({"county": ["甲县", "乙区"], "aum_fen": [123_456_789, None], "share": [0.25, None]})
    return [
        Section(
            "overview",
            "省份概览",
            "Province overview",
            [KpiGrid([Kpi("客户数", "customers", "1,234", "户")])],
        ),
        Section(
            "aum",
            "资产规模",
            "AUM",
            [
                FigureBlock(figure, "区县", "by county"),
                TableBlock(
                    frame,
                    [
                        Column("county", "区县", "county"),
                        Column("aum_fen", "AUM(万元)", "AUM", "wan"),
                        Column("share", "占比", "share", "pct"),
                    ],
                ),
                Note("<script>alert(1)</script>", "escaped"),
            ],
        ),
    ]


def _render(sections: list[Section] | None = None) -> str:
    return render_report(
        _sample() if sections is None else sections,
        title="邮数 省份经营概览",
        subtitle_en="youshu province report",
        as_of=date(2025, 9, 30),
        data_window=(date(2024, 1, 1), date(2025, 9, 30)),
        quality=QualityBadge(True, "数据校验通过", "validation passed"),
        version="9.9.9",
    )


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    warehouse = write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")

    class Passed:
        ok, problems = True, []

    with connect("duckdb") as eng:
        dq = data_quality_from(Passed(), warehouse_row_counts(warehouse))
        summary = province_summary(eng, warehouse, AS_OF, data_quality=dq)
    return render_report(summary_sections(summary), title="邮数 省份经营概览", as_of=AS_OF)


def _without_plotly(html: str) -> str:
    assert html.count(get_plotlyjs()) == 1
    return html.replace(get_plotlyjs(), "")


def test_every_section_has_an_id_a_data_section_attribute_and_a_nav_link() -> None:
    html = _render()
    for sid in ("overview", "aum"):
        assert f'<section class="report-section" id="{sid}" data-section="{sid}">' in html
        assert f'href="#{sid}"' in html


def test_the_summary_report_renders_every_section(full_report: str) -> None:
    found = re.findall(r'data-section="([^"]+)"', full_report)
    assert found == SUMMARY_SECTIONS
    assert "40.00" in full_report  # AUM 40 万元 on the overview card
    assert "他行理财平台" in full_report and "特色市场" in full_report


def test_the_report_references_no_external_resource(full_report: str) -> None:
    for html in (_render(), full_report):
        assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.I)
        assert not re.search(r"<link\b", html, re.I)
        assert not re.search(r"<(img|iframe|source|video|audio|embed|object)\b", html, re.I)
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html, re.I)
        rest = _without_plotly(html)
        assert "http://" not in rest and "https://" not in rest and "//cdn" not in rest


def test_plotly_js_is_embedded_once_and_draws_each_figure() -> None:
    html = _render()
    assert html.count(get_plotlyjs()) == 1
    assert _without_plotly(html).count("Plotly.newPlot(") == 1
    assert '<div id="fig-aum-0" class="plot"' in html


def test_headings_are_chinese_with_english_subtitles_and_fonts_that_render_chinese() -> None:
    html = _without_plotly(_render())
    assert '<html lang="zh-CN">' in html and '<meta charset="utf-8">' in html
    assert '<h2>资产规模<span class="en">AUM</span></h2>' in html
    for font in ("Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "sans-serif"):
        assert font in html
    assert "&#34;Noto Sans CJK SC&#34;" not in html  # CSS inside <style> must not be entity-escaped


def test_footer_shows_as_of_data_window_version_and_quality_badge() -> None:
    footer = _without_plotly(_render()).split("<footer>")[1]
    assert "2025-09-30" in footer and "2024-01-01" in footer and "youshu 9.9.9" in footer
    assert 'class="badge ok"' in footer and "数据校验通过" in footer


def test_text_is_escaped_and_numbers_formatted() -> None:
    html = _without_plotly(_render())
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<td class="num">123.46</td>' in html and '<td class="num">25.0%</td>' in html
    assert '<td class="num">—</td>' in html  # missing values show as a dash, not NaN
    assert "NaN" not in html


def test_rendering_is_deterministic() -> None:
    assert _render() == _render()


def test_figure_json_cannot_close_its_script_element() -> None:
    fig = go.Figure(go.Bar(x=["</script><b>x"], y=[1]))
    html = _without_plotly(_render([Section("s", "标题", "title", [FigureBlock(fig)])]))
    assert "</script><b>" not in html
    assert "<\\/script><b>x" in html


def test_duplicate_or_unsafe_section_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        _render([Section("a", "甲", "a"), Section("a", "乙", "b")])
    with pytest.raises(ValueError, match="letters"):
        _render([Section('a" onload="x', "甲", "a")])


def test_the_summary_report_holds_no_personal_data(full_report: str) -> None:
    for row in TINY["customers"]:
        for column in ("name", "id_card_no", "phone"):
            if row[column]:
                assert row[column] not in full_report, column
    assert not re.search(r"\bU[1-5]\b", _without_plotly(full_report))  # nor customer ids


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (12345, fmt_int, "12,345"),
        (None, fmt_int, "—"),
        (1_234_567_890, fmt_wan, "1,234.57"),
        (0.1234, fmt_pct, "12.3%"),
        (float("nan"), fmt_pct, "—"),
    ],
)
def test_number_formats(value: object, fmt: object, text: str) -> None:
    assert fmt(value) == text  # type: ignore[operator]


def test_write_and_reopen_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(_render(), encoding="utf-8")
    assert "省份概览" in path.read_text(encoding="utf-8")
