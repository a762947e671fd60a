"""The tag catalogue: coverage aggregated on the engine, Markdown and self-contained HTML listing every tag."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import youshu.cli.schema_docs  # noqa: F401  (registers `schema docs`)
from youshu.cli.main import app
from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.features.catalog import feature_schema
from youshu.tags import TagCategory, TagSet, load_definitions
from youshu.tags.catalogue import (
    CATEGORY_EN,
    TOP_VALUES,
    compute_coverage,
    render_catalogue_html,
    render_catalogue_markdown,
    render_definitions_markdown,
    write_catalogue,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "definitions" / "tags"
DOCS = ROOT / "docs" / "tag-catalogue.md"

SCHEMAS = {
    "customer": {"flag": "bool", "segment": "string", "points": "float"},
    "merchant": {"payments": "int"},
}


def _tag(tag_id: str, entity: str, kind: str, expression: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": tag_id,
        "entity": entity,
        "display_name_zh": fields.pop("zh", f"{tag_id}标签"),
        "display_name_en": f"{tag_id} tag",
        "category": fields.pop("category", "VALUE"),
        "description": fields.pop("description", "用于测试。"),
        "owner": "tests",
        "kind": kind,
        "expression": expression,
        "tests": [{"name": "nothing known", "given": {}, "expect": None}],
        **fields,
    }


@pytest.fixture(scope="module")
def small_tagset(tmp_path_factory: pytest.TempPathFactory) -> TagSet:
    folder = tmp_path_factory.mktemp("definitions")
    (folder / "customer").mkdir()
    (folder / "merchant").mkdir()
    customer = [
        _tag("flagged", "customer", "boolean", "flag", zh="有标记客户", category="BASIC"),
        _tag("segment_tag", "customer", "categorical", "segment", zh="分群", category="BASIC"),
        _tag("points_score", "customer", "score", "points", zh="积分评分", category="VALUE"),
        _tag(
            "flagged_with_points",
            "customer",
            "boolean",
            "flagged AND points > 5",
            zh="有积分的标记客户",
            description="既有标记 | 又有积分。",
            depends_on=["flagged"],
        ),
    ]
    merchant = [_tag("paying", "merchant", "boolean", "payments > 0", zh="有交易商户", category="商户经营")]
    (folder / "customer" / "tags.yml").write_text(yaml.safe_dump(customer, allow_unicode=True), "utf-8")
    (folder / "merchant" / "tags.yml").write_text(yaml.safe_dump(merchant, allow_unicode=True), "utf-8")
    return load_definitions([folder], SCHEMAS)


FLAGS = [True, True, False, None, True, False, False, True, None, True, False, True]
SEGMENTS = ["a", "b", "a", "c", "b", "a", None, "d", "e", "f", "g", "c"]
POINTS = [1.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 9.0, None, 10.0, 12.0]


def _sql_and(a: bool | None, b: bool | None) -> bool | None:
    """SQL's three-valued AND: false wins over null."""
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _wide() -> pa.Table:
    flagged_with_points = [
        _sql_and(f, None if p is None else p > 5) for f, p in zip(FLAGS, POINTS, strict=True)
    ]
    return pa.table(
        {
            "customer_id": [f"c{i:02d}" for i in range(len(FLAGS))],
            "flagged": pa.array(FLAGS, pa.bool_()),
            "segment_tag": pa.array(SEGMENTS, pa.string()),
            "points_score": pa.array(POINTS, pa.float64()),
            "flagged_with_points": pa.array(flagged_with_points, pa.bool_()),
        }
    )


