"""The pipeline's models step: IVL portrait, out-of-time wealth propensity, scores with zh reasons, report."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from youshu.engine import Engine, connect
from youshu.models.ivl import build_portrait, load_config, read_portrait
from youshu.pipeline.models_step import (
    CUBE_FILE,
    EVALUATION_FILE,
    IVL_DIR,
    SCORES_FILE,
    SHIPPED_IVL_DEFINITIONS,
    models_step,
    top_decile_reasons,
)
from youshu.pipeline.run import RunContext, Step, run_pipeline
from youshu.reports.html import FigureBlock, KpiGrid, Note, Section, TableBlock, render_report

from . import AS_OF, write_tiny_warehouse

SECTIONS = {
    "ivl": "IVL 客户画像",
    "wealth-propensity": "购买理财倾向",
    "wealth-reasons": "推荐理由",
}
TEST_AS_OF = AS_OF - timedelta(days=90)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-customer synthetic province (data 2024-01-01..2025-12-31): enough buyers in every window."""
    from youshu.synth import generate

    out = tmp_path_factory.mktemp("models-step") / "warehouse"
    generate(out, customers=3_000, seed=11, workers=1)
    return out


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


def _context(engine: Engine, warehouse: Path, out: Path) -> RunContext:
    out.mkdir(parents=True, exist_ok=True)
    return RunContext(engine, warehouse, AS_OF, "test", out, validation=None, row_counts={})


@pytest.fixture(scope="module")
def stepped(
    duck: Engine, province: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunContext, list[Section]]:
    ctx = _context(duck, province, tmp_path_factory.mktemp("run"))
    return ctx, models_step(ctx, ivl_definitions=SHIPPED_IVL_DEFINITIONS)


def _section(sections: list[Section], section_id: str) -> Section:
    return next(s for s in sections if s.id == section_id)


def _blocks(section: Section, kind: type) -> list[Any]:
    return [b for b in section.blocks if isinstance(b, kind)]


def _sql(query: str) -> list[tuple[Any, ...]]:
    return duckdb.sql(query).fetchall()


def test_the_step_writes_the_portrait_cube_evaluation_and_scores(
    stepped: tuple[RunContext, list[Section]],
) -> None:
    ctx, _ = stepped
    portrait = read_portrait(ctx.out_dir / IVL_DIR, AS_OF)
    cube = pq.read_table(ctx.out_dir / CUBE_FILE).to_pandas()
    assert len(cube) == 45 and cube["customers"].sum() == len(portrait)
    assert cube["action"].str.len().min() > 0
    assert (ctx.out_dir / EVALUATION_FILE).is_file() and (ctx.out_dir / SCORES_FILE).is_file()
    assert set(ctx.results) >= {"ivl", "wealth"}


