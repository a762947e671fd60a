"""Execution engines: the same Ibis expressions on DuckDB (embedded default) or Spark (scale-out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

from youshu.config import Settings
from youshu.engine.base import CAPABILITIES, UNSUPPORTED, Engine, Tables, canonical_schema, safe_divide
from youshu.engine.duckdb import DuckDBEngine
from youshu.engine.spark import SparkEngine, stop_spark
from youshu.errors import EngineError

ENGINES: dict[str, type[Engine]] = {"duckdb": DuckDBEngine, "spark": SparkEngine}

__all__ = [
    "CAPABILITIES",
    "ENGINES",
    "UNSUPPORTED",
    "DuckDBEngine",
    "Engine",
    "SparkEngine",
    "Tables",
    "canonical_schema",
    "connect",
    "connect_from_settings",
    "safe_divide",
    "stop_spark",
]


@overload
def connect(
    name: Literal["duckdb"] = ...,
    *,
    database: Path | str | None = ...,
    memory_limit: str | None = ...,
    threads: int | None = ...,
) -> DuckDBEngine: ...


@overload
def connect(
    name: Literal["spark"], *, master: str = ..., conf: dict[str, str] | None = ...
) -> SparkEngine: ...


@overload
def connect(name: str, **options: Any) -> Engine: ...


def connect(name: str = "duckdb", **options: Any) -> Engine:
    """Connect to an engine by name.

    Parameters
    ----------
    name : {"duckdb", "spark"}
        The engine.
    **options
        DuckDB: ``database`` (file; in memory when omitted), ``memory_limit`` (e.g. ``"4GB"``),
        ``threads``. Spark: ``master`` (default ``"local[*]"``), ``conf`` (``spark.*`` settings).

    Returns
    -------
    Engine
        Use it as a context manager, or call ``close``.

    Raises
    ------
    EngineError
        For an unknown engine, or when it cannot start (e.g. Spark without Java).

    Examples
    --------
    >>> with connect("duckdb", memory_limit="2GB") as eng:  # doctest: +SKIP
    ...     eng.execute(eng.table(warehouse, "customers").count())
    """
    try:
        cls = ENGINES[name]
    except KeyError:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}") from None
    return cls(**options)


def connect_from_settings(settings: Settings) -> Engine:
    """Connect to the engine a project's settings name (``engine``, ``duckdb_*``, ``spark``)."""
    if settings.engine == "spark":
        return connect("spark", master=settings.spark.master, conf=dict(settings.spark.conf))
    return connect(
        "duckdb",
        database=settings.resolve(settings.duckdb_path),
        memory_limit=settings.duckdb_memory_limit,
    )
