"""What every engine offers: canonical tables in, pandas/Arrow/Parquet out (capability matrix: docs/engines.md)."""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal, Self

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from youshu.atomic import atomic_dir
from youshu.errors import EngineError
from youshu.schema.spec import TableSpec
from youshu.schema.storage import parquet_files, part_path, table_dir
from youshu.schema.tables import get_table

log = logging.getLogger(__name__)

EngineName = Literal["duckdb", "spark"]

#: Operations an engine cannot run, by engine name. Compilers of definitions check these up front
#: (``Engine.supports``) so a tag fails when it is compiled, not halfway through a Spark job.
UNSUPPORTED: dict[str, frozenset[str]] = {
    "duckdb": frozenset({"pandas_udf"}),
    "spark": frozenset({"mode", "asof_join", "seeded_sample", "window_filter"}),
}

#: Every operation named in ``UNSUPPORTED`` (anything else is assumed to run on both engines).
CAPABILITIES: frozenset[str] = frozenset().union(*UNSUPPORTED.values())


def canonical_schema(spec: TableSpec) -> ibis.Schema:
    """The Ibis schema of a canonical table as an engine reports it (types from the spec, all nullable).

    Nullability is not part of it: engines report every column read from Parquet as nullable, and
    required-ness is checked by validation, not by the engine.
    """
    return ibis.Schema(
        {
            name: dtype.copy(nullable=True)
            for name, dtype in ibis.Schema.from_pyarrow(spec.arrow_schema).items()
        }
    )


