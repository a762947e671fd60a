"""The embedded default engine: DuckDB in this process, on a database file or in memory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
from ibis.backends.sql.datatypes import DuckDBType

from youshu.engine.base import Engine
from youshu.errors import EngineError
from youshu.schema.storage import PARQUET_COMPRESSION, part_path


class DuckDBEngine(Engine):
    """DuckDB through Ibis.

    Parameters
    ----------
    database : Path, optional
        Database file (its folder is created); in memory when omitted. Only views over the Parquet
        warehouse are created in it, so in memory loses nothing but a file may hold user tables.
    memory_limit : str, optional
        DuckDB ``memory_limit``, e.g. ``"4GB"``; DuckDB spills to disk beyond it.
    threads : int, optional
        DuckDB ``threads``; all cores when omitted.

    Raises
    ------
    EngineError
        When the database cannot be opened (e.g. another process holds it) or a setting is invalid.
    """

    name = "duckdb"

    def __init__(
        self,
        *,
        database: Path | str | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        config: dict[str, str | int] = {}
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        if threads is not None:
            config["threads"] = threads
        self.database: Path | None = None
        target: str | Path = ":memory:"
        if database is not None:
            self.database = target = Path(database).absolute()
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = ibis.duckdb.connect(target, **config)
        except duckdb.Error as exc:
            raise EngineError(
                f"could not open DuckDB database {target} ({exc}); if another youshu process has it open, "
                "stop it or point duckdb_path in youshu.yaml elsewhere"
            ) from exc
        # DuckDB draws its own progress bar on stdout for long queries; library code must stay quiet
        # (the CLI draws rich progress instead).
        con.raw_sql("SET enable_progress_bar = false")
        super().__init__(con)

    def _read_parquet(self, files: list[Path]) -> ir.Table:
        return self.con.read_parquet([str(f) for f in files])

    def _empty_table(self, schema: pa.Schema) -> ir.Table:
        return ibis.memtable(schema.empty_table())

    def _write_parts(self, expr: ir.Table, folder: Path) -> None:
        # DuckDB's own result types can be wider than the ones Ibis promises (SUM of BIGINT is HUGEINT,
        # which Parquet stores as DOUBLE), so cast every column as execute/to_pyarrow do; zone-aware
        # timestamps are stored zone-less, like the warehouse (and like the Spark engine).
        columns = []
        for name, dtype in expr.schema().items():
            target = dt.Timestamp(scale=dtype.scale) if dtype.is_timestamp() and dtype.timezone else dtype
            column = sg.cast(sg.column(name, quoted=True), DuckDBType.from_ibis(target))
            columns.append(column.as_(name, quoted=True).sql("duckdb"))
        self.con._run_pre_execute_hooks(expr)  # registers the in-memory tables and UDFs expr uses
        query = f"SELECT {', '.join(columns)} FROM ({self.con.compile(expr)}) AS youshu_out"
        # One file: DuckDB writes its row groups in parallel, and readers split a file by row group.
        target_file = str(part_path(folder, 0)).replace("'", "''")
        self.con.raw_sql(
            f"COPY ({query}) TO '{target_file}' (FORMAT parquet, COMPRESSION {PARQUET_COMPRESSION})"
        )

    def _close(self) -> None:
        self.con.disconnect()
