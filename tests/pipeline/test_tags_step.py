"""The pipeline's tags step: tags applied into the run folder, the catalogue beside the report, tag sections."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from youshu.engine import Engine, connect
from youshu.pipeline import STEPS, RunResult, Step, run_pipeline
from youshu.pipeline.run import summary_step
from youshu.pipeline.tags_step import KEY_TAGS, TagsOutcome, tags_sections, tags_step
from youshu.reports.html import render_report

from . import AS_OF, TINY, write_tiny_warehouse

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
DAY = f"as_of_date={AS_OF.isoformat()}"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


def _steps(definitions: Path) -> list[Step]:
    return [Step("summary", summary_step), Step("tags", partial(tags_step, definitions=definitions))]


@pytest.fixture(scope="module")
def run(duck: Engine, tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    runs = tmp_path_factory.mktemp("runs")
    return run_pipeline(AS_OF, engine=duck, warehouse=tiny, runs_dir=runs, steps=_steps(DEFINITIONS))


def _wide(folder: Path, entity: str) -> ds.Dataset:
    return ds.dataset(folder / "tags" / f"{entity}_tags" / DAY / "wide", format="parquet")


def _kpi(html: str, tag_id: str) -> int:
    found = re.search(
        rf'<span class="en">{tag_id}</span></div>\s*<div class="value">([\d,]+)<span class="unit">', html
    )
    assert found, f"no card for {tag_id}"
    return int(found.group(1).replace(",", ""))


def test_the_main_pipeline_has_a_tags_step_after_the_summary() -> None:
    assert [s.name for s in STEPS][:2] == ["summary", "tags"]


def test_a_run_writes_the_tags_and_the_catalogue_into_its_folder(run: RunResult) -> None:
    folder = run.folder
    for entity in ("customer", "merchant"):
        for form in ("wide", "long"):
            assert list((folder / "tags" / f"{entity}_tags" / DAY / form).glob("part-*.parquet")), (
                entity,
                form,
            )
    assert (folder / "tags" / "tags_state.json").is_file()
    assert (folder / "catalogue.html").is_file() and (folder / "catalogue.md").is_file()
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["steps"] == ["summary", "tags"] and "tags" in record["timing"]["step_seconds"]
    assert "catalogue.html" in record["outputs"]


def test_tags_use_only_entities_known_by_the_as_of_date(run: RunResult) -> None:
    customers = _wide(run.folder, "customer").to_table()
    onboarded = {c["customer_id"] for c in TINY["customers"] if c["onboard_date"] <= AS_OF}
    assert set(customers.column("customer_id").to_pylist()) == onboarded  # U4 joins after the as-of date
    female = customers.filter(pc.field("female_customer")).column("customer_id").to_pylist()
    assert female == ["U1"]  # U4 is female too, but not yet a customer
    new = customers.filter(pc.field("new_customer")).column("customer_id").to_pylist()
    assert new == ["U5"]  # onboarded 41 days before the as-of date


def test_the_report_shows_the_tag_sections_and_links_the_catalogue(run: RunResult) -> None:
    html = run.report_path.read_text(encoding="utf-8")
    sections = re.findall(r'data-section="([^"]+)"', html)
    assert sections[-2:] == ["tag-overview", "tag-key"] and sections[0] == "overview"
    assert '<a href="catalogue.html">' in html
    assert "客户标签覆盖率" in html and "商户标签覆盖率" in html  # the boolean coverage charts


def test_key_tag_counts_in_the_report_match_the_tag_tables(run: RunResult) -> None:
    html = run.report_path.read_text(encoding="utf-8")
    for entity, ids in KEY_TAGS.items():
        wide = _wide(run.folder, entity).to_table()
        for tag_id in ids:
            expected = pc.sum(pc.cast(wide.column(tag_id), "int64")).as_py() or 0
            assert _kpi(html, tag_id) == expected, tag_id
    assert _kpi(html, "female_customer") == 1


def test_the_catalogue_in_the_run_has_coverage_of_every_tag(run: RunResult) -> None:
    outcome = run.results["tags"]
    assert isinstance(outcome, TagsOutcome)
    assert set(outcome.coverage) == set(outcome.tagset.ids)
    html = (run.folder / "catalogue.html").read_text(encoding="utf-8")
    assert f"coverage as of <strong>{AS_OF.isoformat()}</strong>" in html
    female = html.split('<tr id="tag-female_customer"')[1].split("</tr>")[0]
    assert "<strong>25.0%</strong>" in female  # 1 of 4 customers
    md = (run.folder / "catalogue.md").read_text(encoding="utf-8")
    assert "25.0% true (1 / 4)" in next(line for line in md.splitlines() if "`female_customer`" in line)
    assert not re.search(r"https?:", html)


def test_no_personal_data_reaches_the_report_or_the_catalogue(run: RunResult) -> None:
    for name in ("report.html", "catalogue.html", "catalogue.md"):
        text = (run.folder / name).read_text(encoding="utf-8")
        for row in TINY["customers"]:
            for column in ("name", "id_card_no", "phone"):
                if row[column]:
                    assert row[column] not in text, (name, column)
        if name != "report.html":  # the report embeds plotly.js, whose text may hold such tokens
            assert not re.search(r"\bU[1-5]\b", text), name


def test_without_definitions_the_run_says_where_it_looked(duck: Engine, tiny: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "no-definitions"
    result = run_pipeline(
        AS_OF, engine=duck, warehouse=tiny, runs_dir=tmp_path / "runs", steps=_steps(nowhere)
    )
    html = result.report_path.read_text(encoding="utf-8")
    assert 'data-section="tag-overview"' in html and str(nowhere) in html and "definitions_dir" in html
    assert not (result.folder / "tags").exists() and not (result.folder / "catalogue.html").exists()


def test_the_outcome_points_into_the_finished_run_folder(run: RunResult) -> None:
    outcome = run.results["tags"]
    assert outcome.rows == {"customer": 4, "merchant": len(TINY["merchants"])}
    for entity, folder in outcome.tables.items():
        assert (run.folder / folder / "wide").is_dir(), entity
    assert (run.folder / outcome.catalogue_html).is_file()


def test_values_outside_a_tags_declared_domain_are_flagged(run: RunResult) -> None:
    outcome = replace(run.results["tags"], out_of_domain={"aum_tier": 3})
    html = render_report(tags_sections(outcome, AS_OF.isoformat()), title="t", as_of=AS_OF)
    assert "aum_tier (3)" in html and 'class="note warning"' in html
    clean = render_report(tags_sections(run.results["tags"], AS_OF.isoformat()), title="t", as_of=AS_OF)
    assert "outside their declared values" not in clean
