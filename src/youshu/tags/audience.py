"""Audiences (客群圈选): boolean expressions over boolean tags, evaluated on compressed bitmaps.

An ``AudienceIndex`` holds one roaring bitmap per boolean tag over the rows of a wide tag table (row number =
position of the entity id). ``女性客群 AND 行外理财客户 AND NOT 沉睡客户`` becomes two intersections and a
difference of bitmaps: milliseconds over tens of millions of customers.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyroaring import BitMap

from youshu.atomic import atomic_dir
from youshu.errors import YoushuError

_TOKEN = re.compile(r"\s*(\(|\)|&&?|\|\|?|!|~|[^\s()&|!~]+)")
_AND = {"and", "&", "&&", "且"}
_OR = {"or", "|", "||", "或"}
_NOT = {"not", "!", "~", "非"}


class AudienceError(YoushuError):
    """An audience expression cannot be parsed or names an unknown tag."""


@dataclass(frozen=True)
class _Node:
    op: str  # "tag", "and", "or", "not"
    args: tuple[_Node, ...] = ()
    name: str = ""


def parse(expression: str) -> _Node:
    """Parse ``A AND (B OR NOT C)``; also ``&``, ``|``, ``!``/``~`` and 且/或/非. NOT binds tightest, then AND."""
    tokens = [t for t in _TOKEN.findall(expression) if t]
    if not tokens:
        raise AudienceError("empty audience expression; write tags joined by AND, OR, NOT and parentheses")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def either() -> _Node:
        left = both()
        while (tok := peek()) is not None and tok.lower() in _OR:
            take()
            left = _Node("or", (left, both()))
        return left

    def both() -> _Node:
        left = negated()
        while (tok := peek()) is not None and tok.lower() in _AND:
            take()
            left = _Node("and", (left, negated()))
        return left

    def negated() -> _Node:
        tok = peek()
        if tok is not None and tok.lower() in _NOT:
            take()
            return _Node("not", (negated(),))
        return atom()

    def atom() -> _Node:
        tok = peek()
        if tok is None:
            raise AudienceError(f"audience expression {expression!r} ends early: a tag or '(' is missing")
        take()
        if tok == "(":
            inner = either()
            if peek() != ")":
                raise AudienceError(f"audience expression {expression!r}: a ')' is missing")
            take()
            return inner
        if tok == ")" or tok.lower() in _AND | _OR:
            raise AudienceError(f"audience expression {expression!r}: unexpected {tok!r} where a tag belongs")
        return _Node("tag", name=tok)

    node = either()
    if pos != len(tokens):
        raise AudienceError(
            f"audience expression {expression!r}: unexpected {tokens[pos]!r}; join tags with AND, OR, NOT"
        )
    return node


class AudienceIndex:
    """Bitmaps of the boolean tags of one entity and as-of date, with optional outlet of each row.

    Parameters
    ----------
    ids : pyarrow.Array
        Entity ids; row ``i`` of every bitmap is ``ids[i]``.
    bitmaps : mapping of str to BitMap
        One bitmap per boolean tag id.
    names : mapping of str to str, optional
        Display names (e.g. zh) that may stand for tag ids in expressions.
    outlets : pyarrow.Array, optional
        The outlet of each row, for per-outlet counts.
    """

    def __init__(
        self,
        ids: pa.Array,
        bitmaps: Mapping[str, BitMap],
        names: Mapping[str, str] | None = None,
        outlets: pa.Array | None = None,
    ) -> None:
        self.ids = ids
        self.bitmaps = dict(bitmaps)
        self.names = dict(names or {})
        self.outlets = outlets
        self.universe = BitMap(range(len(ids)))

    @classmethod
    def from_wide(
        cls,
        table: pa.Table,
        id_column: str,
        *,
        outlet_column: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> AudienceIndex:
        """Build bitmaps from every boolean column of a wide tag table (nulls count as false)."""
        bitmaps = {}
        for field in table.schema:
            if pa.types.is_boolean(field.type):
                values = pc.fill_null(table[field.name], False).to_numpy(zero_copy_only=False)
                bitmaps[field.name] = BitMap(np.flatnonzero(values).astype(np.uint32))
        outlets = table[outlet_column].combine_chunks() if outlet_column else None
        return cls(table[id_column].combine_chunks(), bitmaps, names, outlets)

    def _lookup(self, name: str) -> BitMap:
        if name in self.bitmaps:
            return self.bitmaps[name]
        by_display = {v: k for k, v in self.names.items()}
        if name in by_display and by_display[name] in self.bitmaps:
            return self.bitmaps[by_display[name]]
        known = sorted(self.bitmaps) + sorted(n for n, t in by_display.items() if t in self.bitmaps)
        close = difflib.get_close_matches(name, known, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; boolean tags: {', '.join(sorted(self.bitmaps))}"
        )
        raise AudienceError(f"unknown tag {name!r} in audience expression{hint}")

    def evaluate(self, expression: str) -> BitMap:
        """The rows matching ``expression``."""
        return self._eval(parse(expression))

    def _eval(self, node: _Node) -> BitMap:
        if node.op == "tag":
            return self._lookup(node.name)
        if node.op == "not":
            return self.universe - self._eval(node.args[0])
        left, right = (self._eval(a) for a in node.args)
        return left & right if node.op == "and" else left | right

    def count(self, expression: str) -> int:
        """How many entities match."""
        return len(self.evaluate(expression))

    def count_by_outlet(self, expression: str) -> dict[str, int]:
        """Matches per outlet, largest first (needs ``outlets``)."""
        if self.outlets is None:
            raise AudienceError("this audience index has no outlet column; build it with outlet_column=...")
        rows = np.fromiter(self.evaluate(expression), dtype=np.int64)
        counts = pc.value_counts(self.outlets.take(pa.array(rows)))
        pairs = [(str(v["values"]), int(v["counts"])) for v in counts.to_pylist()]
        return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))

    def members(self, expression: str) -> pa.Array:
        """Ids of the matching entities, in row order."""
        rows = np.fromiter(self.evaluate(expression), dtype=np.int64)
        return self.ids.take(pa.array(rows))

    def save(self, folder: Path) -> None:
        """Write ids, outlets and one serialized bitmap per tag into ``folder`` (atomically)."""
        with atomic_dir(Path(folder)) as tmp:
            columns = {"id": self.ids}
            if self.outlets is not None:
                columns["outlet_id"] = self.outlets
            pq.write_table(pa.table(columns), tmp / "rows.parquet")
            (tmp / "bitmaps").mkdir()
            for i, (_tag, bitmap) in enumerate(sorted(self.bitmaps.items())):
                (tmp / "bitmaps" / f"{i:04d}.roaring").write_bytes(bitmap.serialize())
            (tmp / "index.json").write_text(
                json.dumps({"tags": sorted(self.bitmaps), "names": self.names}, ensure_ascii=False, indent=1),
                encoding="utf-8",
            )

    @classmethod
    def load(cls, folder: Path) -> AudienceIndex:
        """Read an index written by ``save``."""
        folder = Path(folder)
        if not (folder / "index.json").exists():
            raise AudienceError(f"{folder} holds no audience index; run `youshu tags apply` first")
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        rows = pq.read_table(folder / "rows.parquet")
        bitmaps = {
            tag: BitMap.deserialize((folder / "bitmaps" / f"{i:04d}.roaring").read_bytes())
            for i, tag in enumerate(meta["tags"])
        }
        outlets = rows["outlet_id"].combine_chunks() if "outlet_id" in rows.column_names else None
        return cls(rows["id"].combine_chunks(), bitmaps, meta.get("names"), outlets)


def tags_in(expression: str) -> Sequence[str]:
    """The tag names an expression mentions, in order of appearance."""
    out: list[str] = []

    def walk(node: _Node) -> None:
        if node.op == "tag":
            out.append(node.name)
        for arg in node.args:
            walk(arg)

    walk(parse(expression))
    return out
