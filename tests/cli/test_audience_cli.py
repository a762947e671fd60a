"""`youshu audience count|export` over a wide tag table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from tests.clirun import run_cli as _run

from youshu.schema.storage import parquet_files
from youshu.synth import generate


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("aud")
    warehouse = root / "wh"
    generate(warehouse, customers=1000, seed=4, workers=1)
    customers = pq.ParquetDataset(parquet_files(warehouse / "customers")).read()
    gender = customers["gender"].to_pylist()
    occupation = customers["occupation"].to_pylist()
    wide = pa.table(
        {
            "customer_id": customers["customer_id"],
            "home_outlet_id": customers["home_outlet_id"],
            "is_female": [g == "F" for g in gender],
            "is_farmer": [o == "farmer" for o in occupation],
        }
    )
    pq.write_table(wide, root / "wide.parquet")
    return warehouse, root / "wide.parquet"


def test_count_matches_the_tag_table(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, wide = setup
    table = pq.read_table(wide).to_pylist()
    expected = sum(1 for r in table if r["is_female"] and not r["is_farmer"])
    code, out = _run(
        ["audience", "count", "is_female AND NOT is_farmer", "--tags", str(wide), "--by-outlet"], capsys
    )
    assert code == 0, out
    assert f"人数 matches: {expected:,} of 1,000" in out
    assert "网点 outlet" in out


def test_export_writes_a_masked_excel_list(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, wide = setup
    out = tmp_path / "her.xlsx"
    code, text = _run(
        [
            "audience",
            "export",
            "is_female AND is_farmer",
            "--tags",
            str(wide),
            "-o",
            str(out),
            "-w",
            str(warehouse),
            "--by",
            "analyst01",
        ],
        capsys,
    )
    assert code == 0, text
    rows = list(load_workbook(out)["名单 list"].values)[2:]
    expected = sum(1 for r in pq.read_table(wide).to_pylist() if r["is_female"] and r["is_farmer"])
    assert len(rows) == expected
    assert all("*" in r[1] for r in rows)  # names masked


def test_an_unknown_tag_exits_2_with_a_suggestion(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, wide = setup
    code, out = _run(["audience", "count", "is_femal", "--tags", str(wide)], capsys)
    assert code == 2
    assert "did you mean is_female" in out
