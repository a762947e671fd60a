"""`youshu targets build` on a small synthetic province: lists within capacity, masked, summary printed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from tests.clirun import run_cli as _run

from youshu.schema.storage import parquet_files
from youshu.synth import generate


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("targets") / "wh"
    generate(out, customers=1000, seed=4, workers=1)
    return out


def test_build_writes_capacity_bound_masked_lists(
    province: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers = pq.ParquetDataset(parquet_files(province / "customers")).read()
    ids = customers.column("customer_id")
    rng = np.random.default_rng(3)
    for name in ("wealth", "insurance"):
        pq.write_table(
            pa.table({"customer_id": ids, "score": rng.random(len(ids)), "reasons": ["行外理财"] * len(ids)}),
            tmp_path / f"{name}.parquet",
        )
    opted = ids.to_pylist()[:5]
    (tmp_path / "optout.txt").write_text("\n".join(opted), encoding="utf-8")
    flags = tmp_path / "customer_risk_flags" / "as_of_date=2025-09-30"
    flags.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "customer_id": ids.to_pylist()[5:8],
                "as_of_date": pa.array([date(2025, 9, 30)] * 3, pa.date32()),
                "is_risky_account": [True, True, True],
                "alerted_accounts": [1, 1, 1],
                "max_score": [0.9, 0.9, 0.9],
            }
        ),
        flags / "part-00000.parquet",
    )
    out = tmp_path / "lists" / "targets.xlsx"
    code, text = _run(
        [
            "targets", "build",
            "--scores", f"wealth={tmp_path / 'wealth.parquet'}",
            "--scores", f"insurance={tmp_path / 'insurance.parquet'}",
            "--zh", "insurance=她经济保险",
            "--as-of", "2025-09-30",
            "--per-manager-week", "2",
            "--weeks", "1",
            "--exclude-risky", str(tmp_path / "customer_risk_flags"),
            "--opt-out", str(tmp_path / "optout.txt"),
            "-w", str(province),
            "-o", str(out),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, text
    assert "opted_out 拒绝营销名单: 5" in text
    assert "risky_account 风险账户: 3" in text
    assert "容量" in text and "入选 selected" in text
    book = load_workbook(out)
    rows = list(book["名单 list"].values)
    header = rows[1]
    body = [dict(zip(header, r, strict=True)) for r in rows[2:]]
    summary = list(load_workbook(out.with_name("targets_summary.xlsx"))["名单 list"].values)
    outlets = [dict(zip(summary[1], r, strict=True)) for r in summary[2:]]
    capacity = {o["outlet_id"]: o["capacity"] for o in outlets}
    per_outlet: dict[str, int] = {}
    for r in body:
        per_outlet[r["outlet_id"]] = per_outlet.get(r["outlet_id"], 0) + 1
    assert body and all(n <= capacity[o] for o, n in per_outlet.items())
    assert all(o["capacity"] == 2 * o["account_managers"] for o in outlets)
    assert len({r["customer_id"] for r in body}) == len(body)
    assert not {r["customer_id"] for r in body} & set(opted + ids.to_pylist()[5:8])
    raw = {r["customer_id"]: r for r in customers.select(["customer_id", "name", "phone"]).to_pylist()}
    for r in body:
        assert r["name"] != raw[r["customer_id"]]["name"] and "*" in r["name"]
    assert {r["campaign_zh"] for r in body} <= {"wealth", "她经济保险"}


def test_build_names_a_bad_scores_option(
    province: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(
        ["targets", "build", "--scores", "wealth", "--as-of", "2025-09-30", "-w", str(province), "-o",
         str(tmp_path / "x.xlsx")],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "--scores takes NAME=VALUE" in text
