"""Customer lists for branch staff: masked personal data, zh headers, Parquet or Excel, written atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from youshu.atomic import atomic_file
from youshu.errors import YoushuError
from youshu.privacy import mask_value
from youshu.schema.storage import parquet_files, table_dir
from youshu.schema.tables import CUSTOMERS

LIST_COLUMNS = (
    "customer_id",
    "name",
    "phone",
    "id_card_no",
    "gender",
    "occupation",
    "county_id",
    "home_outlet_id",
)
EXCEL_MAX_ROWS = 1_048_575  # one sheet, below the header


def customer_list(warehouse: Path, customer_ids: pa.Array, columns: Sequence[str] = LIST_COLUMNS) -> pa.Table:
    """The customers with the given ids (in that order), personal data masked (姓名, 证件号, 手机号).

    Raises
    ------
    YoushuError
        When a column is not in the customers table or the warehouse has no customers table.
    """
    unknown = [c for c in columns if c not in CUSTOMERS.column_names]
    if unknown:
        raise YoushuError(
            f"unknown customer column(s) {', '.join(unknown)}; choose from {', '.join(CUSTOMERS.column_names)}"
        )
    files = parquet_files(table_dir(Path(warehouse), "customers"))
    if not files:
        raise YoushuError(f"{warehouse} has no customers table; generate or import one first")
    con = duckdb.connect()
    con.register(
        "wanted", pa.table({"customer_id": customer_ids, "_order": pa.array(range(len(customer_ids)))})
    )
    select = ", ".join(f"c.{c}" for c in columns)
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    table = con.execute(
        f"select {select} from wanted w join read_parquet({file_list}) c using (customer_id) order by w._order"
    ).to_arrow_table()
    for name in columns:
        kind = CUSTOMERS.column(name).pii
        if kind is not None:
            masked = [mask_value(v, kind) for v in table[name].to_pylist()]
            table = table.set_column(table.schema.get_field_index(name), name, pa.array(masked, pa.string()))
    return table


def zh_headers(columns: Sequence[str]) -> dict[str, str]:
    """Chinese header for each customer column, from the schema (falls back to the column name)."""
    return {c: CUSTOMERS.column(c).zh if c in CUSTOMERS.column_names else c for c in columns}


def write_list(
    table: pa.Table,
    path: Path,
    *,
    title: str,
    headers_zh: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    exported_by: str = "youshu",
) -> Path:
    """Write a list as ``.parquet`` or ``.xlsx`` (chosen by suffix), atomically.

    Excel gets zh headers (with the column name beneath), a 说明 sheet with the title, export time, exporter and
    ``notes``; Parquet keeps column names and stores the same facts in its metadata.
    """
    path = Path(path)
    stamp = datetime.now().isoformat(timespec="seconds")
    facts = {
        "title": title,
        "exported_at": stamp,
        "exported_by": exported_by,
        "rows": str(table.num_rows),
        **(notes or {}),
    }
    if path.suffix == ".parquet":
        with atomic_file(path) as tmp:
            meta = {
                **(table.schema.metadata or {}),
                **{f"youshu.{k}".encode(): v.encode() for k, v in facts.items()},
            }
            pq.write_table(table.replace_schema_metadata(meta), tmp)
        return path
    if path.suffix != ".xlsx":
        raise YoushuError(f"{path}: lists are written as .parquet or .xlsx")
    if table.num_rows > EXCEL_MAX_ROWS:
        raise YoushuError(
            f"{table.num_rows:,} rows do not fit one Excel sheet ({EXCEL_MAX_ROWS:,}); export .parquet"
        )
    headers = headers_zh or {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名单 list")
    sheet.append([headers.get(c, c) for c in table.column_names])
    sheet.append(list(table.column_names))
    for row in table.to_pylist():
        sheet.append([row[c] for c in table.column_names])
    about = book.create_sheet("说明 about")
    labels = {
        "title": "名单 title",
        "exported_at": "导出时间 exported at",
        "exported_by": "导出人 exported by",
        "rows": "行数 rows",
    }
    for key, value in facts.items():
        about.append([labels.get(key, key), value])
    about.append(["个人信息 personal data", "已脱敏 masked (JR/T 0171)"])
    with atomic_file(path) as tmp:
        book.save(tmp)
    return path
