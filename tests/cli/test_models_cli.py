"""`youshu models train|score`: train on a target and segment, save, score the warehouse or an outside table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from youshu.cli.main import _register, app, main
from youshu.engine import connect
from youshu.features import compute_features
from youshu.models.store import load_model
from youshu.synth import generate

AS_OF = date(2025, 9, 30)
SCORE_AS_OF = date(2025, 12, 31)
runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _register()
    out = tmp_path_factory.mktemp("models-cli") / "wh"
    generate(out, customers=3000, seed=5, workers=1)
    return out


@pytest.fixture(scope="module")
def trained(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("models-cli-out") / "her_insurance"
    args = ["models", "train", "--target", "insurance_purchase", "--segment", "女性客群"]
    args += ["--as-of", AS_OF.isoformat(), "-o", str(folder), "-w", str(warehouse)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return folder, result.output


def _women(warehouse: Path, as_of: date) -> list[str]:
    rows = duckdb.sql(
        f"""
        SELECT customer_id FROM read_parquet('{warehouse}/customers/*.parquet')
        WHERE gender = 'F' AND onboard_date <= DATE '{as_of}' ORDER BY customer_id
        """
    ).fetchall()
    return [r[0] for r in rows]


def test_train_saves_the_model_with_its_card_and_out_of_time_figures(trained: tuple[Path, str]) -> None:
    folder, output = trained
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert (meta["target"], meta["segment"], meta["as_of"], meta["horizon_days"]) == (
        "insurance_purchase",
        "女性客群",
        "2025-09-30",
        90,
    )
    assert "aum_fen" in meta["features"] and "customer_id" not in meta["features"]
    metrics = meta["metrics"]
    assert metrics["holdout"].startswith("features as of 2025-07-02")
    assert metrics["trained_on"].startswith("features as of 2025-04-03")
    assert 0.5 < metrics["roc_auc"] <= 1 and metrics["positives"] > 0
    assert meta["notes"]["train_as_of"] == "2025-07-02"
    assert f"AUC {metrics['roc_auc']:.3f}" in output and "rank by AUM" in output
    assert (folder / "model.txt").read_text().startswith("tree")


def test_score_ranks_the_segment_as_of_the_date_with_zh_reasons(
    warehouse: Path, trained: tuple[Path, str], tmp_path: Path
) -> None:
    folder, _ = trained
    out = tmp_path / "scores.parquet"
    args = ["models", "score", "--model", str(folder), "--as-of", SCORE_AS_OF.isoformat(), "-o", str(out)]
    result = runner.invoke(app, [*args, "-w", str(warehouse)])
    assert result.exit_code == 0, (result.output, result.exception)
    scores = pq.read_table(out)
    assert scores.column_names == ["customer_id", "score", "rank", "reason_1", "reason_2", "reason_3"]
    # The model's segment applies as of the scoring date: every woman onboarded by then, once.
    assert sorted(scores.column("customer_id").to_pylist()) == _women(warehouse, SCORE_AS_OF)
    assert scores.column("rank").to_pylist() == list(range(1, scores.num_rows + 1))
    values = np.array(scores.column("score").to_pylist())
    assert np.all(np.diff(values) <= 0)
    # The scores are the saved ranker's probabilities on the features as of the date.
    with connect("duckdb") as eng:
        features = eng.to_pyarrow(compute_features(eng, warehouse, "customer", SCORE_AS_OF))
    ranker = load_model(folder).ranker
    position = {c: i for i, c in enumerate(features.column("customer_id").to_pylist())}
    rows = features.take([position[c] for c in scores.column("customer_id").to_pylist()])
    np.testing.assert_allclose(values, ranker.predict_proba(rows)[:, 1], rtol=1e-9)
    assert all(r for r in scores.column("reason_1").to_pylist()[:10])


def test_score_accepts_an_outside_feature_table(
    warehouse: Path, trained: tuple[Path, str], tmp_path: Path
) -> None:
    folder, _ = trained
    with connect("duckdb") as eng:
        features = eng.to_pyarrow(compute_features(eng, warehouse, "customer", SCORE_AS_OF))
    outside = features.slice(0, 500)
    pq.write_table(outside, tmp_path / "outside.parquet")
    args = ["models", "score", "--model", str(folder), "--features", str(tmp_path / "outside.parquet")]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "s.parquet"), "--all-rows"])
    assert result.exit_code == 0, (result.output, result.exception)
    scores = pq.read_table(tmp_path / "s.parquet")
    assert sorted(scores.column("customer_id").to_pylist()) == sorted(
        outside.column("customer_id").to_pylist()
    )
    assert "scored 500 customers in" in result.output


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return int(exit_info.value.code or 0), out.err


def test_unknown_target_exits_2_naming_the_known_ones(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["models", "train", "--target", "insurance", "--as-of", "2025-09-30", "-o", str(tmp_path / "m")]
    code, err = _run([*args, "-w", str(warehouse)], capsys)
    assert code == 2
    assert "unknown target 'insurance'" in err and "insurance_purchase" in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("segment", "horizon", "expected"),
    [
        ("女性客群 AND NOT 女性客群", "90", "matches none of the"),
        ("女姓客群", "90", "did you mean 女性客群"),
        # Dormant women buying insurance on one given day: none in this province.
        ("女性客群 AND 沉睡客户", "1", "had the event 'insurance_purchase'"),
    ],
)
def test_bad_segments_exit_2_with_the_reason(
    warehouse: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    segment: str,
    horizon: str,
    expected: str,
) -> None:
    args = ["models", "train", "--target", "insurance_purchase", "--segment", segment, "--horizon", horizon]
    args += ["--as-of", "2025-09-30", "-o", str(tmp_path / "m"), "-w", str(warehouse)]
    code, err = _run(args, capsys)
    assert code == 2, err
    assert expected in " ".join(err.split()), err
    assert not (tmp_path / "m").exists()


def test_score_without_a_model_folder_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["models", "score", "--model", str(tmp_path / "none"), "--as-of", "2025-12-31"]
    code, err = _run([*args, "-o", str(tmp_path / "s.parquet")], capsys)
    assert code == 2
    assert "holds no saved model" in " ".join(err.split())
