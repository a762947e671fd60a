"""The tag compiler: definitions in dependency order, compiled into Ibis columns over a feature table."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from youshu.errors import YoushuError
from youshu.tags.errors import Problem, TagDefinitionError
from youshu.tags.expressions import KIND_DTYPES, ParsedExpression, parse_expression, translate

if TYPE_CHECKING:  # definitions imports this module to build a TagSet
    from youshu.tags.definitions import TagDefinition

#: Feature dtypes a feature schema may name, and their Ibis types.
FEATURE_DTYPES: dict[str, dt.DataType] = {
    "int": dt.int64,
    "float": dt.float64,
    "bool": dt.boolean,
    "string": dt.string,
    "date": dt.date,
}


def unbound_table(schema: Mapping[str, str], tags: Mapping[str, dt.DataType] | None = None) -> ir.Table:
    """An unbound Ibis table with the features of ``schema`` (dtype names) and ``tags`` (Ibis types).

    Expressions built on it are type-checked without data; the load-time checks use it.
    """
    columns = {name: FEATURE_DTYPES[dtype] for name, dtype in schema.items()}
    columns.update(tags or {})
    return ibis.table(ibis.schema(columns), name="features")


def dependency_cycles(deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every dependency cycle among ``deps`` (tag id -> ids it uses), one path per strongly connected group.

    A cycle ``[a, b]`` means ``a`` uses ``b`` and ``b`` uses ``a``; a tag using itself gives ``[a]``.
    Ids not in ``deps`` are ignored.
    """
    cycles = []
    for group in _strongly_connected(deps):
        start = next(t for t in deps if t in group)
        if len(group) > 1 or start in deps[start]:
            cycles.append(_cycle_through(start, deps, group))
    return cycles


