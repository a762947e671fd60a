"""Exported customer lists: masked personal data in every format, zh headers, who and when."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from youshu.errors import YoushuError
from youshu.reports.lists import customer_list, write_list, zh_headers
from youshu.schema.storage import parquet_files
from youshu.schema.tables import CUSTOMERS
from youshu.synth import generate


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lists") / "wh"
    generate(out, customers=1000, seed=9, workers=1)
    return out


@pytest.fixture(scope="module")
def raw(warehouse: Path) -> list[dict]:
    return pq.ParquetDataset(parquet_files(warehouse / "customers")).read().slice(0, 20).to_pylist()


def test_list_keeps_the_order_asked_and_masks_personal_data(warehouse: Path, raw: list[dict]) -> None:
    ids = [r["customer_id"] for r in raw][::-1]
    table = customer_list(warehouse, pa.array(ids))
    assert table["customer_id"].to_pylist() == ids
    first = table.to_pylist()[0]
    person = raw[-1]
    assert first["name"] == person["name"][0] + "*" * (len(person["name"]) - 1)
    assert first["id_card_no"] == person["id_card_no"][:4] + "*" * 10 + person["id_card_no"][-4:]
    if person["phone"]:
        assert first["phone"] == person["phone"][:3] + "****" + person["phone"][-4:]


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_no_raw_personal_data_reaches_the_file(
    warehouse: Path, raw: list[dict], tmp_path: Path, suffix: str
) -> None:
    table = customer_list(warehouse, pa.array([r["customer_id"] for r in raw]))
    path = write_list(
        table,
        tmp_path / f"list{suffix}",
        title="女性客群 AND 行外理财客户",
        headers_zh=zh_headers(table.column_names),
        exported_by="analyst01",
    )
    if suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            blob = b"".join(z.read(n) for n in z.namelist()).decode("utf-8", "ignore")
    else:
        blob = path.read_bytes().decode("utf-8", "ignore")
    for person in raw:
        for key in ("name", "id_card_no", "phone"):
            if person[key]:
                assert person[key] not in blob, f"raw {key} in {suffix}"


def test_excel_has_zh_headers_and_says_who_exported_when(
    warehouse: Path, raw: list[dict], tmp_path: Path
) -> None:
    table = customer_list(warehouse, pa.array([r["customer_id"] for r in raw[:3]]))
    path = write_list(
        table,
        tmp_path / "l.xlsx",
        title="沉睡客户唤醒",
        headers_zh=zh_headers(table.column_names),
        exported_by="outlet_manager_07",
        notes={"as_of": "2025-09-30"},
    )
    book = load_workbook(path)
    rows = list(book["名单 list"].values)
    assert rows[0][:3] == tuple(CUSTOMERS.column(c).zh for c in ("customer_id", "name", "phone"))
    assert rows[0][0] == "客户号"
    assert rows[1][0] == "customer_id"
    assert len(rows) == 2 + 3
    about = dict(book["说明 about"].values)
    assert about["导出人 exported by"] == "outlet_manager_07"
    assert about["名单 title"] == "沉睡客户唤醒"
    assert about["as_of"] == "2025-09-30"
    assert "导出时间 exported at" in about


def test_unknown_columns_and_formats_are_refused(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(YoushuError, match="unknown customer column"):
        customer_list(warehouse, pa.array(["C000000001"]), columns=["customer_id", "salary"])
    with pytest.raises(YoushuError, match=r"\.parquet or \.xlsx"):
        write_list(pa.table({"a": [1]}), tmp_path / "l.csv", title="x")
    assert not (tmp_path / "l.csv").exists()
