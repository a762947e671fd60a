"""Model cards (gender/age-band breakdown), the definitions hash and the data fingerprint."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from youshu.registry.card import build_card, card_markdown, group_metrics
from youshu.registry.fingerprint import data_fingerprint, definitions_hash
from youshu.registry.publish import log_model
from youshu.registry.store import RegistryStore, client

from .conftest import INFO, train_folder


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    gender = rng.choice(["F", "M"], n)
    y = rng.integers(0, 2, n)
    # a score that ranks women well and men at random
    score = np.where(gender == "F", 0.6 * y + 0.4 * rng.random(n), rng.random(n))
    return pd.DataFrame(
        {"y": y, "score": score, "gender": gender, "age_band": rng.choice(["25_34", "65_plus"], n)}
    )


def test_group_metrics_match_sklearn_per_group() -> None:
    rows = _rows()
    table = group_metrics(rows["y"], rows["score"], rows["gender"], column="gender")
    assert list(table["gender"]) == ["F", "M"]
    for g, row in zip(["F", "M"], table.itertuples(), strict=True):
        part = rows[rows["gender"] == g]
        assert row.rows == len(part) and row.positives == int(part["y"].sum())
        assert row.roc_auc == pytest.approx(roc_auc_score(part["y"], part["score"]))
        assert row.pr_auc == pytest.approx(average_precision_score(part["y"], part["score"]))
    assert table.loc[0, "roc_auc"] > 0.9 > 0.6 > table.loc[1, "roc_auc"]


def test_group_metrics_leave_auc_empty_for_a_single_class_group() -> None:
    table = group_metrics([1, 0, 1, 1], [0.9, 0.1, 0.5, 0.4], ["a", "a", "b", "b"])
    assert table.loc[1, "group"] == "b" and pd.isna(table.loc[1, "roc_auc"])
    assert table.loc[0, "roc_auc"] == 1.0


def test_card_carries_names_area_and_the_gender_and_age_band_breakdown() -> None:
    fingerprint = {"as_of": "2025-09-30", "tables": {}, "hash": "sha256:x"}
    card = build_card(
        INFO,
        kind="PropensityRanker",
        registered_name="her_insurance",
        metrics={"roc_auc": 0.73},
        features=["aum_fen"],
        definitions_hash="sha256:d",
        data_fingerprint=fingerprint,
        training={"target": "insurance_purchase"},
        evaluation=_rows(),
    )
    assert (card["name_zh"], card["name_en"], card["business_area"]) == (
        "她经济保险倾向",
        "Women's insurance propensity",
        "零售金融",
    )
    assert [r["gender"] for r in card["breakdown"]["gender"]] == ["F", "M"]
    assert [r["age_band"] for r in card["breakdown"]["age_band"]] == ["25_34", "65_plus"]
    text = card_markdown(card)
    assert "## 分组指标 By gender (性别)" in text and "| F | " in text and "零售金融" in text
    json.dumps(card)  # JSON-ready


def test_logged_model_has_card_files_charts_and_provenance(store: RegistryStore, tmp_path: Path) -> None:
    import plotly.graph_objects as go

    folder = train_folder(tmp_path / "m", seed=4)
    defs = tmp_path / "definitions"
    (defs / "tags").mkdir(parents=True)
    (defs / "tags" / "a.yml").write_text("- id: a\n", encoding="utf-8")
    wh = tmp_path / "wh"
    (wh / "customers").mkdir(parents=True)
    pq.write_table(pa.table({"customer_id": ["a", "b"]}), wh / "customers" / "part-00000.parquet")
    chart = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    logged = log_model(
        store,
        folder,
        INFO,
        definitions=[defs / "tags"],
        warehouse=wh,
        evaluation=_rows(),
        charts={"lift": chart},
    )
    mc = client(store)
    names = {a.path for a in mc.list_artifacts(logged.run_id)}
    assert {"model_card.json", "model_card.md", "features.json", "data_fingerprint.json", "charts"} <= names
    card = json.loads(
        Path(mc.download_artifacts(logged.run_id, "model_card.json", str(tmp_path))).read_text()
    )
    assert card["definitions_hash"] == definitions_hash([defs / "tags"])
    assert card["data_fingerprint"]["tables"]["customers"]["rows"] == 2
    assert card["features"] == ["aum_fen", "tenure_days", "txn_count_90d", "gender", "age_band"]
    run = mc.get_run(logged.run_id)
    assert run.data.metrics["roc_auc"] == 0.7 and run.data.params["n_estimators"] == "10"
    assert run.data.tags["youshu.metric.holdout"] == "t1"
    html = Path(mc.download_artifacts(logged.run_id, "charts/evaluation.html", str(tmp_path))).read_text()
    assert "<h2>lift</h2>" in html and "<script src=" not in html  # plotly.js embedded, no network


def test_definitions_hash_changes_when_a_yaml_changes(tmp_path: Path) -> None:
    tags, risk = tmp_path / "tags", tmp_path / "risk"
    (tags / "customer").mkdir(parents=True)
    risk.mkdir()
    (tags / "customer" / "basic.yml").write_text("- id: female_customer\n", encoding="utf-8")
    (risk / "rules.yml").write_text("rules: []\n", encoding="utf-8")
    before = definitions_hash([tags, risk])
    assert definitions_hash([risk, tags]) == before  # order-free
    (tags / "customer" / "basic.yml").write_text("- id: female_customer \n", encoding="utf-8")
    edited = definitions_hash([tags, risk])
    assert edited != before
    (tags / "customer" / "notes.txt").write_text("not a definition", encoding="utf-8")
    assert definitions_hash([tags, risk]) == edited
    (tags / "customer" / "basic.yml").rename(tags / "customer" / "basic2.yml")
    assert definitions_hash([tags, risk]) != edited


def test_data_fingerprint_changes_when_a_table_gains_a_part(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    for name in ("customers", "accounts"):
        (wh / name).mkdir(parents=True)
        pq.write_table(pa.table({"id": ["a", "b", "c"]}), wh / name / "part-00000.parquet")
    (wh / "truth").mkdir()
    pq.write_table(pa.table({"id": ["secret"]}), wh / "truth" / "part-00000.parquet")
    first = data_fingerprint(wh, date(2025, 9, 30))
    assert set(first["tables"]) == {"accounts", "customers"}  # never truth/
    assert first["tables"]["customers"] == {
        "rows": 3,
        "files": 1,
        "hash": first["tables"]["customers"]["hash"],
    }
    assert data_fingerprint(wh, date(2025, 9, 30)) == first
    pq.write_table(pa.table({"id": ["d"]}), wh / "customers" / "part-00001.parquet")
    second = data_fingerprint(wh, date(2025, 9, 30))
    assert second["tables"]["customers"]["rows"] == 4
    assert second["tables"]["customers"]["hash"] != first["tables"]["customers"]["hash"]
    assert second["tables"]["accounts"] == first["tables"]["accounts"]
    assert second["hash"] != first["hash"]
