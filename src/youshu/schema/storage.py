"""Warehouse layout on disk: ``WAREHOUSE/<table>/part-NNNNN.parquet``; planted truth under ``WAREHOUSE/truth/``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from youshu.errors import TruthAccessError
from youshu.schema.spec import TableSpec

TRUTH_DIR = "truth"
PARQUET_COMPRESSION = "zstd"


def table_dir(warehouse: Path, name: str) -> Path:
    """Folder holding the Parquet parts of table ``name``; refuses the truth folder."""
    if name == TRUTH_DIR or name.startswith(f"{TRUTH_DIR}/"):
        raise TruthAccessError(
            "planted truth is for evaluation only; pipeline and model code must not read "
            f"{Path(warehouse) / TRUTH_DIR}"
        )
    return Path(warehouse) / name


def part_path(folder: Path, index: int) -> Path:
    """Path of part number ``index`` inside a table folder."""
    return Path(folder) / f"part-{index:05d}.parquet"


def write_part(folder: Path, index: int, table: pa.Table, spec: TableSpec | None = None) -> Path:
    """Write one Parquet part, cast to the canonical Arrow schema when ``spec`` is given."""
    folder.mkdir(parents=True, exist_ok=True)
    if spec is not None:
        table = table.select(spec.column_names).cast(spec.arrow_schema)
    path = part_path(folder, index)
    pq.write_table(table, path, compression=PARQUET_COMPRESSION)
    return path


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet parts of a table folder in order (empty when the folder is absent)."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix == ".parquet":
        return [folder]
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def read_table(warehouse: Path, spec: TableSpec, columns: list[str] | None = None) -> pa.Table:
    """Read a whole canonical table into Arrow (small tables and tests; big ones go through the engine)."""
    files = parquet_files(table_dir(warehouse, spec.name))
    if not files:
        return spec.arrow_schema.empty_table().select(columns or spec.column_names)
    return pq.ParquetDataset(files).read(columns=columns)
