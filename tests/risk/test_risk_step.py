"""The pipeline's risk step: trained on reported cases only, alerts masked, flags for marketing lists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import connect
from youshu.pipeline import run_pipeline
from youshu.pipeline.risk_step import ALERT_BUDGET, high_risk_trend, reported_cases, risk_step
from youshu.pipeline.run import Step
from youshu.schema.storage import write_part
from youshu.schema.tables import get_table

from .conftest import AS_OF


def test_only_cases_reported_by_the_as_of_date_are_used(tmp_path: Path) -> None:
    spec = get_table("risk_cases")
    rows = [
        ("A1", date(2025, 9, 30), date(2025, 7, 1), date(2025, 8, 1), "police_notice"),
        ("A2", date(2025, 10, 1), date(2025, 7, 1), date(2025, 8, 1), "investigation"),
    ]
    table = pa.Table.from_pylist(
        [dict(zip(spec.column_names, r, strict=True)) for r in rows], spec.arrow_schema
    )
    write_part(tmp_path / "risk_cases", 0, table, spec)
    assert reported_cases(tmp_path, AS_OF)["account_id"].tolist() == ["A1"]
    assert reported_cases(tmp_path / "elsewhere", AS_OF).empty


def test_the_trend_counts_accounts_above_the_threshold_per_county_and_in_total() -> None:
    scores = pd.DataFrame(
        {
            "as_of_date": [date(2025, 9, 2)] * 3 + [date(2025, 9, 30)] * 3,
            "county_id": ["C1", "C1", "C2", "C1", "C2", "C2"],
            "score": [0.9, 0.1, 0.5, 0.2, 0.7, 0.8],
        }
    )
    t = high_risk_trend(scores, 0.5).set_index(["as_of_date", "county_id"])["high_risk"].to_dict()
    assert t == {
        ("2025-09-02", "C1"): 1, ("2025-09-02", "C2"): 1, ("2025-09-02", "全省"): 2,
        ("2025-09-30", "C1"): 0, ("2025-09-30", "C2"): 2, ("2025-09-30", "全省"): 2,
    }  # fmt: skip


@pytest.fixture(scope="module")
def run(risk_province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with connect("duckdb") as eng:
        result = run_pipeline(
            AS_OF,
            warehouse=risk_province,
            runs_dir=tmp_path_factory.mktemp("runs"),
            engine=eng,
            steps=[Step("risk", risk_step)],
        )
    return result.folder


def test_the_step_writes_model_scores_alerts_and_flags(run: Path) -> None:
    risk = run / "risk"
    assert (risk / "model" / "model.txt").is_file()
    scores = pq.read_table(risk / "scores.parquet").to_pandas()
    assert len(scores) > 1000 and scores["score"].between(0, 1).all()
    alerts = pd.read_parquet(risk / "alerts.parquet")
    assert len(alerts) == ALERT_BUDGET
    top = scores.nlargest(ALERT_BUDGET, "score")["score"].min()
    assert alerts.iloc[:, 0].notna().all() and top > scores["score"].median()
    flags = pq.read_table(risk / "customer_risk_flags", partitioning=None).to_pandas()
    flagged = flags[flags["is_risky_account"]]
    assert 0 < len(flagged) <= ALERT_BUDGET
    assert (risk / "alerts.xlsx").is_file()
    for name in ("by_outlet", "by_county", "drift", "rising_outlets", "validation", "high_risk_trend"):
        assert (risk / f"{name}.parquet").is_file(), name


def test_alert_exports_mask_the_holders_personal_data(run: Path, risk_province: Path) -> None:
    people = pq.read_table(risk_province / "customers", columns=["name", "phone", "id_card_no"]).to_pandas()
    exported = pd.read_parquet(run / "risk" / "alerts.parquet").astype(str)
    text = " ".join(exported.to_numpy().ravel())
    raw = [v for col in people.columns for v in people[col].dropna().astype(str) if len(v) >= 3]
    assert not [v for v in raw if v in text]
    assert any("*" in v for v in exported.to_numpy().ravel())


def test_validation_beats_the_base_rate_by_far(run: Path) -> None:
    v = pq.read_table(run / "risk" / "validation.parquet").to_pandas()
    base = v["positives"] / v["rows"]
    assert (v["pr_auc"] > 5 * base).all(), v
    assert v["roc_auc"].gt(0.8).all(), v


def test_the_report_has_the_risk_section(run: Path) -> None:
    html = (run / "report.html").read_text(encoding="utf-8")
    for text in ("风险账户", "跨时间验证", "今日预警", "PSI", "高风险账户趋势"):
        assert text in html


def test_without_reported_cases_the_step_explains_instead_of_failing(tmp_path: Path) -> None:
    from tests.pipeline import write_tiny_warehouse

    tiny = write_tiny_warehouse(tmp_path / "warehouse")
    with connect("duckdb") as eng:
        result = run_pipeline(
            AS_OF, warehouse=tiny, runs_dir=tmp_path / "runs", engine=eng, steps=[Step("risk", risk_step)]
        )
    html = result.report_path.read_text(encoding="utf-8")
    assert "未训练风险模型" in html
    assert not (result.folder / "risk" / "model").exists()
