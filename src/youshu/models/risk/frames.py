"""Model input frames: risky-account features, graph features and the account's outlet and county, per as-of date.

Two sources give the same columns: the canonical warehouse (:func:`account_frame`) and a plain transfer edge
list (:func:`edge_list_frame`, no outlet or county). Only accounts with a posting in the 30 days up to the
as-of date are kept: an account without any has nothing to alert on (every flow feature is 0).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from youshu.engine.base import Tables
from youshu.features.common import as_of_date
from youshu.features.graph import GRAPH_FEATURES, account_graph_features, transfer_edges
from youshu.features.risk import (
    RISK_FEATURES,
    ledger_from_edges,
    ledger_from_transactions,
    risk_features,
    risk_features_from_ledger,
)

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "CONTEXT_COLUMNS",
    "FEATURE_COLUMNS",
    "GRAPH_COLUMNS",
    "account_frame",
    "edge_list_frame",
    "frame_from_ledger",
]

#: Columns describing the account (not model inputs): who holds it and where.
CONTEXT_COLUMNS = ("account_id", "as_of_date", "customer_id", "outlet_id", "county_id")
#: Flow and behaviour features (``youshu.features.risk``).
FEATURE_COLUMNS = tuple(s.name for s in RISK_FEATURES)
#: Transfer-graph features (``youshu.features.graph``).
GRAPH_COLUMNS = tuple(s.name for s in GRAPH_FEATURES)


def account_frame(engine: Engine, warehouse: Path, as_of: date, *, graph: bool = True) -> pd.DataFrame:
    """The model frame of the canonical warehouse on ``as_of``: context, features and graph features.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark; the graph is analysed in this process (scipy) on the edges the engine returns.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date.
    graph : bool
        Also compute the graph features (else those columns are absent).

    Returns
    -------
    pandas.DataFrame
        ``CONTEXT_COLUMNS``, ``FEATURE_COLUMNS`` and (with ``graph``) ``GRAPH_COLUMNS``, one row per account
        active in the last 30 days, sorted by ``account_id``.
    """
    as_of = as_of_date(as_of)
    t = Tables(engine, Path(warehouse))
    features = _active(risk_features(engine, Path(warehouse), as_of))
    a = t.accounts.select("account_id", "customer_id", "outlet_id")
    c = t.customers.select("customer_id", "county_id")
    context = a.join(c, "customer_id", how="left").select(
        "account_id", "customer_id", "outlet_id", "county_id"
    )
    joined = features.left_join(context, "account_id")
    table = engine.to_pyarrow(joined.select(*CONTEXT_COLUMNS, *FEATURE_COLUMNS))
    ledger = ledger_from_transactions(t) if graph else None
    return _assemble(engine, table, ledger, as_of)


def frame_from_ledger(engine: Engine, ledger: ir.Table, as_of: date, *, graph: bool = True) -> pd.DataFrame:
    """The model frame of any ledger (see ``youshu.features.risk``); outlet, county and customer are null."""
    as_of = as_of_date(as_of)
    features = _active(risk_features_from_ledger(ledger, as_of))
    table = engine.to_pyarrow(features.select("account_id", "as_of_date", *FEATURE_COLUMNS))
    nulls = pa.nulls(table.num_rows, pa.string())
    for i, name in enumerate(("customer_id", "outlet_id", "county_id")):
        table = table.add_column(2 + i, name, nulls)
    return _assemble(engine, table, ledger if graph else None, as_of)


def edge_list_frame(engine: Engine, edges: ir.Table, as_of: date, *, graph: bool = True) -> pd.DataFrame:
    """The model frame of an edge list read with ``youshu.features.risk.read_edge_list``."""
    return frame_from_ledger(engine, ledger_from_edges(edges), as_of, graph=graph)


def _active(features: ir.Table) -> ir.Table:
    return features.filter((features.in_count_30d + features.out_count_30d) > 0)


def _assemble(engine: Engine, table: pa.Table, ledger: ir.Table | None, as_of: date) -> pd.DataFrame:
    if ledger is not None:
        edges = engine.to_pyarrow(transfer_edges(ledger, as_of))
        graph = account_graph_features(edges, table["account_id"])
        for name in GRAPH_COLUMNS:
            table = table.append_column(name, graph[name])
    frame = table.to_pandas()
    return frame.sort_values("account_id", kind="stable").reset_index(drop=True)
