"""``plan`` and ``apply``: what would change against the last applied tags, and computing them per as-of date.

Outputs of ``apply(..., entity="customer", as_of=2026-06-30, out_dir=OUT)``::

    OUT/customer_tags/as_of_date=2026-06-30/wide/part-*.parquet   customer_id, as_of_date, <one column per tag>
    OUT/customer_tags/as_of_date=2026-06-30/long/part-*.parquet   customer_id, as_of_date, tag_id, value,
                                                                  value_bool, value_num
    OUT/customer_tags/as_of_date=2026-06-30/audience/             AudienceIndex of the boolean tags (ids,
                                                                  outlets, one roaring bitmap per tag)
    OUT/tags_state.json                                           what was applied (for plan)

Wide columns are typed: boolean tags ``boolean``, categorical ``string``, scores ``float64``. In the long form
``value`` is the value as text (``true``/``false``, the category, or the score with up to 6 decimals and no
trailing zeros), ``value_bool`` is set for boolean tags and ``value_num`` for scores; rows whose value is null
are left out. Each as-of date is its own folder, replaced atomically (wide, long and audience together), so
earlier dates stay for comparison. The audience index carries each entity's outlet (``home_outlet_id`` of a
customer, ``acquiring_outlet_id`` of a merchant, when the feature table has it) for per-outlet counts, and
the tags' zh display names, so ``youshu audience count`` loads it instead of rebuilding bitmaps.
"""

from __future__ import annotations

import datetime as dtm
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow.dataset as ds

from youshu.atomic import atomic_dir, atomic_file
from youshu.engine.base import Engine
from youshu.errors import YoushuError
from youshu.tags.audience import AudienceIndex
from youshu.tags.compiler import TagSet
from youshu.tags.definitions import TagDefinition, TagKind
from youshu.tags.errors import TagTestsFailed
from youshu.tags.testing import run_tests

log = logging.getLogger(__name__)

#: Name of the state file ``apply`` keeps next to its outputs (``out_dir / STATE_FILE``).
STATE_FILE = "tags_state.json"
STATE_VERSION = 1

#: Definition fields that decide a tag's values; only these count as a change.
FINGERPRINT_FIELDS = ("entity", "kind", "expression", "values", "range")

#: Feature column giving each entity's outlet, saved in the audience index for per-outlet counts.
OUTLET_COLUMNS = {"customer": "home_outlet_id", "merchant": "acquiring_outlet_id"}

#: ``progress(step, done, total)``, as drawn by ``youshu.cli.progress``.
ProgressFn = Callable[[str, int, int], None]

# Scores up to this magnitude are written as fixed-point text identically by every engine.
_PLAIN_SCORE_LIMIT = 1e15


def fingerprint(tagset: TagSet, tag_id: str) -> dict[str, Any]:
    """The normalised definition of a tag: what decides its values (expression re-printed canonically)."""
    d = tagset[tag_id]
    return {
        "entity": d.entity,
        "kind": str(d.kind),
        "expression": tagset.parsed(tag_id).normalized,
        "values": d.values,
        "range": list(d.range) if d.range is not None else None,
    }