def _strongly_connected(deps: Mapping[str, Sequence[str]]) -> list[set[str]]:
    # Tarjan's algorithm, iteratively (definitions can chain deeply).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in deps:
        if root in index:
            continue
        work = [(root, iter(deps[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in deps), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(deps[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _cycle_through(start: str, deps: Mapping[str, Sequence[str]], group: set[str]) -> list[str]:
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in deps[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            if child in group and child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError("a strongly connected group always has a cycle")  # pragma: no cover


def dependency_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Ids of ``deps`` so that every tag comes after the tags it uses; ties keep the given order.

    Raises
    ------
    ValueError
        When ``deps`` has a cycle (see ``dependency_cycles``).
    """
    position = {tag: i for i, tag in enumerate(deps)}
    waiting = {tag: {d for d in uses if d in deps} for tag, uses in deps.items()}
    users: dict[str, list[str]] = {tag: [] for tag in deps}
    for tag, uses in waiting.items():
        for used in uses:
            users[used].append(tag)
    ready = [(position[t], t) for t, uses in waiting.items() if not uses]
    heapq.heapify(ready)
    order = []
    while ready:
        _, tag = heapq.heappop(ready)
        order.append(tag)
        for user in users[tag]:
            waiting[user].discard(tag)
            if not waiting[user]:
                heapq.heappush(ready, (position[user], user))
    if len(order) != len(deps):
        raise ValueError(f"dependency cycle among {sorted(set(deps) - set(order))}")
    return order


class TagSet:
    """Checked tag definitions in dependency order, ready to compile.

    Build one with ``youshu.tags.load_definitions``; iterating gives the definitions so that every tag
    comes after the tags it uses.

    Parameters
    ----------
    definitions : sequence of TagDefinition
        Valid definitions with unique ids (``load_definitions`` checks them).
    feature_schemas : mapping
        ``entity -> {feature: dtype}`` as given to ``load_definitions``.
    sources : mapping of str to Path, optional
        The file each tag id was read from (for messages).

    Raises
    ------
    TagDefinitionError
        When the definitions' dependencies form a cycle.
    """

    def __init__(
        self,
        definitions: Sequence[TagDefinition],
        *,
        feature_schemas: Mapping[str, Mapping[str, str]],
        sources: Mapping[str, Path] | None = None,
    ) -> None:
        by_id = {d.id: d for d in definitions}
        self._sources = dict(sources or {})
        deps = {d.id: list(d.depends_on) for d in definitions}
        cycles = dependency_cycles(deps)
        if cycles:
            raise TagDefinitionError(
                [
                    Problem(self._sources.get(c[0]), c[0], "depends_on", f"cycle {' -> '.join([*c, c[0]])}")
                    for c in cycles
                ]
            )
        self._definitions = tuple(by_id[t] for t in dependency_order(deps))
        self._by_id = by_id
        self._parsed: dict[str, ParsedExpression] = {
            d.id: parse_expression(d.expression) for d in definitions
        }
        self.feature_schemas: dict[str, dict[str, str]] = {e: dict(s) for e, s in feature_schemas.items()}

    # -- the collection ---------------------------------------------------------------------------------
    @property
    def definitions(self) -> tuple[TagDefinition, ...]:
        """All definitions, each after the tags it uses."""
        return self._definitions

    @property
    def ids(self) -> tuple[str, ...]:
        """Tag ids in dependency order."""
        return tuple(d.id for d in self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)

    def __iter__(self) -> Iterator[TagDefinition]:
        return iter(self._definitions)

    def __contains__(self, tag_id: object) -> bool:
        return tag_id in self._by_id

    def __getitem__(self, tag_id: str) -> TagDefinition:
        try:
            return self._by_id[tag_id]
        except KeyError:
            raise KeyError(f"no tag {tag_id!r} in this tag set") from None

    def __repr__(self) -> str:
        counts = ", ".join(f"{e}: {len(self.for_entity(e))}" for e in sorted({d.entity for d in self}))
        return f"<TagSet {len(self)} tags ({counts})>"

    def source(self, tag_id: str) -> Path | None:
        """The file tag ``tag_id`` was read from (None when built in code)."""
        return self._sources.get(tag_id)

    def parsed(self, tag_id: str) -> ParsedExpression:
        """The parsed expression of tag ``tag_id``."""
        return self._parsed[tag_id]

    def for_entity(self, entity: str) -> tuple[TagDefinition, ...]:
        """The definitions of one entity's tags, in dependency order."""
        return tuple(d for d in self._definitions if d.entity == entity)

    def upstream(self, tag_ids: Iterable[str]) -> tuple[str, ...]:
        """``tag_ids`` and every tag they use, directly or not, in dependency order."""
        needed: set[str] = set()
        todo = [self[t].id for t in tag_ids]
        while todo:
            tag = todo.pop()
            if tag not in needed:
                needed.add(tag)
                todo.extend(self._by_id[tag].depends_on)
        return tuple(t for t in self.ids if t in needed)

    def downstream(self, tag_ids: Iterable[str]) -> tuple[str, ...]:
        """Tags that use any of ``tag_ids``, directly or not (excluding those given), in dependency order."""
        start = {self[t].id for t in tag_ids}
        reached = set(start)
        for d in self._definitions:  # dependency order: a tag's inputs are decided before it
            if reached.intersection(d.depends_on):
                reached.add(d.id)
        return tuple(t for t in self.ids if t in reached - start)

    # -- compiling ---------------------------------------------------------------------------------------
    def compile(self, features: ir.Table, entity: str, *, tags: Iterable[str] | None = None) -> ir.Table:
        """Add one column per tag of ``entity`` to ``features``, in dependency order.

        Tags that use other tags see them as columns. Boolean tags are booleans, categorical tags strings
        and scores ``float64``. Tags whose inputs are all known are computed side by side, so the query
        nests only as deep as the longest chain of tags.

        Parameters
        ----------
        features : ibis.Table
            One row per entity, with (at least) the feature columns the tags use, of their declared types.
        entity : {"customer", "merchant"}
            Whose tags to compile.
        tags : iterable of str, optional
            Only these tags (and the tags they use); all of the entity's tags when omitted.

        Returns
        -------
        ibis.Table
            ``features`` with the tag columns appended.

        Raises
        ------
        YoushuError
            When ``features`` lacks a feature column the tags use, has one of another type, or already has
            a column named like a tag.

        Examples
        --------
        >>> tagged = tagset.compile(eng.table(warehouse, "customer_features"), "customer")  # doctest: +SKIP
        >>> eng.execute(tagged.select("customer_id", "high_aum"))  # doctest: +SKIP
        """
        selected = self.for_entity(entity) if tags is None else [self[t] for t in self.upstream(tags)]
        wrong = [d.id for d in selected if d.entity != entity]
        if wrong:
            raise YoushuError(f"tags {wrong} are not {entity} tags")
        self._check_features(features, entity, selected)
        level: dict[str, int] = {}
        layers: list[list[TagDefinition]] = []
        for d in selected:
            level[d.id] = 1 + max((level[u] for u in d.depends_on), default=-1)
            if level[d.id] == len(layers):
                layers.append([])
            layers[level[d.id]].append(d)
        table = features
        for layer in layers:
            columns = {}
            for d in layer:
                value = translate(self._parsed[d.id], table)
                wanted = KIND_DTYPES[d.kind]
                if value.type() != wanted:
                    value = value.cast(wanted)
                columns[d.id] = value
            table = table.mutate(**columns)
        return table

    def _check_features(self, features: ir.Table, entity: str, selected: Sequence[TagDefinition]) -> None:
        schema = self.feature_schemas.get(entity, {})
        clash = [d.id for d in selected if d.id in features.columns]
        if clash:
            raise YoushuError(
                f"the feature table already has columns named like the tags {clash}; drop them first"
            )
        used = {n for d in selected for n in self._parsed[d.id].names if n in schema}
        missing = sorted(used - set(features.columns))
        if missing:
            raise YoushuError(f"the {entity} feature table lacks columns the tags use: {missing}")
        for name in sorted(used):
            actual, declared = features[name].type(), FEATURE_DTYPES[schema[name]]
            if not _same_family(actual, declared):
                raise YoushuError(
                    f"feature {name!r} is {actual} in the feature table but declared {schema[name]}; "
                    "cast it or fix the feature schema"
                )


def _same_family(actual: dt.DataType, declared: dt.DataType) -> bool:
    if declared.is_numeric() and not declared.is_boolean():
        return bool(actual.is_numeric()) and not actual.is_boolean()
    return bool(actual.copy(nullable=True) == declared.copy(nullable=True))
