"""The pipeline's registry step: the run's wealth and risk models logged, registered, carded and reported."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from youshu.config import RegistrySettings, Settings, load_settings
from youshu.engine import Engine, connect
from youshu.features import compute_features
from youshu.pipeline.models_step import SHIPPED_IVL_DEFINITIONS, models_step
from youshu.pipeline.registry_step import (
    IVL_VALUE_NAME,
    REGISTERED_FILE,
    REGISTRY_DIR,
    RISK_NAME,
    WEALTH_NAME,
    registry_step,
)
from youshu.pipeline.risk_step import risk_step
from youshu.pipeline.run import RunContext, RunResult, Step, run_pipeline
from youshu.registry.store import RegistryStore, client
from youshu.registry.versions import describe_model, predict
from youshu.reports.html import Link, Note, Section, TableBlock

AS_OF = date(2025, 9, 30)
NAMES = (WEALTH_NAME, RISK_NAME, IVL_VALUE_NAME)


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture(scope="module")
def trained(duck: Engine, tmp_path_factory: pytest.TempPathFactory) -> RunContext:
    """A 3,000-customer province (seed 11) after the risk and models steps: both models trained."""
    from youshu.synth import generate

    base = tmp_path_factory.mktemp("registry-step")
    warehouse = base / "warehouse"
    generate(warehouse, customers=3_000, seed=11, workers=1)
    out = base / "steps"
    out.mkdir()
    ctx = RunContext(duck, warehouse, AS_OF, "steps", out, validation=None, row_counts={})
    risk_step(ctx)
    models_step(ctx, ivl_definitions=SHIPPED_IVL_DEFINITIONS)
    assert {"risk", "wealth", "wealth_model", "ivl"} <= set(ctx.results)
    return ctx


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Default settings of an empty project folder: the registry is its embedded store."""
    return Settings(project_dir=tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def store(settings: Settings) -> RegistryStore:
    return RegistryStore.embedded_in(settings.project_dir)


def _context(ctx: RunContext, out: Path) -> RunContext:
    out.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(ctx, out_dir=out, sections=[])


@pytest.fixture(scope="module")
def first(
    trained: RunContext, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunContext, list[Section]]:
    """The first run registering into a fresh store (called directly on the trained context)."""
    ctx = _context(trained, tmp_path_factory.mktemp("first"))
    return ctx, registry_step(ctx, settings=settings)


@pytest.fixture(scope="module")
def second(
    first: tuple[RunContext, list[Section]],
    trained: RunContext,
    settings: Settings,
    duck: Engine,
    tmp_path_factory: pytest.TempPathFactory,
) -> RunResult:
    """A second, whole pipeline run (the trained results handed in, then the registry step): version 2."""

    def inject(ctx: RunContext) -> list[Section]:
        ctx.results.update(trained.results)
        return []

    def register(ctx: RunContext) -> list[Section]:
        return registry_step(ctx, settings=settings)

    return run_pipeline(
        AS_OF,
        name="second",
        engine=duck,
        warehouse=trained.warehouse,
        runs_dir=tmp_path_factory.mktemp("runs"),
        steps=[Step("inject", inject), Step("registry", register)],
    )


def _aliases(store: RegistryStore, name: str) -> dict[int, list[str]]:
    return {v["version"]: v["aliases"] for v in describe_model(store, name)["versions"]}


def _card(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / REGISTRY_DIR / name / "model_card.json").read_text(encoding="utf-8"))


def test_first_run_registers_wealth_risk_and_ivl_value_as_champion_and_challenger(
    first: tuple[RunContext, list[Section]], store: RegistryStore
) -> None:
    for name in NAMES:
        assert _aliases(store, name) == {1: ["champion", "challenger"]}
    model = describe_model(store, WEALTH_NAME)
    assert model["tags"]["business_area"] == "零售金融"
    assert describe_model(store, RISK_NAME)["tags"]["business_area"] == "金融风险防控"
    assert describe_model(store, IVL_VALUE_NAME)["tags"]["business_area"] == "零售金融"


def test_second_run_adds_version_2_as_challenger_and_keeps_version_1_champion(
    second: RunResult, store: RegistryStore
) -> None:
    for name in NAMES:
        assert _aliases(store, name) == {2: ["challenger"], 1: ["champion"]}
    registered = json.loads((second.folder / REGISTERED_FILE).read_text(encoding="utf-8"))
    assert {(r["name"], r["version"], tuple(r["aliases"]), r["champion"]) for r in registered} == {
        (name, "2", ("challenger",), "1") for name in NAMES
    }


