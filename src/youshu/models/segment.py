"""Segments (客群) of model rows: a boolean expression over tags, true for a customer as of the as-of date.

Route, chosen as the simplest correct one through existing APIs: the segment expression is parsed with the
audience language (``youshu.tags.audience.parse``: ``女性客群 AND NOT 沉睡客户``, also ``&``/``|``/``!`` and
且/或/非); its names (tag ids or zh display names) resolve to boolean tags of the loaded definitions; those tags,
and the tags they use, are compiled with ``TagSet.compile`` over the *feature table as of the same date* that
the model trains on or scores, and the expression becomes one Ibis boolean on the engine. So the tags are
computed from their definitions and the features of that date, never read from folders applied earlier
(which may be of another date or stale definitions), and a feature table from outside the warehouse is
segmented by the same rules. As in ``AudienceIndex``, a null tag counts as false, so ``NOT`` a tag includes
the rows whose tag is null.

>>> segment = Segment.parse("女性客群 AND NOT 沉睡客户", tagset)  # doctest: +SKIP
>>> rows = segment.mask(engine, features)  # doctest: +SKIP
>>> features.filter(pa.array(rows))  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from youshu.errors import YoushuError
from youshu.tags.audience import _Node, parse

if TYPE_CHECKING:
    from youshu.engine import Engine
    from youshu.tags.compiler import TagSet

__all__ = ["Segment", "SegmentError", "load_tagset"]


class SegmentError(YoushuError):
    """A segment expression names an unknown or non-boolean tag, or selects no rows."""


def load_tagset(definitions: Path | Sequence[Path]) -> TagSet:
    """Tag definitions from files or folders, checked against the feature catalogs of every entity."""
    from youshu.features.catalog import feature_schema
    from youshu.tags.definitions import ENTITIES, load_definitions

    paths = [Path(definitions)] if isinstance(definitions, str | Path) else [Path(p) for p in definitions]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SegmentError(
            f"no tag definitions at {', '.join(missing)}; pass the folder of tag definitions "
            "(definitions/tags) or set definitions_dir in youshu.yaml"
        )
    return load_definitions(paths, {e: feature_schema(e) for e in ENTITIES})


@dataclass(frozen=True)
class Segment:
    """A boolean tag expression resolved against tag definitions.

    Build one with :meth:`parse`.

    Attributes
    ----------
    expression : str
        As written, e.g. ``"女性客群 AND NOT 沉睡客户"``.
    tags : tuple of str
        The tag ids it names, in order of first appearance.
    tagset : TagSet
        The definitions the tags are computed from.
    entity : str
        Whose tags (``"customer"``).
    """

    expression: str
    tags: tuple[str, ...]
    tagset: TagSet
    entity: str
    _tree: _Node

    @classmethod
    def parse(cls, expression: str, tagset: TagSet, *, entity: str = "customer") -> Segment:
        """Resolve the names of ``expression`` (tag ids or zh display names) to boolean tags of ``entity``.

        Raises
        ------
        SegmentError
            When the expression does not parse, names a tag that does not exist (with the closest names),
            or names a tag that is not boolean.
        """
        try:
            tree = parse(expression)
        except YoushuError as exc:
            raise SegmentError(f"segment: {exc}") from None
        tags = {d.id: d for d in tagset.for_entity(entity)}
        by_name = {d.display_name_zh: d.id for d in tags.values()}
        ids: list[str] = []

        def resolve(node: _Node) -> _Node:
            if node.op != "tag":
                return _Node(node.op, tuple(resolve(a) for a in node.args))
            tag_id = node.name if node.name in tags else by_name.get(node.name)
            if tag_id is None:
                close = difflib.get_close_matches(node.name, [*tags, *by_name], n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise SegmentError(
                    f"unknown {entity} tag {node.name!r} in segment {expression!r}{hint} "
                    "(write a tag id or its zh name; `youshu tags list` shows them)"
                )
            if tags[tag_id].kind != "boolean":
                raise SegmentError(
                    f"tag {node.name!r} ({tag_id}) is {tags[tag_id].kind}, not boolean; a segment combines "
                    "boolean tags only"
                )
            if tag_id not in ids:
                ids.append(tag_id)
            return _Node("tag", name=tag_id)

        resolved = resolve(tree)  # fills ids
        return cls(expression, tuple(ids), tagset, entity, resolved)

    @property
    def features_used(self) -> tuple[str, ...]:
        """Feature columns the segment's tags read (directly or through the tags they use)."""
        schema = self.tagset.feature_schemas.get(self.entity, {})
        names = {n for t in self.tagset.upstream(self.tags) for n in self.tagset.parsed(t).names}
        return tuple(sorted(n for n in names if n in schema))

    def flag(self, table: ir.Table, name: str = "in_segment") -> ir.Table:
        """``table`` with a boolean column ``name``: whether the row is in the segment (Ibis, any engine).

        ``table`` is a feature table with (at least) the columns the tags use, e.g.
        ``compute_features(engine, warehouse, "customer", as_of)``.
        """
        tagged = self.tagset.compile(table, self.entity, tags=self.tags)

        def build(node: _Node) -> ir.BooleanValue:
            if node.op == "tag":
                return tagged[node.name].fill_null(False)
            if node.op == "not":
                return ~build(node.args[0])
            left, right = (build(a) for a in node.args)
            return left & right if node.op == "and" else left | right

        return tagged.select(*[tagged[c] for c in table.columns], build(self._tree).name(name))

    def filter(self, table: ir.Table) -> ir.Table:
        """The rows of an Ibis feature table in the segment, with the table's own columns."""
        flagged = self.flag(table, "_in_segment")
        return flagged.filter(flagged._in_segment).drop("_in_segment")

    def mask(self, engine: Engine, features: pa.Table) -> np.ndarray:
        """Whether each row of an Arrow feature table is in the segment (row order kept).

        Only the columns the tags use are sent to the engine.

        Raises
        ------
        SegmentError
            When ``features`` lacks a column the segment's tags use.
        """
        needed = self.features_used
        missing = [c for c in needed if c not in features.column_names]
        if missing:
            raise SegmentError(
                f"segment {self.expression!r} needs the feature columns {missing}, which the feature table "
                "lacks; give the full feature table or score without the segment"
            )
        position = "_segment_row"
        table = features.select(list(needed)).append_column(position, pa.array(np.arange(features.num_rows)))
        flags = engine.to_pyarrow(
            self.flag(ibis.memtable(table), "_in_segment").select(position, "_in_segment")
        )
        out = np.zeros(features.num_rows, dtype=bool)
        out[flags.column(0).to_numpy()] = flags.column(1).to_numpy(zero_copy_only=False)
        return out

    def select(self, engine: Engine, features: pa.Table, *, what: str = "") -> pa.Table:
        """The rows of ``features`` in the segment.

        Raises
        ------
        SegmentError
            When no row is in the segment (``what`` says which table, e.g. ``"as of 2025-09-30"``).
        """
        keep = self.mask(engine, features)
        if not keep.any():
            where = f" {what}" if what else ""
            raise SegmentError(
                f"segment {self.expression!r} matches none of the {features.num_rows:,} {self.entity}s{where}; "
                "check the expression with `youshu audience count` or widen it"
            )
        return features.filter(pa.array(keep))

    def __str__(self) -> str:
        return self.expression
