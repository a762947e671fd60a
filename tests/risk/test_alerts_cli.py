"""Alerts with reasons and counterparties, masked exports, scoring an edge list, and the ``youshu risk`` CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from tests.clirun import run_cli as _run

from youshu.cli.main import main
from youshu.engine import Engine, connect
from youshu.models.risk import RiskModel, build_alerts, export_alerts, score_accounts
from youshu.schema.storage import parquet_files

AS_OF = date(2025, 9, 30)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(risk_province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained through the CLI on three as-of dates, labelled by the reported cases (risk_cases)."""
    folder = tmp_path_factory.mktemp("model") / "risk"
    code = None
    try:
        main(
            [
                "risk", "train", "--labels", str(risk_province / "risk_cases"),
                "--train-from", "2025-04-30", "--train-to", "2025-06-30", "--every", "30",
                "--warehouse", str(risk_province), "--out", str(folder),
            ]
        )  # fmt: skip
    except SystemExit as exc:
        code = exc.code
    assert code in (None, 0)
    return folder


@pytest.fixture(scope="module")
def alerts(model_dir: Path, risk_province: Path) -> pd.DataFrame:
    with connect("duckdb") as eng:
        return build_alerts(eng, risk_province, AS_OF, RiskModel.load(model_dir), top=50)


def test_alerts_are_the_top_scores_with_reasons_rules_and_counterparties(
    alerts: pd.DataFrame, model_dir: Path, risk_province: Path, duck: Engine
) -> None:
    scores = score_accounts(duck, risk_province, AS_OF, RiskModel.load(model_dir)).to_pandas()
    assert alerts["rank"].tolist() == list(range(1, 51))
    assert alerts["account_id"].tolist() == scores["account_id"].head(50).tolist()
    assert (alerts["score"].diff().dropna() <= 0).all()
    assert alerts["reasons"].str.contains(r"\(\+\d", regex=True).all()  # every alert has a positive reason
    assert alerts["reasons"].str.contains("近").any()  # zh feature names
    assert (alerts["counterparties"].str.len() > 0).mean() > 0.9
    first = alerts.iloc[0]
    txn = pq.ParquetDataset(parquet_files(risk_province / "transactions")).read().to_pandas()
    mine = txn[(txn["account_id"] == first["account_id"]) & (txn["txn_at"] >= "2025-09-01")]
    top_cp = mine.groupby("counterparty_id")["amount_fen"].sum().idxmax()
    assert top_cp in first["counterparties"]


def test_many_alerts_are_confirmed_cases(alerts: pd.DataFrame, cases: pd.DataFrame) -> None:
    from youshu.models.risk.labels import label_accounts

    hits = label_accounts(alerts["account_id"], AS_OF, cases)
    assert hits.sum() >= 10  # of 50 alerts, on a day with about 25 active mules


def test_alert_export_masks_personal_data(alerts: pd.DataFrame, risk_province: Path, tmp_path: Path) -> None:
    path = export_alerts(alerts, tmp_path / "alerts.xlsx", warehouse=risk_province)
    sheet = load_workbook(path)["名单 list"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "预警日期", "账号")
    header = list(rows[1])
    customers = pq.ParquetDataset(parquet_files(risk_province / "customers")).read().to_pandas()
    raw = customers.set_index("customer_id")
    body = rows[2:]
    assert len(body) == 50
    for row in body:
        record = dict(zip(header, row, strict=True))
        person = raw.loc[record["customer_id"]]
        assert record["name"] != person["name"] and record["name"][0] == person["name"][0]
        assert "*" in record["id_card_no"] and record["id_card_no"] != person["id_card_no"]


def test_cli_scores_alerts_and_drift(
    model_dir: Path, risk_province: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = str(risk_province)
    code, out = _run(
        ["risk", "score", "--model", str(model_dir), "--as-of", "2025-09-30", "-w", wh, "-o", "s.parquet"],
        capsys,
    )
    assert code == 0, out
    scores = pq.read_table(project / "s.parquet").to_pandas()
    assert {"account_id", "score", "rules_hit", "outlet_id"} <= set(scores.columns)
    assert scores["score"].is_monotonic_decreasing
    code, out = _run(
        [
            "risk",
            "alerts",
            "--model",
            str(model_dir),
            "--as-of",
            "2025-09-30",
            "--top",
            "20",
            "-w",
            wh,
            "-o",
            "a.parquet",
        ],
        capsys,
    )
    assert code == 0, out
    assert pq.read_table(project / "a.parquet").num_rows == 20
    code, out = _run(
        ["risk", "drift", "--model", str(model_dir), "--reference", "2025-06-30", "--current", "2025-09-30",
         "-w", wh, "-o", "aware", "--budget", "50"],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    assert "PSI" in out and "rising outlets" in out
    flags = pq.read_table(project / "aware" / "customer_risk_flags" / "as_of_date=2025-09-30").to_pandas()
    assert flags["is_risky_account"].sum() >= 40  # 50 alerted accounts, a few customers hold two
    assert (project / "aware" / "drift.parquet").exists()


def test_cli_scores_a_plain_edge_list(
    model_dir: Path, risk_province: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    txn = pq.ParquetDataset(parquet_files(risk_province / "transactions")).read().to_pandas()
    out_rows = txn[(txn["direction"] == "out") & txn["counterparty_id"].notna()]
    edges = pd.DataFrame(
        {
            "From Account": out_rows["account_id"],
            "To Account": out_rows["counterparty_id"],
            "Amount Paid": out_rows["amount_fen"] / 100,
            "Timestamp": out_rows["txn_at"].dt.strftime("%Y/%m/%d %H:%M"),
        }
    )
    edges.to_csv(project / "edges.csv", index=False)
    code, out = _run(
        [
            "risk", "score", "--model", str(model_dir), "--as-of", "2025-09-30", "--edges", "edges.csv",
            "--from-column", "From Account", "--to-column", "To Account", "--amount-column", "Amount Paid",
            "--time-column", "Timestamp", "-o", "edge_scores.parquet",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    scores = pq.read_table(project / "edge_scores.parquet").to_pandas()
    assert len(scores) > 1000 and scores["score"].between(0, 1).all()
    assert scores["outlet_id"].isna().all()


def test_cli_errors_exit_2_with_a_message(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(
        ["risk", "score", "--model", "nowhere", "--as-of", "2025-09-30", "-o", "x.parquet"], capsys
    )
    assert code == 2 and "not a risk model" in out
    code, out = _run(
        [
            "risk",
            "train",
            "--labels",
            "missing.csv",
            "--train-from",
            "2025-01-31",
            "--train-to",
            "2025-02-28",
        ],
        capsys,
    )
    assert code == 2 and "no confirmed cases" in out