def test_logged_wealth_run_has_out_of_time_metrics_features_hashes_and_charts(
    first: tuple[RunContext, list[Section]], trained: RunContext, store: RegistryStore
) -> None:
    outcome = trained.results["wealth"]
    version = describe_model(store, WEALTH_NAME)["versions"][-1]
    assert version["metrics"]["roc_auc"] == pytest.approx(outcome.model.roc_auc)
    assert version["metrics"]["rank_by_aum_roc_auc"] == pytest.approx(outcome.baseline.roc_auc)
    assert version["tags"]["youshu.as_of"] == AS_OF.isoformat()
    assert version["tags"]["youshu.definitions_hash"].startswith("sha256:")
    assert version["tags"]["youshu.metric.holdout"] == str(outcome.test_split)
    mc = client(store)
    artifacts = {a.path for a in mc.list_artifacts(version["run_id"])}
    assert {
        "model_card.json",
        "model_card.md",
        "features.json",
        "data_fingerprint.json",
        "charts",
    } <= artifacts
    assert [a.path for a in mc.list_artifacts(version["run_id"], "charts")] == ["charts/evaluation.html"]
    card = version["card"]
    assert card["features"] == list(trained.results["wealth_model"]["ranker"].feature_names_in_)
    assert card["data_fingerprint"]["as_of"] == AS_OF.isoformat()
    assert card["data_fingerprint"]["tables"]["customers"]["rows"] == 3_000
    assert "truth" not in card["data_fingerprint"]["tables"]


def test_wealth_card_breaks_the_holdout_down_by_gender_and_age_band(
    first: tuple[RunContext, list[Section]], trained: RunContext
) -> None:
    ctx, _ = first
    card = _card(ctx.out_dir, WEALTH_NAME)
    assert card["use_case"] == "wealth_prospects"
    held_out = trained.results["wealth_model"]["evaluation"]
    for column in ("gender", "age_band"):
        rows = card["breakdown"][column]
        assert len(rows) >= 2
        assert sum(r["rows"] for r in rows) == card["metrics"]["rows"] == len(held_out)
        assert sum(r["positives"] for r in rows) == card["metrics"]["positives"]
        counts = held_out[column].astype(object).fillna("unknown").value_counts()  # as the card groups them
        assert {r[column]: r["rows"] for r in rows} == counts.to_dict()
    markdown = (ctx.out_dir / REGISTRY_DIR / WEALTH_NAME / "model_card.md").read_text(encoding="utf-8")
    page = (ctx.out_dir / REGISTRY_DIR / WEALTH_NAME / "model_card.html").read_text(encoding="utf-8")
    assert "By gender (性别)" in markdown and "By age_band (年龄段)" in markdown
    assert "年龄段" in page and "零售金融" in page and "<script" not in page


def test_risk_card_carries_the_steps_out_of_time_figures_and_no_breakdown(
    first: tuple[RunContext, list[Section]], trained: RunContext
) -> None:
    ctx, _ = first
    card = _card(ctx.out_dir, RISK_NAME)
    validation = trained.results["risk"]["validation"]
    assert card["metrics"]["pr_auc"] == pytest.approx(validation["pr_auc"].iloc[0])
    assert card["metrics"]["without_graph_pr_auc"] == pytest.approx(validation["pr_auc"].iloc[1])
    assert card["kind"] == "RiskModel" and card["business_area"] == "金融风险防控"
    assert card["breakdown"] == {}


def test_run_folder_holds_the_cards_and_the_report_links_them(second: RunResult) -> None:
    for name in NAMES:
        for suffix in ("md", "html", "json"):
            assert (second.folder / REGISTRY_DIR / name / f"model_card.{suffix}").is_file()
    assert (second.folder / REGISTRY_DIR / WEALTH_NAME / "model" / "model.json").is_file()
    report = second.report_path.read_text(encoding="utf-8")
    assert "模型登记" in report
    for name in NAMES:
        assert f"{REGISTRY_DIR}/{name}/model_card.html" in report
    assert "youshu models promote wealth_propensity" in report