def test_coverage_equals_a_hand_computation(engine: Engine, small_tagset: TagSet) -> None:
    coverage = compute_coverage(engine, _wide(), small_tagset, "customer")
    assert list(coverage) == ["flagged", "segment_tag", "points_score", "flagged_with_points"]
    rows = len(FLAGS)

    flagged = coverage["flagged"]
    assert (flagged.rows, flagged.nulls) == (rows, FLAGS.count(None))
    assert flagged.true_count == FLAGS.count(True)
    assert flagged.true_share == pytest.approx(FLAGS.count(True) / rows)
    assert flagged.null_share == pytest.approx(2 / 12)

    segments = coverage["segment_tag"]
    counts = Counter(s for s in SEGMENTS if s is not None)
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
    assert segments.top_values == tuple(expected)
    assert segments.top_values[:3] == (("a", 3), ("b", 2), ("c", 2))  # ties ordered by value
    assert segments.distinct_values == len(counts) == 7
    assert segments.nulls == 1

    points = coverage["points_score"]
    known = np.array([p for p in POINTS if p is not None])
    assert points.nulls == 1
    assert points.mean == pytest.approx(known.mean())
    for q, got in ((10, points.p10), (50, points.p50), (90, points.p90)):
        assert got == pytest.approx(np.percentile(known, q)), q
    assert points.true_count is None and points.top_values == ()


def test_coverage_of_an_ibis_table_read_from_parquet(tmp_path: Path, small_tagset: TagSet) -> None:
    from youshu.engine import connect

    pq.write_table(_wide(), tmp_path / "wide.parquet")
    with connect("duckdb") as eng:
        wide = eng.con.read_parquet(str(tmp_path / "wide.parquet"))
        coverage = compute_coverage(eng, wide, small_tagset, "customer", tags=["flagged"])
    assert list(coverage) == ["flagged"] and coverage["flagged"].true_count == 6


def test_coverage_of_an_empty_table_has_no_shares(small_tagset: TagSet) -> None:
    from youshu.engine import connect

    with connect("duckdb") as eng:
        coverage = compute_coverage(eng, _wide().slice(0, 0), small_tagset, "customer")
    assert coverage["flagged"].rows == 0 and coverage["flagged"].true_share is None
    assert coverage["points_score"].mean is None and coverage["segment_tag"].top_values == ()


def test_a_missing_or_mistyped_tag_column_is_named(small_tagset: TagSet) -> None:
    from youshu.engine import connect

    with connect("duckdb") as eng:
        with pytest.raises(YoushuError, match=r"lacks the tag columns \['points_score'\]"):
            compute_coverage(eng, _wide().drop_columns(["points_score"]), small_tagset, "customer")
        wrong = _wide().set_column(1, "flagged", pa.array(["yes"] * len(FLAGS)))
        with pytest.raises(YoushuError, match=r"'flagged' .* is string, but a boolean tag"):
            compute_coverage(eng, wrong, small_tagset, "customer")


def test_markdown_shows_every_field_and_the_coverage(engine: Engine, small_tagset: TagSet) -> None:
    coverage = compute_coverage(engine, _wide(), small_tagset, "customer")
    text = render_catalogue_markdown(small_tagset, coverage)
    row = next(line for line in text.splitlines() if "`flagged_with_points`" in line)
    assert "**有积分的标记客户**" in row and "flagged_with_points tag" in row
    assert "布尔 boolean" in row and "既有标记 \\| 又有积分。" in row  # a pipe cannot break the table
    assert "`flagged AND points > 5`" in row and "[有标记客户](#tag-flagged)" in row
    assert "tests<br>`customer/tags.yml`" in row
    flagged = next(line for line in text.splitlines() if "`flagged`<br>" in line)
    assert "50.0% true (6 / 12); null 16.7%" in flagged
    segment = next(line for line in text.splitlines() if "`segment_tag`<br>" in line)
    assert "a 25.0%, b 16.7%, c 16.7%, d 8.3%, e 8.3%, … (+2 more); null 8.3%" in segment
    points = next(line for line in text.splitlines() if "`points_score`<br>" in line)
    assert "mean 6.182; P10 2.5 · P50 6 · P90 10" in points


def test_markdown_without_coverage_has_no_coverage_column(small_tagset: TagSet) -> None:
    text = render_catalogue_markdown(small_tagset)
    assert "覆盖 coverage" not in text and "true (" not in text