def safe_divide(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator`` that is null where the denominator is 0, identically on every engine.

    DuckDB returns inf/NaN/null for a zero divisor while Spark 4 (ANSI mode) raises, so every division in
    feature and tag code goes through this or spells out ``.nullif(0)`` itself.

    Examples
    --------
    >>> share = safe_divide(t.out_fen, t.in_fen)  # doctest: +SKIP
    """
    return numerator / denominator.nullif(0)


def _same_type(actual: dt.DataType, wanted: dt.DataType) -> bool:
    return actual.copy(nullable=True) == wanted.copy(nullable=True)


class Engine(abc.ABC):
    """A connection to one execution engine, reading the canonical warehouse and writing results.

    Obtain one with ``youshu.engine.connect``; use it as a context manager or call ``close``.
    Expressions are plain Ibis: build them from ``table``/``tables`` and hand them back to
    ``execute``, ``to_pyarrow`` or ``write_parquet`` of the same engine.

    Attributes
    ----------
    name : {"duckdb", "spark"}
        Which engine this is.
    con : ibis.backends.BaseBackend
        The Ibis backend (for anything not wrapped here).
    """

    name: ClassVar[EngineName]

    def __init__(self, con: BaseBackend) -> None:
        self.con = con
        self._closed = False

    # -- reading ---------------------------------------------------------------------------------------
    def table(self, warehouse: Path, name: str) -> ir.Table:
        """Canonical table ``name`` of ``warehouse``, with the column order and types of its spec.

        Reads every ``WAREHOUSE/<name>/*.parquet`` part lazily; columns not in the spec are dropped and
        columns stored with another type are cast. An absent or empty folder gives an empty table with
        the canonical schema.

        Parameters
        ----------
        warehouse : Path
            Root folder of the canonical warehouse.
        name : str
            Canonical table name, e.g. ``"transactions"``.

        Returns
        -------
        ibis.Table

        Raises
        ------
        TruthAccessError
            When ``name`` points into the planted-truth folder.
        KeyError
            When ``name`` is not a canonical table.
        EngineError
            When the stored parts lack canonical columns.

        Examples
        --------
        >>> with connect("duckdb") as eng:  # doctest: +SKIP
        ...     txns = eng.table(Path("data/warehouse"), "transactions")
        ...     eng.execute(txns.amount_fen.sum())
        """
        folder = table_dir(Path(warehouse), name)  # refuses truth before anything else
        spec = get_table(name)
        schema = canonical_schema(spec)
        files = parquet_files(folder)
        if not files:
            return self._empty_table(pa.schema([f.with_nullable(True) for f in spec.arrow_schema]))
        raw = self._read_parquet(files)
        missing = [c for c in spec.column_names if c not in raw.columns]
        if missing:
            raise EngineError(
                f"table {name!r} in {folder} lacks canonical columns {missing}; "
                "re-import it (youshu import) or regenerate the warehouse"
            )
        columns = [
            raw[c] if _same_type(raw[c].type(), wanted) else raw[c].cast(wanted).name(c)
            for c, wanted in schema.items()
        ]
        return raw.select(columns)

    def tables(self, warehouse: Path, names: Iterable[str]) -> dict[str, ir.Table]:
        """Several canonical tables at once, keyed by name (see ``table``)."""
        return {name: self.table(warehouse, name) for name in names}

    # -- results ---------------------------------------------------------------------------------------
    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run ``expr`` and return a pandas DataFrame (a scalar or column becomes a one-column frame)."""
        self._check_open()
        result = self.con.execute(_as_table(expr))
        assert isinstance(result, pd.DataFrame)
        return result

    def to_pyarrow(self, expr: ir.Expr) -> pa.Table:
        """Run ``expr`` and return an Arrow table (a scalar or column becomes a one-column table)."""
        self._check_open()
        return self.con.to_pyarrow(_as_table(expr))

    def write_parquet(self, expr: ir.Expr, dest: Path) -> Path:
        """Write the result of ``expr`` as a folder of Parquet parts, atomically.

        The parts are named ``part-NNNNN.parquet`` (the warehouse layout), timestamps are stored without
        a zone. ``dest`` appears only once the whole result is written; if the expression fails, ``dest``
        keeps its previous content (or stays absent).

        Parameters
        ----------
        expr : ibis.Expr
            A table expression of this engine (a column or scalar is written as a one-column table).
        dest : Path
            The folder to create or replace.

        Returns
        -------
        Path
            ``dest``.
        """
        self._check_open()
        dest = Path(dest)
        table = _as_table(expr)
        with atomic_dir(dest) as tmp:
            self._write_parts(table, tmp)
        return dest

    # -- lifecycle -------------------------------------------------------------------------------------
    def supports(self, operation: str) -> bool:
        """Whether this engine can run ``operation`` (one of ``CAPABILITIES``; other names are supported)."""
        return operation not in UNSUPPORTED[self.name]

    def close(self) -> None:
        """Release the connection; the engine cannot be used afterwards. Calling it twice is harmless."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.name} ({state})>"

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError(f"the {self.name} engine was closed; connect again with youshu.engine.connect")

    # -- what each engine implements -------------------------------------------------------------------
    @abc.abstractmethod
    def _read_parquet(self, files: list[Path]) -> ir.Table:
        """Register ``files`` (parts of one table) with ``con.read_parquet`` and return the raw table."""

    @abc.abstractmethod
    def _empty_table(self, schema: pa.Schema) -> ir.Table:
        """An empty table with ``schema`` (timestamps zone-less)."""

    @abc.abstractmethod
    def _write_parts(self, expr: ir.Table, folder: Path) -> None:
        """Write ``expr`` into the existing, empty ``folder`` as ``part-NNNNN.parquet`` files."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release engine resources."""


def _as_table(expr: ir.Expr) -> ir.Table:
    if isinstance(expr, ir.Table):
        return expr
    if isinstance(expr, ir.Value):
        return expr.as_table()
    raise TypeError(f"expected an Ibis table, column or scalar expression, got {type(expr).__name__}")


def rename_parts(files: list[Path], folder: Path) -> list[Path]:
    """Move ``files`` (in the given order) into ``folder`` as ``part-00000.parquet``, ``part-00001...``."""
    moved = []
    for index, source in enumerate(files):
        target = part_path(folder, index)
        source.rename(target)
        moved.append(target)
    return moved


class Tables:
    """Lazy, cached access to the canonical tables of one warehouse through one engine (``t.customers``)."""

    def __init__(self, engine: Engine, warehouse: Path) -> None:
        self._engine = engine
        self._warehouse = Path(warehouse)
        self._cache: dict[str, ir.Table] = {}

    def __getattr__(self, name: str) -> ir.Table:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self._engine.table(self._warehouse, name)
        return self._cache[name]
