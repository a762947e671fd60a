"""CLI round trip: train --register twice, list, show, promote, compare, predict; serve builds its command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tests.clirun import run_cli

from youshu.engine import connect
from youshu.features import compute_features
from youshu.models.store import load_model
from youshu.synth import generate

AS_OF = date(2025, 9, 30)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("registry-cli") / "wh"
    generate(out, customers=2000, seed=5, workers=1)
    return out


def test_train_register_twice_promote_compare_and_predict(
    warehouse: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = [
        "models",
        "train",
        "--target",
        "insurance_purchase",
        "--segment",
        "女性客群",
        "-w",
        str(warehouse),
    ]
    code, out = run_cli([*train, "--as-of", "2025-06-30", "-o", "m1", "--register", "her_insurance"], capsys)
    assert code == 0, out
    assert "registered her_insurance v1 (champion, challenger)" in " ".join(out.split())
    assert "零售金融" in out and (project / "registry" / "mlflow.db").is_file()
    code, out = run_cli(
        [*train, "--as-of", AS_OF.isoformat(), "-o", "m2", "--register", "her_insurance"], capsys
    )
    assert code == 0, out
    assert "registered her_insurance v2 (challenger)" in " ".join(out.split())

    code, out = run_cli(["models", "list"], capsys)
    assert code == 0 and "her_insurance  她经济保险" in out and "champion=v1, challenger=v2" in out

    code, out = run_cli(["models", "show", "her_insurance"], capsys)
    assert code == 0, out
    assert "v2 (challenger): " in out and "v1 (champion): " in out and "roc_auc" in out
    assert (
        "AUC by gender: F " in out
        and "AUC by age_band: " in out
        and "应用案例 use case: her_insurance" in out
    )

    code, out = run_cli(
        ["models", "compare", "her_insurance", "--as-of", "2025-12-20", "-w", str(warehouse)], capsys
    )
    assert code == 0, out
    assert "her_insurance v1 (champion): AUC" in out and "her_insurance v2 (challenger): AUC" in out

    code, out = run_cli(["models", "promote", "her_insurance"], capsys)
    assert code == 0 and "champion 冠军 v2 (was v1)" in out

    code, out = run_cli(
        [
            "models",
            "predict",
            "her_insurance",
            "--as-of",
            "2025-12-31",
            "-o",
            "s.parquet",
            "-w",
            str(warehouse),
        ],
        capsys,
    )
    assert code == 0, out
    assert "her_insurance v2 (champion)" in out
    scores = pq.read_table(project / "s.parquet")
    with connect("duckdb") as eng:
        features = eng.to_pyarrow(compute_features(eng, warehouse, "customer", date(2025, 12, 31)))
    position = {c: i for i, c in enumerate(features.column("customer_id").to_pylist())}
    rows = features.take([position[c] for c in scores.column("customer_id").to_pylist()])
    expected = load_model(project / "m2").ranker.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(np.array(scores.column("score").to_pylist()), expected, rtol=1e-12)
    assert not (project / "mlflow.db").exists()  # nothing outside registry/


def test_errors_name_the_model_or_alias(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["models", "show", "nope"], capsys)
    assert code == 2 and "no registered model 'nope'" in out and "Traceback" not in out
    code, out = run_cli(["models", "promote", "nope"], capsys)
    assert code == 2 and "no registered model 'nope'" in out


def test_serve_builds_a_local_mlflow_server_command(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(["registry", "serve", "--port", "5123", "--dry-run"], capsys)
    assert code == 0, out
    line = " ".join(out.split())
    assert "-m mlflow server" in line and "--host 127.0.0.1 --port 5123" in line
    assert f"sqlite:///{project / 'registry' / 'mlflow.db'}" in line and "--workers 1" in line
    code, out = run_cli(
        ["registry", "serve", "--registry-uri", "http://mlflow.example:5000", "--dry-run"], capsys
    )
    assert code == 2 and "is a server already" in out


def test_usecases_list_and_show(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["usecases", "list"], capsys)
    assert (
        code == 0
        and "金融风险防控 Financial risk prevention" in out
        and "risky_accounts  涉案账户识别" in out
    )
    code, out = run_cli(["usecases", "show", "她经济保险"], capsys)
    assert code == 0 and "0.735 — measured on synthetic province" in out and "docs/models.md" in out
    code, out = run_cli(["usecases", "show", "nope"], capsys)
    assert code == 2 and "no use case 'nope'" in out
