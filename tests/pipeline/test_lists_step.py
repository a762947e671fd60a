"""The pipeline's lists step: capacity per outlet, risky customers out, masked files, a report section."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from youshu.engine import connect
from youshu.models.target_inputs import declined_recently
from youshu.pipeline import RunContext, run_pipeline
from youshu.pipeline.lists_step import LIST_FILE, PER_MANAGER_WEEK, lists_step
from youshu.pipeline.run import Step
from youshu.synth import generate

from . import AS_OF


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lists") / "warehouse"
    generate(out, customers=1500, seed=8, workers=1)
    return out


@pytest.fixture(scope="module")
def scores(province: Path) -> pd.DataFrame:
    ids = pq.read_table(province / "customers", columns=["customer_id"]).column(0).to_pylist()
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "score": rng.random(len(ids)),
            "reason_1": "近90天向他行理财转出",
            "reason_2": None,
        }
    )


def _run(province: Path, runs: Path, results: dict) -> Path:
    def inject(ctx: RunContext) -> list:
        ctx.results.update(results)
        return []

    with connect("duckdb") as eng:
        result = run_pipeline(
            AS_OF, warehouse=province, runs_dir=runs, engine=eng,
            steps=[Step("inject", inject), Step("lists", lists_step)],
        )  # fmt: skip
    return result.folder


def test_risky_customers_are_left_out_and_capacity_holds(
    province: Path, scores: pd.DataFrame, tmp_path: Path
) -> None:
    declined = set(declined_recently(province, AS_OF).to_pylist())
    best = scores[~scores["customer_id"].isin(declined)].nlargest(3, "score")["customer_id"].tolist()
    flags = pd.DataFrame({"customer_id": best, "is_risky_account": [True, True, False]})
    folder = _run(province, tmp_path, {"wealth": SimpleNamespace(scores=scores), "risk": {"flags": flags}})
    listed = pq.read_table(folder / f"{LIST_FILE}.parquet").to_pandas()
    summary = pq.read_table(folder / f"{LIST_FILE}_summary.parquet").to_pandas()
    ids = set(listed["customer_id"])
    assert best[0] not in ids and best[1] not in ids
    assert best[2] in ids  # the best-scored customer of its outlet who is not flagged
    assert not ids & declined
    assert (summary["selected"] <= summary["capacity"]).all()
    assert (summary["capacity"] % PER_MANAGER_WEEK == 0).all() and summary["selected"].sum() == len(listed)
    assert summary["excluded_risky_account"].sum() == 2
    raw = pq.read_table(province / "customers", columns=["name", "phone"]).to_pandas()
    text = " ".join(listed.astype(str).to_numpy().ravel())
    assert not [v for v in raw["phone"].dropna() if v in text]
    assert not [v for v in raw["name"].dropna() if len(v) > 1 and v in text]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "营销名单" in html and "剔除:风险账户" in html


def test_without_scores_the_step_explains(province: Path, tmp_path: Path) -> None:
    folder = _run(province, tmp_path, {})
    assert "未生成营销名单" in (folder / "report.html").read_text(encoding="utf-8")
    assert not (folder / f"{LIST_FILE}.parquet").exists()
