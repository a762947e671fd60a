"""Why an entity has the tags it has: its feature row, every tag value and the inputs each expression reads.

>>> with connect("duckdb") as eng:  # doctest: +SKIP
...     why = explain(eng, Path("data/warehouse"), tagset, "customer", "C000000042", date(2025, 9, 30))
>>> print(why.to_text())  # doctest: +SKIP
客户 customer C000000042 · 截至 as of 2025-09-30 · 97 个标签 tags
【资产 ASSETS】
  高资产客户 high_aum = false
      因为 because: aum_fen=¥12,345.67

Only feature columns and tag values are shown, never personal data (names, ID-card or phone numbers): the
feature tables carry none, and a feature column named like a personal-data column would be masked.
"""

from __future__ import annotations

import datetime as dtm
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from youshu.engine.base import Engine
from youshu.errors import YoushuError
from youshu.features import FEATURES, compute_features
from youshu.privacy import mask_value
from youshu.schema.spec import Pii
from youshu.schema.tables import TABLES
from youshu.tags.compiler import TagSet
from youshu.tags.definitions import ENTITIES, TagCategory, TagKind

__all__ = ["Explanation", "TagInput", "TagValue", "explain", "format_value"]

#: Canonical table of each taggable entity (to tell an unknown id from one that joined after the as-of date).
ENTITY_TABLES = {"customer": "customers", "merchant": "merchants"}
ENTITY_ZH = {"customer": "客户", "merchant": "商户"}

#: Columns of the canonical tables that hold personal data, by name; a feature so named is masked.
PII_COLUMNS: dict[str, Pii] = {c.name: c.pii for spec in TABLES for c in spec.columns if c.pii is not None}


@dataclass(frozen=True)
class TagInput:
    """One value a tag's expression reads.

    Attributes
    ----------
    name : str
        The feature column or tag id, as written in the expression.
    source : {"feature", "tag"}
    value : object
        Its value for the entity (None for null).
    display_name_zh : str
        The feature's zh name from the feature catalog, or the tag's display name ("" when unknown).
    unit : str
        The feature's unit in the catalog (``"fen"`` for money; "" for tags).
    """

    name: str
    source: str
    value: Any
    display_name_zh: str = ""
    unit: str = ""

    def __str__(self) -> str:
        return f"{self.name}={format_value(self.value, self.unit)}"


@dataclass(frozen=True)
class TagValue:
    """One tag's value for the entity and the inputs its expression reads, in order of first use."""

    tag_id: str
    display_name_zh: str
    category: TagCategory
    kind: TagKind
    value: Any
    inputs: tuple[TagInput, ...]

    def __str__(self) -> str:
        return f"{self.display_name_zh} {self.tag_id} = {format_value(self.value)}"


@dataclass(frozen=True)
class Explanation:
    """The tags of one entity as of a date, each with the feature and tag values it was computed from.

    Attributes
    ----------
    entity : {"customer", "merchant"}
    entity_id : str
    as_of : datetime.date
    tags : tuple of TagValue
        Every tag of the entity, in dependency order.
    features : mapping of str to object
        The entity's whole feature row (no personal data).
    """

    entity: str
    entity_id: str
    as_of: dtm.date
    tags: tuple[TagValue, ...]
    features: Mapping[str, Any]

    def __getitem__(self, tag_id: str) -> TagValue:
        for t in self.tags:
            if t.tag_id == tag_id:
                return t
        raise KeyError(f"no tag {tag_id!r} in this explanation")

    def __iter__(self) -> Iterator[TagValue]:
        return iter(self.tags)

    def __len__(self) -> int:
        return len(self.tags)

    def values(self) -> dict[str, Any]:
        """Tag id -> value."""
        return {t.tag_id: t.value for t in self.tags}

    def to_text(self) -> str:
        """Plain text grouped by tag category: zh name, id, value and ``because`` with the inputs' values.

        Money features (unit ``fen``) are shown in yuan, e.g. ``aum_fen=¥12,345.67``.
        """
        lines = [
            f"{ENTITY_ZH.get(self.entity, '')} {self.entity} {self.entity_id} · 截至 as of "
            f"{self.as_of.isoformat()} · {len(self.tags)} 个标签 tags"
        ]
        for category in TagCategory:
            group = [t for t in self.tags if t.category == category]
            if not group:
                continue
            lines.append(f"【{category.value} {category.name}】")
            for t in group:
                lines.append(f"  {t}")
                because = ", ".join(str(i) for i in t.inputs) or "(no inputs: a constant)"
                lines.append(f"      因为 because: {because}")
        return "\n".join(lines)