def test_section_lists_versions_aliases_and_key_metrics(
    first: tuple[RunContext, list[Section]], trained: RunContext
) -> None:
    _, sections = first
    [section] = sections
    assert (section.id, section.title_zh) == ("registry", "模型登记")
    [table] = [b for b in section.blocks if isinstance(b, TableBlock)]
    rows = table.frame.set_index("name")
    assert rows.loc[WEALTH_NAME, "aliases"] == "champion, challenger"
    assert rows.loc[WEALTH_NAME, "value"] == pytest.approx(trained.results["wealth"].model.roc_auc)
    links = [b.href for b in section.blocks if isinstance(b, Link)]
    assert links == [f"{REGISTRY_DIR}/{name}/model_card.html" for name in NAMES]
    notes = " ".join(b.zh for b in section.blocks if isinstance(b, Note))
    assert "youshu models promote" in notes


def test_registered_champion_scores_as_the_runs_ranker(
    first: tuple[RunContext, list[Section]], trained: RunContext, store: RegistryStore, duck: Engine
) -> None:
    features = duck.execute(compute_features(duck, trained.warehouse, "customer", AS_OF)).head(200)
    scored = predict(store, WEALTH_NAME, features, "champion")
    ranker = trained.results["wealth_model"]["ranker"]
    assert list(scored["customer_id"]) == list(features["customer_id"])
    np.testing.assert_allclose(scored["score"], ranker.predict_proba(features)[:, 1], rtol=1e-9)


def test_off_switch_in_youshu_yaml_registers_nothing(
    trained: RunContext, project: Path, tmp_path: Path
) -> None:
    (project / "youshu.yaml").write_text("registry:\n  log_runs: false\n", encoding="utf-8")
    assert load_settings(project).registry == RegistrySettings(log_runs=False)
    ctx = _context(trained, tmp_path / "run")
    assert registry_step(ctx) == []
    assert not (project / "registry").exists()
    assert not (ctx.out_dir / REGISTRY_DIR).exists()


def test_shipped_youshu_yaml_logs_runs() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert load_settings(repo).registry.log_runs is True


def test_without_trained_models_the_step_only_says_so(duck: Engine, tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    ctx = RunContext(duck, tmp_path, AS_OF, "empty", tmp_path / "run", validation=None, row_counts={})
    [section] = registry_step(ctx, settings=settings)
    assert [type(b) for b in section.blocks] == [Note]
    assert "未登记" in section.blocks[0].zh
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_registry_is_reported_not_raised(trained: RunContext, tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path, registry_uri="ftp://nowhere/registry")
    ctx = _context(trained, tmp_path / "run")
    [section] = registry_step(ctx, settings=settings)
    warnings = [b for b in section.blocks if isinstance(b, Note) and b.kind == "warning"]
    assert len(warnings) == 1 and "ftp://nowhere/registry" in warnings[0].zh
    assert not (ctx.out_dir / REGISTERED_FILE).exists()
    assert not [b for b in section.blocks if isinstance(b, TableBlock)]


def test_ivl_value_card_labels_its_customer_halves_check_and_scores_as_the_portrait_model(
    first: tuple[RunContext, list[Section]], trained: RunContext, store: RegistryStore, duck: Engine
) -> None:
    ctx, _ = first
    card = _card(ctx.out_dir, IVL_VALUE_NAME)
    portrait = trained.results["ivl"]
    assert card["kind"] == "AumRegressor" and card["use_case"] == "ivl_portrait"
    assert card["metrics"]["check"].startswith("customer halves, not out of time")
    metrics = card["metrics"]  # training rows: the customers already there as of T - H
    assert (
        0 < metrics["rows"] <= 3_000
        and abs(metrics["check_rows"] - metrics["rows"] / 2) < 0.1 * metrics["rows"]
    )
    assert -1 <= metrics["halves_spearman"] <= 1 and -1 <= metrics["persistence_spearman"] <= 1
    assert card["training"]["train_as_of"] == portrait.value_train_as_of.isoformat()
    assert "潜在价值" in card["intended_use"] and "out-of-time" in card["limitations"]
    features = duck.execute(compute_features(duck, trained.warehouse, "customer", AS_OF)).head(200)
    scored = predict(store, IVL_VALUE_NAME, features, "champion")
    assert list(scored["customer_id"]) == list(features["customer_id"])
    np.testing.assert_allclose(
        scored["predicted_aum_fen"], portrait.value_model.predict(features), rtol=1e-12
    )
