"""Feature sets per entity (customer, account, merchant, outlet) as Ibis expressions, computed as of a date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from youshu.features.account import account_features
from youshu.features.catalog import (
    ENTITIES,
    FEATURES,
    ID_COLUMNS,
    FeatureSpec,
    feature_names,
    feature_schema,
    get_feature,
)
from youshu.features.customer import customer_features
from youshu.features.merchant import merchant_features
from youshu.features.outlet import outlet_features

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "ENTITIES",
    "FEATURES",
    "ID_COLUMNS",
    "FeatureSpec",
    "account_features",
    "compute_features",
    "customer_features",
    "feature_names",
    "feature_schema",
    "get_feature",
    "merchant_features",
    "outlet_features",
]

_BUILDERS: dict[str, Callable[[Engine, Path, date], ir.Table]] = {
    "customer": customer_features,
    "account": account_features,
    "merchant": merchant_features,
    "outlet": outlet_features,
}


def compute_features(engine: Engine, warehouse: Path, entity: str, as_of: date) -> ir.Table:
    """The feature table of ``entity`` as of ``as_of`` (dispatches to ``<entity>_features``).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark (``youshu.engine.connect``).
    warehouse : Path
        The canonical warehouse.
    entity : {"customer", "account", "merchant", "outlet"}
        Which feature set.
    as_of : date
        The as-of date: only data up to the end of that day is used.

    Returns
    -------
    ibis.Table
        ``<entity>_id``, ``as_of_date`` and the entity's features in catalog order (``FEATURES[entity]``),
        one row per entity.

    Raises
    ------
    KeyError
        For an unknown entity.
    YoushuError
        When ``as_of`` is not a date.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     table = compute_features(eng, Path("data/warehouse"), "merchant", date(2025, 9, 30))
    ...     eng.write_parquet(table, Path("runs/2025-09-30/features/merchant"))
    """
    try:
        build = _BUILDERS[entity]
    except KeyError:
        raise KeyError(f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}") from None
    return build(engine, Path(warehouse), as_of)