def _digest(fp: Mapping[str, Any]) -> str:
    text = json.dumps(fp, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_state(state_path: Path) -> dict[str, Any]:
    """The applied state (``{"version": 1, "tags": {id: {...}}}``); empty when the file does not exist.

    Raises
    ------
    YoushuError
        When the file is not a state file youshu wrote.
    """
    path = Path(state_path)
    if not path.exists():
        return {"version": STATE_VERSION, "tags": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise YoushuError(f"{path}: cannot read the tag state ({exc}); delete it to start afresh") from None
    if (
        not isinstance(state, dict)
        or state.get("version") != STATE_VERSION
        or not isinstance(state.get("tags"), dict)
    ):
        raise YoushuError(
            f"{path}: not a youshu tag state (version {STATE_VERSION}); delete it to start afresh"
        )
    return state


@dataclass(frozen=True)
class TagChange:
    """How one tag differs from its applied state: the fingerprint fields that changed, before and after."""

    tag_id: str
    fields: tuple[str, ...]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


@dataclass(frozen=True)
class Plan:
    """What ``apply`` would change, against the last applied state.

    Attributes
    ----------
    added, changed, removed, unchanged : tuple of str
        Tag ids. ``changed`` means a field in ``FINGERPRINT_FIELDS`` differs (display names, descriptions,
        owners and tests do not change values).
    affected : tuple of str
        Unchanged tags that use a changed tag, so their values may change too.
    changes : mapping of str to TagChange
        Details for every added, changed and removed tag.
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    affected: tuple[str, ...] = ()
    changes: Mapping[str, TagChange] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        """Whether any tag was added, changed or removed."""
        return bool(self.added or self.changed or self.removed)

    def render(self) -> str:
        """The plan as text, one line per tag: ``+`` added, ``~`` changed, ``-`` removed, ``!`` affected."""
        lines = []
        for t in self.added:
            after = self.changes[t].after or {}
            lines.append(f"+ {t} ({after.get('entity')}, {after.get('kind')})")
        for t in self.changed:
            c = self.changes[t]
            assert c.before is not None and c.after is not None
            diffs = "; ".join(f"{f}: {c.before.get(f)!r} -> {c.after.get(f)!r}" for f in c.fields)
            lines.append(f"~ {t}: {diffs}")
        lines += [f"- {t}" for t in self.removed]
        lines += [f"! {t}: uses changed tags" for t in self.affected]
        lines.append(
            f"{len(self.unchanged)} unchanged"
            if self.has_changes
            else f"no changes ({len(self.unchanged)} tags)"
        )
        return "\n".join(lines)


def plan(tagset: TagSet, state_path: Path, *, entity: str | None = None) -> Plan:
    """Compare the definitions with the last applied state.

    Parameters
    ----------
    tagset : TagSet
        The definitions as they are now.
    state_path : Path
        The state file ``apply`` writes (``out_dir / STATE_FILE``); absent means nothing applied yet.
    entity : {"customer", "merchant"}, optional
        Only this entity's tags (both when omitted).

    Returns
    -------
    Plan

    Examples
    --------
    >>> print(plan(tagset, Path("out/tags_state.json")).render())  # doctest: +SKIP
    ~ high_aum: expression: 'aum_fen >= 1000' -> 'aum_fen >= 5000'
    41 unchanged
    """
    applied = {
        t: entry
        for t, entry in read_state(state_path)["tags"].items()
        if entity is None or entry.get("entity") == entity
    }
    current = {d.id: fingerprint(tagset, d.id) for d in tagset if entity is None or d.entity == entity}
    added, changed, unchanged = [], [], []
    changes: dict[str, TagChange] = {}
    for tag_id, fp in current.items():
        before = applied.get(tag_id)
        if before is None:
            added.append(tag_id)
            changes[tag_id] = TagChange(tag_id, tuple(FINGERPRINT_FIELDS), None, fp)
        elif before.get("hash") != _digest(fp):
            old = before.get("definition") or {}
            fields = tuple(f for f in FINGERPRINT_FIELDS if old.get(f) != fp[f]) or FINGERPRINT_FIELDS
            changed.append(tag_id)
            changes[tag_id] = TagChange(tag_id, fields, old, fp)
        else:
            unchanged.append(tag_id)
    removed = sorted(set(applied) - set(current))
    for tag_id in removed:
        changes[tag_id] = TagChange(
            tag_id, tuple(FINGERPRINT_FIELDS), applied[tag_id].get("definition"), None
        )
    affected = [t for t in tagset.downstream(changed) if t in unchanged]
    return Plan(tuple(added), tuple(changed), tuple(removed), tuple(unchanged), tuple(affected), changes)


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` wrote.

    Attributes
    ----------
    entity : str
    as_of : datetime.date
    tags : tuple of str
        The tag ids computed, in dependency order.
    rows : int
        Entities tagged (rows of the wide form).
    wide_dir, long_dir : Path
        The Parquet folders written.
    plan : Plan
        The changes against the state before this apply.
    out_of_domain : mapping of str to int
        Per tag, the rows whose value is outside the declared ``values`` or ``range`` (only tags with any).
    audience_dir : Path or None
        The saved ``AudienceIndex`` of the boolean tags (None when not saved).
    """

    entity: str
    as_of: dtm.date
    tags: tuple[str, ...]
    rows: int
    wide_dir: Path
    long_dir: Path
    plan: Plan
    out_of_domain: Mapping[str, int]
    audience_dir: Path | None = None


def apply(
    engine: Engine,
    tagset: TagSet,
    features: ir.Table,
    entity: str,
    as_of: dtm.date | str,
    out_dir: Path,
    *,
    state_path: Path | None = None,
    check_tests: bool = True,
    save_audience: bool = True,
    progress: ProgressFn | None = None,
) -> ApplyResult:
    """Compute an entity's tags as of a date and write them in long and wide form; update the state.

    Parameters
    ----------
    engine : Engine
        Where to compute (``features`` must be one of its tables).
    tagset : TagSet
        From ``load_definitions``.
    features : ibis.Table
        One row per entity as of ``as_of``, with ``<entity>_id`` (string) and the features the tags use.
    entity : {"customer", "merchant"}
    as_of : datetime.date or str
        The as-of date (``YYYY-MM-DD``).
    out_dir : Path
        Writes ``<entity>_tags/as_of_date=<as_of>/{wide,long,audience}/`` under it (see the module
        docstring); that date's folder is replaced atomically and other dates are kept.
    state_path : Path, optional
        The state file; ``out_dir / STATE_FILE`` by default.
    check_tests : bool, default True
        Run the definitions' tests first (on DuckDB, in-process) and refuse to apply if any fail.
    save_audience : bool, default True
        Also save the ``AudienceIndex`` of the boolean tags in ``audience/`` of that date's folder.
    progress : callable, optional
        ``progress(step, done, total)`` after each stage (tests, tags, long form, audience, state).

    Returns
    -------
    ApplyResult

    Raises
    ------
    TagTestsFailed
        When ``check_tests`` and a test fails; nothing is written.
    YoushuError
        When the entity has no tags, ``features`` lacks ``<entity>_id`` or a feature the tags use.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     result = apply(eng, tagset, eng.con.read_parquet("features.parquet"), "customer",
    ...                    "2026-06-30", Path("out"))
    """
    day = as_of if isinstance(as_of, dtm.date) else _parse_date(as_of)
    selected = tagset.for_entity(entity)
    if not selected:
        raise YoushuError(
            f"the tag set has no {entity} tags; load definitions under definitions/tags/{entity}/"
        )
    ids = tuple(d.id for d in selected)
    key = f"{entity}_id"
    if key not in features.columns or not features[key].type().is_string():
        raise YoushuError(f"the {entity} feature table needs a string column {key!r}")
    step, stages = f"{entity} tags", 5

    def report(done: int) -> None:
        if progress is not None:
            progress(step, done, stages)

    report(0)
    if check_tests:
        failed = [r.message for r in run_tests(tagset, tags=ids) if not r.passed]
        if failed:
            raise TagTestsFailed(f"{len(failed)} tag test(s) failed; nothing applied:\n" + "\n".join(failed))
    report(1)
    state_path = Path(out_dir) / STATE_FILE if state_path is None else Path(state_path)
    before = plan(tagset, state_path, entity=entity)
    tagged = tagset.compile(features, entity)
    outlet = OUTLET_COLUMNS.get(entity)
    if not (save_audience and outlet in features.columns and features[outlet].type().is_string()):
        outlet = None
    extra = [outlet] if outlet else []
    computed = tagged.select(key, ibis.literal(day, type="date").name("as_of_date"), *extra, *ids)
    dest = Path(out_dir) / f"{entity}_tags" / f"as_of_date={day.isoformat()}"
    audience_dir = dest / "audience" if save_audience else None
    with atomic_dir(dest) as tmp:
        # The tags are computed once; with an outlet column they are staged, and the wide form drops it.
        staged = tmp / ("_staged" if outlet else "wide")
        engine.write_parquet(computed, staged)
        stored = engine.con.read_parquet(str(staged / "*.parquet"))
        if outlet:
            # Named columns only: DuckDB reads "as_of_date=..." in the path as a hive partition column.
            engine.write_parquet(stored.select(key, "as_of_date", *ids), tmp / "wide")
            stored = engine.con.read_parquet(str(tmp / "wide" / "*.parquet"))
        report(2)
        rows, out_of_domain = _summarize(engine, stored, selected)
        engine.write_parquet(_long(stored, key, selected), tmp / "long")
        report(3)
        if save_audience:
            _save_audience(staged, key, outlet, selected, tmp / "audience")
        if outlet:
            shutil.rmtree(staged)
        report(4)
    for tag_id, n in out_of_domain.items():
        log.warning("tag %s: %d %s rows outside its declared values or range", tag_id, n, entity)
    _record(tagset, state_path, entity, ids, day)
    report(5)
    return ApplyResult(
        entity, day, ids, rows, dest / "wide", dest / "long", before, out_of_domain, audience_dir
    )


def _save_audience(
    folder: Path, key: str, outlet: str | None, selected: Sequence[TagDefinition], dest: Path
) -> None:
    flags = [d for d in selected if d.kind == "boolean"]
    columns = [key, *([outlet] if outlet else []), *(d.id for d in flags)]
    table = ds.dataset(folder, format="parquet").to_table(columns=columns)
    names = {d.id: d.display_name_zh for d in flags}
    AudienceIndex.from_wide(table, key, outlet_column=outlet, names=names).save(dest)


def _parse_date(text: str) -> dtm.date:
    try:
        return dtm.date.fromisoformat(text)
    except ValueError:
        raise YoushuError(f"as_of {text!r} is not a date; write YYYY-MM-DD") from None


def _summarize(
    engine: Engine, wide: ir.Table, selected: Sequence[TagDefinition]
) -> tuple[int, dict[str, int]]:
    checks: dict[str, ir.Value] = {"_rows": wide.count()}
    for d in selected:
        col = wide[d.id]
        if d.values is not None:
            bad = col.notnull() & ~col.isin(d.values)
        elif d.range is not None:
            bad = (col < d.range[0]) | (col > d.range[1])
        else:
            continue
        checks[d.id] = bad.cast("int64").sum()
    counts = engine.execute(wide.aggregate(**checks)).iloc[0]
    number = {t: 0 if pd.isna(counts[t]) else int(counts[t]) for t in checks}  # a sum over no rows is null
    out_of_domain = {t: n for t, n in number.items() if t != "_rows" and n > 0}
    return number["_rows"], out_of_domain


def _long(wide: ir.Table, key: str, selected: Sequence[TagDefinition]) -> ir.Table:
    # One unpivot per kind, each over plain values of one type, then a union: a single unpivot of every tag
    # needs a struct (text, flag, number) per cell and cost 2.5x the CPU on DuckDB (100k customers, 97 tags).
    # A union of one select per tag is as fast but scans the wide table once per tag and, its rows grouped
    # by tag instead of by entity, wrote a long form six times as large.
    no_bool, no_num = ibis.null("boolean"), ibis.null("float64")
    parts = []
    for kind in TagKind:
        ids = [d.id for d in selected if d.kind == kind]
        if not ids:
            continue
        cells = wide.select(key, "as_of_date", *ids).pivot_longer(ids, names_to="tag_id", values_to="_value")
        cells = cells.filter(cells["_value"].notnull())
        col = cells["_value"]
        if kind == TagKind.BOOLEAN:
            text, flag, num = col.cast("string"), col, no_num
        elif kind == TagKind.SCORE:
            text, flag, num = _score_text(col), no_bool, col
        else:
            text, flag, num = col, no_bool, no_num
        parts.append(cells.select(key, "as_of_date", "tag_id", value=text, value_bool=flag, value_num=num))
    return ibis.union(*parts)


def _score_text(col: ir.Value) -> ir.Value:
    # A double cast to text differs by engine (1e-05 vs 1.0E-5); fixed-point decimal text does not.
    plain = col.cast("decimal(38, 6)").cast("string").re_replace(r"\.?0+$", "")
    return ibis.cases((col.abs() < _PLAIN_SCORE_LIMIT, plain), else_=col.cast("string"))


def _record(tagset: TagSet, state_path: Path, entity: str, ids: Sequence[str], day: dtm.date) -> None:
    state = read_state(state_path)
    tags = {t: e for t, e in state["tags"].items() if e.get("entity") != entity}
    for tag_id in ids:
        fp = fingerprint(tagset, tag_id)
        tags[tag_id] = {
            "entity": entity,
            "hash": _digest(fp),
            "definition": fp,
            "applied_as_of": day.isoformat(),
        }
    state["tags"] = dict(sorted(tags.items()))
    with atomic_file(state_path) as tmp:
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