def test_the_sections_are_ivl_propensity_and_reasons_with_their_figures(
    stepped: tuple[RunContext, list[Section]],
) -> None:
    _, sections = stepped
    assert {s.id: s.title_zh for s in sections} == SECTIONS
    assert not any(n.kind == "warning" for s in sections for n in _blocks(s, Note))
    grid = _blocks(_section(sections, "ivl"), FigureBlock)
    assert len(grid) == 1
    heatmaps = [t for t in grid[0].figure.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 5  # one 3 x 3 grid per lifecycle stage
    assert sum(int(np.sum(h.z)) for h in heatmaps) == len(read_portrait(stepped[0].out_dir / IVL_DIR, AS_OF))
    figures = _blocks(_section(sections, "wealth-propensity"), FigureBlock)
    assert [f.title_en for f in figures] == [
        "Lift by score decile",
        "Cumulative gain",
        "Calibration: predicted against observed rate",
        "Precision-recall",
    ]
    pr_names = {t.name.split(" (PR-AUC")[0] for t in figures[3].figure.data if isinstance(t, go.Scatter)}
    assert pr_names == {"倾向模型 PropensityRanker", "按AUM排序 rank by AUM"}
    lift_names = {t.name for t in figures[0].figure.data if isinstance(t, go.Bar)}
    assert lift_names == {"倾向模型 PropensityRanker", "按AUM排序 rank by AUM"}
    assert any(t.x and len(t.x) > 1 for t in figures[2].figure.data)  # a reliability curve is drawn


def test_the_evaluation_is_out_of_time_against_observed_wealth_purchases(
    stepped: tuple[RunContext, list[Section]], province: Path
) -> None:
    ctx, _ = stepped
    record = json.loads((ctx.out_dir / EVALUATION_FILE).read_text(encoding="utf-8"))
    model, baseline = record["reports"]
    first, last = TEST_AS_OF + timedelta(days=1), AS_OF
    # Who the test window's population and buyers are, straight from the canonical tables.
    [(rows, buyers)] = _sql(
        f"""
        WITH known AS (
            SELECT customer_id FROM read_parquet('{province}/customers/*.parquet')
            WHERE onboard_date <= DATE '{TEST_AS_OF}'),
        bought AS (
            SELECT DISTINCT p.customer_id
            FROM read_parquet('{province}/purchases/*.parquet') p
            JOIN read_parquet('{province}/products/*.parquet') d USING (product_id)
            WHERE d.category = 'wealth' AND p.purchase_date BETWEEN DATE '{first}' AND DATE '{last}')
        SELECT count(*), count(b.customer_id) FROM known k LEFT JOIN bought b USING (customer_id)
        """
    )
    assert (model["rows"], model["positives"]) == (rows, buyers) == (baseline["rows"], baseline["positives"])
    assert record["test_split"] == f"features as of {TEST_AS_OF}, labels {first}..{last}"
    assert record["train_split"].startswith(f"features as of {TEST_AS_OF - timedelta(days=90)},")
    assert 0.5 < model["roc_auc"] <= 1 and math.isfinite(model["pr_auc"])
    assert model["pr_auc"] > buyers / rows  # better than a random ranking's precision
    assert model["top_decile_lift"] > 1.5
    interval = model["intervals"]["roc_auc"]
    assert interval["low"] <= model["roc_auc"] <= interval["high"]
    kpis = _blocks(_section(stepped[1], "wealth-propensity"), KpiGrid)[0].items
    assert kpis[0].value == f"{model['roc_auc']:.3f}"


def test_scores_cover_every_customer_known_on_the_as_of_date_with_zh_reasons(
    stepped: tuple[RunContext, list[Section]], province: Path
) -> None:
    ctx, _ = stepped
    scores = pq.read_table(ctx.out_dir / SCORES_FILE).to_pandas()
    known = dict(
        _sql(
            f"SELECT customer_id, home_outlet_id FROM read_parquet('{province}/customers/*.parquet') "
            f"WHERE onboard_date <= DATE '{AS_OF}'"
        )
    )
    assert len(scores) == len(known) and set(scores["customer_id"]) == set(known)
    assert (scores["outlet_id"] == scores["customer_id"].map(known)).all()
    assert list(scores["rank"]) == list(range(1, len(scores) + 1))
    assert scores["score"].is_monotonic_decreasing and scores["score"].between(0, 1).all()
    assert scores["score"].nunique() > 50
    top = scores.head(len(scores) // 10)
    assert top["reason_1"].notna().all()
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in top["reason_1"])
    assert not {"name", "phone", "id_card_no"} & set(scores.columns)


def test_top_reasons_count_each_feature_once_per_top_decile_customer(
    stepped: tuple[RunContext, list[Section]],
) -> None:
    ctx, sections = stepped
    scores = pq.read_table(ctx.out_dir / SCORES_FILE).to_pandas()
    n = math.ceil(len(scores) * 0.1)
    counted: Counter[str] = Counter()
    firsts: Counter[str] = Counter()
    for row in scores[scores["rank"] <= n].itertuples():
        features = {row.reason_feature_1, row.reason_feature_2, row.reason_feature_3} - {None}
        counted.update(features)
        if row.reason_feature_1 is not None:
            firsts[row.reason_feature_1] += 1
    frame = top_decile_reasons(scores)
    assert dict(zip(frame["feature"], frame["customers"], strict=True)) == dict(counted)
    assert dict(zip(frame["feature"], frame["first"], strict=True)) == {f: firsts[f] for f in counted}
    assert frame["customers"].is_monotonic_decreasing
    tables = _blocks(_section(sections, "wealth-reasons"), TableBlock)
    shown = tables[0].frame
    assert list(shown["feature"]) == list(frame["feature"].head(len(shown)))
    assert shown["reason_zh"].map(lambda s: any("\u4e00" <= ch <= "\u9fff" for ch in s)).any()
    examples = tables[1].frame
    assert list(examples["customer_id"]) == list(scores["customer_id"].head(10))


def test_the_portrait_equals_one_built_directly(
    stepped: tuple[RunContext, list[Section]], duck: Engine, province: Path
) -> None:
    written = read_portrait(stepped[0].out_dir / IVL_DIR, AS_OF)
    direct = build_portrait(duck, province, AS_OF, load_config(SHIPPED_IVL_DEFINITIONS)).table
    pd.testing.assert_frame_equal(
        written.drop(columns="as_of_date"), direct.drop(columns="as_of_date"), check_dtype=False
    )


def test_the_report_shows_the_model_sections_without_personal_data(
    stepped: tuple[RunContext, list[Section]], province: Path
) -> None:
    html = render_report(stepped[1], title="邮数", as_of=AS_OF)
    for section_id, title in SECTIONS.items():
        assert f'id="{section_id}"' in html and title in html
    names = pq.read_table(province / "customers", columns=["name", "phone"])
    for value in pc.drop_null(names.column("name")).to_pylist()[:200]:
        assert value not in html
    for value in pc.drop_null(names.column("phone")).to_pylist()[:200]:
        assert value not in html


# -- degraded paths ---------------------------------------------------------------------------------------


def test_a_province_with_too_little_history_gets_notes_not_a_crash(tmp_path: Path) -> None:
    tiny = write_tiny_warehouse(tmp_path / "warehouse")
    step = Step("models", partial(models_step, ivl_definitions=SHIPPED_IVL_DEFINITIONS))
    with connect("duckdb") as eng:
        result = run_pipeline(AS_OF, engine=eng, warehouse=tiny, runs_dir=tmp_path / "runs", steps=[step])
    html = result.report_path.read_text(encoding="utf-8")
    for section_id in SECTIONS:
        assert f'id="{section_id}"' in html
    assert "Too little history: transactions start on 2025-07-02" in html
    assert "The IVL portrait was not built" in html
    assert not (result.folder / "models").exists()
    assert "wealth" not in result.results


def test_a_province_without_wealth_buyers_reports_it_and_keeps_the_portrait(
    province: Path, duck: Engine, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    for table in province.iterdir():
        if table.name != "purchases":
            (warehouse / table.name).symlink_to(table, target_is_directory=True)
    wealth = [
        r[0] for r in _sql(f"SELECT product_id FROM '{province}/products/*.parquet' WHERE category='wealth'")
    ]
    purchases = pq.read_table(province / "purchases")
    kept = purchases.filter(
        pc.invert(pc.is_in(purchases.column("product_id"), pa.array(wealth, type=pa.string())))
    )
    assert 0 < kept.num_rows < purchases.num_rows
    (warehouse / "purchases").mkdir()
    pq.write_table(kept, warehouse / "purchases" / "part-00000.parquet")

    ctx = _context(duck, warehouse, tmp_path / "run")
    sections = models_step(ctx, ivl_definitions=SHIPPED_IVL_DEFINITIONS)
    assert [s.id for s in sections] == list(SECTIONS)
    warnings = [n for s in sections[1:] for n in _blocks(s, Note) if n.kind == "warning"]
    assert len(warnings) == 2 and "0 of" in warnings[0].en and "bought a wealth product" in warnings[0].en
    assert not (ctx.out_dir / SCORES_FILE).exists() and "wealth" not in ctx.results
    assert len(read_portrait(ctx.out_dir / IVL_DIR, AS_OF)) > 0
