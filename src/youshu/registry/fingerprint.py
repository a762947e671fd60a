"""What a model was built from: a hash of the definitions folders and a cheap fingerprint of the warehouse.

Neither reads data rows: the definitions hash reads the YAML files' bytes, the data fingerprint reads each
table's Parquet file names, sizes and footer row counts (``pyarrow.parquet.ParquetFile.metadata``), so a
16-million-customer warehouse is fingerprinted in milliseconds. Planted truth (``truth/``) is never listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from youshu.errors import YoushuError
from youshu.schema.storage import TRUTH_DIR

__all__ = ["DEFINITION_SUFFIXES", "data_fingerprint", "definitions_hash"]

DEFINITION_SUFFIXES = (".yml", ".yaml")


def definitions_hash(folders: Iterable[Path]) -> str:
    """sha256 over every YAML file of the folders (path relative to its folder, then its bytes), sorted.

    Parameters
    ----------
    folders : iterable of Path
        Definition folders, e.g. ``definitions/tags``, ``definitions/ivl``, ``definitions/risk`` (missing
        ones are skipped; a YAML file may be given directly).

    Returns
    -------
    str
        ``"sha256:<hex>"``; it changes when any file is edited, added, removed or renamed.
    """
    digest = hashlib.sha256()
    for folder in sorted({Path(f) for f in folders}, key=str):
        if folder.is_file():
            files = [folder]
            base = folder.parent
        elif folder.is_dir():
            files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in DEFINITION_SUFFIXES)
            base = folder
        else:
            continue
        for path in files:
            digest.update(f"{folder.name}/{path.relative_to(base).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def _table_fingerprint(folder: Path) -> dict[str, Any]:
    files = sorted(folder.rglob("*.parquet"))
    digest = hashlib.sha256()
    rows = 0
    for path in files:
        try:
            count = pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as exc:
            raise YoushuError(f"cannot read the Parquet footer of {path}: {exc}") from None
        rows += count
        digest.update(f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\0{count}\n".encode())
    return {"rows": rows, "files": len(files), "hash": f"sha256:{digest.hexdigest()}"}


def data_fingerprint(warehouse: Path, as_of: date, tables: Iterable[str] | None = None) -> dict[str, Any]:
    """Row counts and a hash per warehouse table, from Parquet file names, sizes and footers.

    Parameters
    ----------
    warehouse : Path
        ``WAREHOUSE/<table>/part-*.parquet``.
    as_of : date
        The as-of date the model's features were computed at (recorded, not used to filter).
    tables : iterable of str, optional
        Only these tables (default: every table folder except ``truth/``).

    Returns
    -------
    dict
        ``{"as_of": "YYYY-MM-DD", "tables": {name: {"rows", "files", "hash"}}, "hash": "sha256:..."}``;
        a table gaining, losing or rewriting a part changes its hash and the overall one.

    Raises
    ------
    YoushuError
        When the warehouse or a named table does not exist.
    """
    warehouse = Path(warehouse)
    if not warehouse.is_dir():
        raise YoushuError(f"warehouse {warehouse} does not exist")
    if tables is None:
        names = sorted(p.name for p in warehouse.iterdir() if p.is_dir() and p.name != TRUTH_DIR)
    else:
        names = sorted(set(tables))
        missing = [n for n in names if not (warehouse / n).is_dir()]
        if missing or TRUTH_DIR in names:
            raise YoushuError(
                f"warehouse {warehouse} has no table(s) {missing or [TRUTH_DIR]} to fingerprint"
            )
    per_table = {name: _table_fingerprint(warehouse / name) for name in names}
    overall = hashlib.sha256("".join(f"{n}={t['hash']};" for n, t in per_table.items()).encode())
    return {"as_of": as_of.isoformat(), "tables": per_table, "hash": f"sha256:{overall.hexdigest()}"}
