"""Named prediction targets: which observed events make a positive label (e.g. a wealth-product purchase).

A target says where its events live in the canonical warehouse and which of them count; labels for a time
split come from those events in (T, T+H] (:func:`youshu.models.timesplit.label_vector`), never from truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from youshu.errors import YoushuError
from youshu.features import ID_COLUMNS, compute_features
from youshu.models.timesplit import TimeSplit, label_vector

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["TARGETS", "EventTarget", "get_target", "labelled_features", "target_labels"]


@dataclass(frozen=True)
class EventTarget:
    """Events of a canonical table that make a positive label.

    Attributes
    ----------
    name : str
        Identifier, e.g. ``"wealth_purchase"``.
    zh : str
        Display name, e.g. ``"购买本行理财产品"``.
    table : str
        Canonical table holding the events.
    at : str
        The event's date or timestamp column.
    key : str
        The entity id column (``customer_id``).
    product_category : str, optional
        For purchases: only products of this ``products.category``.
    """

    name: str
    zh: str
    table: str
    at: str
    key: str = "customer_id"
    product_category: str | None = None

    def events(self, engine: Engine, warehouse: Path) -> ir.Table:
        """The target's events as an Ibis table (``key`` and ``at`` at least), unfiltered in time."""
        events = engine.table(warehouse, self.table)
        if self.product_category is None:
            return events
        products = engine.table(warehouse, "products").select("product_id", "category")
        joined = events.join(products, "product_id")
        return joined.filter(joined.category == self.product_category)


#: The targets the issue names, by name.
TARGETS: dict[str, EventTarget] = {
    t.name: t
    for t in (
        EventTarget(
            "wealth_purchase", "购买本行理财产品", "purchases", "purchase_date", product_category="wealth"
        ),
        EventTarget(
            "insurance_purchase", "购买保险", "purchases", "purchase_date", product_category="insurance"
        ),
        EventTarget("fund_purchase", "购买基金", "purchases", "purchase_date", product_category="fund"),
        EventTarget("any_purchase", "购买任意产品", "purchases", "purchase_date"),
    )
}


def get_target(name: str) -> EventTarget:
    """The named target; the error lists the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise YoushuError(f"unknown target {name!r}; choose one of: {', '.join(TARGETS)}") from None


def target_labels(
    engine: Engine,
    warehouse: Path,
    target: EventTarget | str,
    ids: pa.Array | pa.ChunkedArray | np.ndarray,
    split: TimeSplit,
) -> np.ndarray:
    """0/1 per id: whether the target's event happened in the split's label window (T, T+H]."""
    target = get_target(target) if isinstance(target, str) else target
    events = target.events(engine, Path(warehouse))
    # The product filter is applied inside events(); whether the data reach T+H is checked on all rows of
    # the event table, not only matching ones (a rare product may simply not sell near the end).
    return label_vector(engine, events, ids, split, key=target.key, at=target.at)


def labelled_features(
    engine: Engine,
    warehouse: Path,
    target: EventTarget | str,
    split: TimeSplit,
    *,
    entity: str = "customer",
) -> tuple[pa.Table, np.ndarray]:
    """The entity's feature table as of T and its labels from (T, T+H], row for row.

    Returns
    -------
    (pyarrow.Table, numpy.ndarray)
        Features (with the id and ``as_of_date`` columns) and 0/1 labels.
    """
    features = engine.to_pyarrow(compute_features(engine, Path(warehouse), entity, split.as_of))
    features = features.sort_by(ID_COLUMNS[entity])
    labels = target_labels(engine, warehouse, target, features.column(ID_COLUMNS[entity]), split)
    return features, labels