def format_value(value: Any, unit: str = "") -> str:
    """A value as shown in explanations: ``null``, ``true``/``false``, ``¥`` yuan for fen, whole metres,
    other numbers with up to 4 decimals.

    Examples
    --------
    >>> format_value(1234567, "fen")
    '¥12,345.67'
    >>> format_value(0.123456), format_value(None), format_value(True), format_value(12000)
    ('0.1235', 'null', 'true', '12,000')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and unit == "fen":
        return f"{'-' if value < 0 else ''}¥{abs(value) / 100:,.2f}"
    if isinstance(value, int | float) and unit == "m":
        return f"{value:,.0f} m"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        text = f"{value:,.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, dtm.date):
        return value.isoformat()
    return str(value)


def explain(
    engine: Engine,
    warehouse: Path,
    tagset: TagSet,
    entity: str,
    entity_id: str,
    as_of: dtm.date | str,
) -> Explanation:
    """Compute one entity's features and tags as of a date, and what each tag's expression reads.

    The feature table of ``youshu.features.compute_features`` is filtered to the one id before the tags are
    compiled over it, so the engine computes (and the filter pushes down to) that entity only; the values
    are the ones ``youshu.tags.apply`` writes for it.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse.
    tagset : TagSet
        From ``load_definitions`` (with the catalog's feature schemas).
    entity : {"customer", "merchant"}
    entity_id : str
        The ``customer_id`` or ``merchant_id``.
    as_of : datetime.date or str
        The as-of date (``YYYY-MM-DD``).

    Returns
    -------
    Explanation

    Raises
    ------
    YoushuError
        For an unknown entity, an entity without tags, or an id with no feature row as of the date (the
        message names the id and the entity, and says whether it joined after the as-of date).

    Examples
    --------
    >>> why = explain(eng, warehouse, tagset, "merchant", "M00000007", "2025-09-30")  # doctest: +SKIP
    >>> why["vip_merchant"].inputs  # doctest: +SKIP
    """
    if entity not in ENTITIES:
        raise YoushuError(f"unknown entity {entity!r}; tags exist for: {', '.join(ENTITIES)}")
    day = as_of if isinstance(as_of, dtm.date) else _parse_date(as_of)
    selected = tagset.for_entity(entity)
    if not selected:
        raise YoushuError(
            f"the tag set has no {entity} tags; load definitions under definitions/tags/{entity}/"
        )
    key = f"{entity}_id"
    features = compute_features(engine, Path(warehouse), entity, day)
    one = features.filter(features[key] == entity_id)
    rows = engine.to_pyarrow(tagset.compile(one, entity)).to_pylist()
    if not rows:
        raise YoushuError(_unknown_id(engine, Path(warehouse), entity, entity_id, day))
    if len(rows) > 1:
        raise YoushuError(f"{len(rows)} {entity} feature rows for {key} {entity_id!r}; expected one")
    row = rows[0]
    tag_ids = {d.id for d in selected}
    feature_row = {
        name: mask_value(value, PII_COLUMNS.get(name))
        for name, value in row.items()
        if name not in tag_ids and name != key
    }
    specs = {s.name: s for s in FEATURES.get(entity, ())}
    tags = []
    for d in selected:
        inputs = []
        for name in tagset.parsed(d.id).names:
            if name in tag_ids:
                inputs.append(TagInput(name, "tag", row[name], tagset[name].display_name_zh))
            else:
                spec = specs.get(name)
                inputs.append(
                    TagInput(
                        name,
                        "feature",
                        feature_row[name],
                        spec.zh if spec else "",
                        spec.unit if spec else "",
                    )
                )
        tags.append(TagValue(d.id, d.display_name_zh, d.category, d.kind, row[d.id], tuple(inputs)))
    return Explanation(entity, entity_id, day, tuple(tags), feature_row)


def _parse_date(text: str) -> dtm.date:
    try:
        return dtm.date.fromisoformat(text)
    except ValueError:
        raise YoushuError(f"as_of {text!r} is not a date; write YYYY-MM-DD") from None


def _unknown_id(engine: Engine, warehouse: Path, entity: str, entity_id: str, day: dtm.date) -> str:
    key = f"{entity}_id"
    base = f"no {entity} with {key} {entity_id!r} as of {day.isoformat()} in {warehouse}"
    table = engine.table(warehouse, ENTITY_TABLES[entity])  # an absent table reads as empty
    known = int(engine.execute(table.filter(table[key] == entity_id).count()).iloc[0, 0])
    if known:
        return f"{base}: it joined after that date; use a later --as-of"
    return f"{base}: the id is unknown; check it (ids are case-sensitive strings)"