def test_tags_are_grouped_by_entity_then_category(small_tagset: TagSet) -> None:
    text = render_catalogue_markdown(small_tagset)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# 标签目录 Tag catalogue",
        "## 客户标签 Customer tags",
        "### 基础属性 Basic attributes (2)",
        "### 价值 Value (2)",
        "## 商户标签 Merchant tags",
        "### 商户经营 Merchant operations (1)",
    ]


@pytest.fixture(scope="module")
def shipped() -> TagSet:
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ("customer", "merchant")})


def test_markdown_and_html_list_every_shipped_tag_under_its_category(shipped: TagSet) -> None:
    text = render_catalogue_markdown(shipped)
    html = render_catalogue_html(shipped)
    for d in shipped:
        section = text.split(f'<a id="{d.entity}-{d.category.name.lower()}"></a>')[1].split("\n### ")[1]
        assert f'<a id="tag-{d.id}"></a>**{d.display_name_zh}**<br>`{d.id}`' in section, d.id
        assert f'<tr id="tag-{d.id}" data-tag="{d.id}">' in html, d.id
        assert html.count(f'data-tag="{d.id}"') == 1
    assert len(re.findall(r"<tr id=\"tag-", html)) == len(shipped)


def test_html_references_nothing_outside_the_file(engine: Engine, small_tagset: TagSet) -> None:
    coverage = compute_coverage(engine, _wide(), small_tagset, "customer")
    for html in (render_catalogue_html(small_tagset, coverage), render_catalogue_html(small_tagset)):
        assert not re.search(r"https?:", html)
        assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.I)
        assert not re.search(r"<link\b", html, re.I)
        assert not re.search(r"<(img|iframe|source|video|audio|embed|object)\b", html, re.I)
        assert not re.search(r"@import|url\(", html, re.I)
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert hrefs and all(h.startswith("#") for h in hrefs)


def test_html_shares_the_report_look_and_shows_coverage(engine: Engine, small_tagset: TagSet) -> None:
    from youshu.reports.html import FONT_STACK

    coverage = compute_coverage(engine, _wide(), small_tagset, "customer")
    html = render_catalogue_html(small_tagset, coverage, version="9.9.9")
    assert '<html lang="zh-CN">' in html and "--green: #00794a;" in html and FONT_STACK in html
    assert "&lt;" not in html.split("</style>")[0]  # CSS inside <style> is not entity-escaped
    row = html.split('<tr id="tag-flagged"')[1].split("</tr>")[0]
    assert "<strong>50.0%</strong>" in row and 'style="width: 50.0%"' in row and "空值 null 16.7%" in row
    assert '<a href="#tag-flagged">有标记客户</a>' in html
    assert "youshu 9.9.9" in html
    assert render_catalogue_html(small_tagset, coverage) == render_catalogue_html(small_tagset, coverage)


def test_write_catalogue_writes_both_files(tmp_path: Path, small_tagset: TagSet) -> None:
    md, html = write_catalogue(tmp_path / "run", small_tagset)
    assert md.read_text(encoding="utf-8") == render_catalogue_markdown(small_tagset)
    assert html.read_text(encoding="utf-8") == render_catalogue_html(small_tagset)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["catalogue.html", "catalogue.md"]


def test_every_category_has_an_english_name() -> None:
    assert set(CATEGORY_EN) == set(TagCategory)


def test_docs_tag_catalogue_md_is_up_to_date_with_the_definitions() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_definitions_markdown([DEFINITIONS]), (
        "docs/tag-catalogue.md is stale: regenerate it with `youshu schema docs --tags`"
    )


def test_the_command_writes_and_checks_the_tag_catalogue(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "tag-catalogue.md"
    runner = CliRunner()
    args = ["schema", "docs", "--tags", "--definitions", str(DEFINITIONS), "--out", str(out)]
    checked = runner.invoke(app, [*args, "--check"])
    assert checked.exit_code == 1 and "youshu schema docs --tags" in checked.output
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_definitions_markdown([DEFINITIONS])
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0
