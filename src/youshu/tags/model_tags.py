"""Model-derived tags (模型标签): columns a model computed, added to an applied tag date folder next to the declared tags.

``add_model_tags(folder, frame, tags, source="ivl")`` takes a date folder ``apply`` wrote
(``<entity>_tags/as_of_date=YYYY-MM-DD``) and a table keyed by ``<entity>_id`` with one column per tag, and
replaces the folder atomically with one where::

    wide/part-00000.parquet       the wide table with the new columns appended (null for entities the frame lacks)
    long/part-<source>.parquet    the new tags' rows in the long form apply writes (null values left out)
    audience/                     the saved AudienceIndex with one more bitmap per new boolean tag and its zh name
    model_tags.json               which columns are model tags: id, zh name, kind, source

Nothing else changes: the tag state (``tags_state.json``) stays about the declared definitions, so ``plan``
neither adds nor removes model tags, and a later ``apply`` of that date replaces the folder without them (add
them again). Adding tags of a source a second time replaces that source's tags. The IVL portrait's tags are
:data:`IVL_TAGS`, made from a portrait table by :func:`ivl_tag_frame`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyroaring import BitMap

from youshu.atomic import atomic_dir
from youshu.errors import YoushuError
from youshu.tags.audience import AudienceIndex
from youshu.tags.definitions import TagKind

__all__ = [
    "IVL_SOURCE",
    "IVL_TAGS",
    "MODEL_TAGS_FILE",
    "ModelTag",
    "ModelTagsResult",
    "add_ivl_tags",
    "add_model_tags",
    "ivl_tag_frame",
    "read_model_tags",
]

log = logging.getLogger(__name__)

#: Metadata of the model tags of a date folder (``<folder>/model_tags.json``).
MODEL_TAGS_FILE = "model_tags.json"
MODEL_TAGS_VERSION = 1

_FOLDER = re.compile(r"^as_of_date=(\d{4}-\d{2}-\d{2})$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Scores up to this magnitude are written as fixed-point text, as apply does.
_PLAIN_SCORE_LIMIT = 1e15
# The long form as apply writes it (used when the folder's long form has no part to read it from).
_LONG_FIELDS = (
    ("tag_id", pa.string()),
    ("value", pa.string()),
    ("value_bool", pa.bool_()),
    ("value_num", pa.float64()),
)


@dataclass(frozen=True)
class ModelTag:
    """One model-derived tag: a column of the frame given to :func:`add_model_tags`.

    Attributes
    ----------
    id : str
        Column and tag id, snake_case (``ivl_intimacy_high``).
    display_name_zh : str
        The zh name audiences may use (``高亲密``).
    kind : TagKind
        ``boolean`` (a bitmap in the audience index), ``categorical`` (text) or ``score`` (float64).
    description : str
        What it means, for the metadata.
    """

    id: str
    display_name_zh: str
    kind: TagKind
    description: str = ""


@dataclass(frozen=True)
class ModelTagsResult:
    """What :func:`add_model_tags` wrote.

    Attributes
    ----------
    folder : Path
        The date folder.
    tags : tuple of str
        The tag ids added.
    rows : int
        Entities of the wide table.
    matched : int
        Of them, those the frame has a row for (the others got nulls).
    dropped : int
        Frame rows whose entity is not in the wide table (left out).
    long_rows : int
        Rows appended to the long form.
    indexed : bool
        Whether the audience index was there and got the boolean tags.
    """

    folder: Path
    tags: tuple[str, ...]
    rows: int
    matched: int
    dropped: int
    long_rows: int
    indexed: bool


def read_model_tags(folder: Path) -> dict[str, dict[str, str]]:
    """The model tags of a date folder: ``{tag id: {"display_name_zh", "kind", "source", "description"}}``.

    Empty when none were added.

    Raises
    ------
    YoushuError
        When the metadata file is there but not one youshu wrote.
    """
    path = Path(folder) / MODEL_TAGS_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise YoushuError(
            f"{path}: cannot read the model tags ({exc}); apply the tags of that date again"
        ) from None
    if (
        not isinstance(meta, dict)
        or meta.get("version") != MODEL_TAGS_VERSION
        or not isinstance(meta.get("tags"), dict)
    ):
        raise YoushuError(f"{path}: not youshu model-tag metadata (version {MODEL_TAGS_VERSION})")
    return dict(meta["tags"])


def add_model_tags(
    folder: Path,
    frame: pd.DataFrame | pa.Table,
    tags: Sequence[ModelTag],
    *,
    source: str,
) -> ModelTagsResult:
    """Add model-derived tags to an applied tag date folder (wide, long, audience index), atomically.

    Parameters
    ----------
    folder : Path
        ``<entity>_tags/as_of_date=YYYY-MM-DD`` as written by ``youshu.tags.apply``.
    frame : pandas.DataFrame or pyarrow.Table
        ``<entity>_id`` (unique, no nulls) and exactly one column per tag in ``tags``.
    tags : sequence of ModelTag
        The new tags, in the order their columns are appended.
    source : str
        What computed them (``"ivl"``); adding a source again replaces its earlier tags.

    Returns
    -------
    ModelTagsResult

    Raises
    ------
    YoushuError
        Before anything is written, when the folder is not an applied date folder, the frame lacks the id or a
        tag column or has other columns, an id is null or repeated, a column's type does not fit its kind, a
        tag id or zh name is invalid or repeated, or a tag id is a declared tag or another source's tag.

    Examples
    --------
    >>> frame = ivl_tag_frame(portrait.table)  # doctest: +SKIP
    >>> add_model_tags(Path("out/customer_tags/as_of_date=2025-09-30"), frame, IVL_TAGS, source="ivl")  # doctest: +SKIP
    """
    folder = Path(folder)
    day, entity = _date_folder(folder)
    key = f"{entity}_id"
    if not _ID.match(source):
        raise YoushuError(f"model-tag source {source!r} must be snake_case (a-z, 0-9, _)")
    table = _checked_frame(frame, tags, key, source)
    previous = read_model_tags(folder)
    replaced = [t for t, e in previous.items() if e.get("source") == source]
    _check_names(folder, tags, previous, source)

    wide_files = sorted((folder / "wide").glob("*.parquet"))
    wide_keys = ds.dataset(wide_files, format="parquet").to_table(columns=[key])[key].combine_chunks()
    in_wide = pc.is_in(table[key], value_set=wide_keys)
    matched = table.filter(in_wide)
    dropped = table.num_rows - matched.num_rows
    if dropped:
        log.warning("model tags %s: %d %ss not in the %s tag table left out", source, dropped, entity, day)

    with atomic_dir(folder) as tmp:
        _link_unchanged(folder, tmp, source)
        _write_wide(wide_files, matched, key, replaced, tmp / "wide")
        long_rows = _write_long(
            folder / "long", matched, key, day, tags, tmp / "long" / f"part-{source}.parquet"
        )
        indexed = (folder / "audience" / "index.json").is_file()
        if indexed:
            _write_audience(folder / "audience", matched, key, tags, replaced, tmp / "audience")
        else:
            log.info("model tags %s: %s has no audience index; bitmaps not added", source, folder)
        _write_meta(tmp / MODEL_TAGS_FILE, previous, replaced, tags, source)
    log.info(
        "model tags %s: %d tags for %d of %d %ss as of %s",
        *(source, len(tags), matched.num_rows, len(wide_keys), entity, day),
    )
    return ModelTagsResult(
        folder, tuple(t.id for t in tags), len(wide_keys), matched.num_rows, dropped, long_rows, indexed
    )


# -- checks --------------------------------------------------------------------------------------------------


def _date_folder(folder: Path) -> tuple[date, str]:
    found = _FOLDER.match(folder.name)
    entity = folder.parent.name.removesuffix("_tags")
    if found is None or not folder.parent.name.endswith("_tags") or not (folder / "wide").is_dir():
        raise YoushuError(
            f"{folder} is not an applied tag date folder (<entity>_tags/as_of_date=YYYY-MM-DD with wide/); "
            "apply the tags first (youshu tags apply)"
        )
    if not any((folder / "wide").glob("*.parquet")):
        raise YoushuError(f"{folder / 'wide'} holds no Parquet files; apply the tags of that date again")
    return date.fromisoformat(found.group(1)), entity


def _checked_frame(
    frame: pd.DataFrame | pa.Table, tags: Sequence[ModelTag], key: str, source: str
) -> pa.Table:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    what = f"the {source} model-tag frame"
    if not tags:
        raise YoushuError(f"{what}: no tags given")
    ids = [t.id for t in tags]
    bad = [t for t in ids if not _ID.match(t) or len(t) > 64]
    if bad:
        raise YoushuError(f"{what}: tag ids {bad} are not snake_case (a-z, 0-9, _; at most 64 characters)")
    for name, values in (("tag id", ids), ("zh name", [t.display_name_zh for t in tags])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise YoushuError(f"{what}: {name}s {repeated} are given twice")
    missing = [c for c in (key, *ids) if c not in table.column_names]
    if missing:
        raise YoushuError(f"{what} lacks columns {missing}; columns: {', '.join(table.column_names)}")
    extra = [c for c in table.column_names if c not in (key, *ids)]
    if extra:
        raise YoushuError(
            f"{what} has columns {extra} that are no tag; give a ModelTag for each or drop them"
        )
    keys = table[key]
    if not (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type)):
        raise YoushuError(f"{what}: {key} is {keys.type}, expected strings")
    if keys.null_count:
        raise YoushuError(f"{what}: {keys.null_count} rows have a null {key}")
    index = pd.Index(keys.to_pandas())
    if not index.is_unique:
        twice = index[index.duplicated()].unique()
        raise YoushuError(
            f"{what}: {key} must be unique, but {len(twice)} ids appear more than once "
            f"(e.g. row {int(np.flatnonzero(index.duplicated())[0])}: {twice[0]!r}); nothing was written"
        )
    columns = {key: pc.cast(keys, pa.string()).combine_chunks()}
    for t in tags:
        columns[t.id] = _typed(table[t.id], t, what).combine_chunks()
    return pa.table(columns)


def _typed(column: pa.ChunkedArray, tag: ModelTag, what: str) -> pa.ChunkedArray:
    kind, dtype = TagKind(tag.kind), column.type
    if kind == TagKind.BOOLEAN and pa.types.is_boolean(dtype):
        return column
    if kind == TagKind.CATEGORICAL and (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        return pc.cast(column, pa.string())
    if kind == TagKind.SCORE and (pa.types.is_integer(dtype) or pa.types.is_floating(dtype)):
        return pc.cast(column, pa.float64())
    expected = {"boolean": "booleans", "categorical": "strings", "score": "numbers"}[str(kind)]
    raise YoushuError(f"{what}: column {tag.id} is {dtype}, but a {kind} tag needs {expected}")


def _check_names(folder: Path, tags: Sequence[ModelTag], previous: Mapping[str, Any], source: str) -> None:
    """Refuse ids that are declared tags or another source's, and zh names another tag of the index uses."""
    declared = set(pq.read_schema(sorted((folder / "wide").glob("*.parquet"))[0]).names) - set(previous)
    for t in tags:
        if t.id in declared:
            raise YoushuError(f"model tag {t.id} of {source}: {folder.name} already has a column {t.id!r}")
        owner = previous.get(t.id, {}).get("source")
        if owner is not None and owner != source:
            raise YoushuError(f"model tag {t.id} of {source}: {folder.name} has it from {owner!r} already")
    meta = folder / "audience" / "index.json"
    if meta.is_file():
        names = json.loads(meta.read_text(encoding="utf-8")).get("names") or {}
        mine = {t for t, e in previous.items() if e.get("source") == source}
        taken = {zh: t for t, zh in names.items() if t not in mine}
        for t in tags:
            if t.display_name_zh in taken:
                raise YoushuError(
                    f"model tag {t.id} of {source}: the zh name {t.display_name_zh!r} is already the name of "
                    f"tag {taken[t.display_name_zh]}; audiences could not tell them apart"
                )


# -- writing -------------------------------------------------------------------------------------------------


def _link_unchanged(folder: Path, tmp: Path, source: str) -> None:
    """Hard-link (else copy) what is not rewritten into the new folder: long parts of other sources and the rest."""
    for entry in folder.iterdir():
        if entry.name in ("wide", "audience", MODEL_TAGS_FILE):
            continue
        if entry.is_dir():
            ignore = shutil.ignore_patterns(f"part-{source}.parquet") if entry.name == "long" else None
            shutil.copytree(entry, tmp / entry.name, copy_function=_link, ignore=ignore)
        else:
            _link(entry, tmp / entry.name)
    (tmp / "long").mkdir(exist_ok=True)


def _link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a filesystem without hard links
        shutil.copy2(src, dst)


def _write_wide(
    files: Sequence[Path], frame: pa.Table, key: str, replaced: Sequence[str], dest: Path
) -> None:
    """Stream the wide table batch by batch, dropping ``replaced`` and appending the frame's tag columns."""
    dataset = ds.dataset(list(files), format="parquet")
    keep = [n for n in dataset.schema.names if n not in replaced]
    new = [f for f in frame.schema if f.name != key]
    schema = pa.schema([dataset.schema.field(n) for n in keep] + new)
    dest.mkdir()
    with pq.ParquetWriter(dest / "part-00000.parquet", schema) as writer:
        for batch in dataset.to_batches(columns=keep):
            at = pc.index_in(pc.cast(batch.column(key), pa.string()), value_set=frame[key].combine_chunks())
            columns = [*batch.columns, *(frame[f.name].take(at) for f in new)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def _write_long(
    long_dir: Path, frame: pa.Table, key: str, day: date, tags: Sequence[ModelTag], dest: Path
) -> int:
    parts = sorted(long_dir.glob("*.parquet")) if long_dir.is_dir() else []
    if parts:
        schema = pq.read_schema(parts[0])
    else:
        schema = pa.schema([(key, pa.string()), ("as_of_date", pa.date32()), *_LONG_FIELDS])
    written = 0
    with pq.ParquetWriter(dest, schema) as writer:
        for t in tags:
            rows = frame.filter(pc.is_valid(frame[t.id]))
            col = rows[t.id]
            n = rows.num_rows
            kind = TagKind(t.kind)
            cells = {
                key: rows[key],
                "as_of_date": pc.fill_null(pa.nulls(n, pa.date32()), pa.scalar(day, pa.date32())),
                "tag_id": pc.fill_null(pa.nulls(n, pa.string()), t.id),
                "value": _text(col, kind),
                "value_bool": col if kind == TagKind.BOOLEAN else pa.nulls(n, pa.bool_()),
                "value_num": col if kind == TagKind.SCORE else pa.nulls(n, pa.float64()),
            }
            writer.write_table(pa.table(cells).select(schema.names).cast(schema))
            written += n
    return written


def _text(col: pa.ChunkedArray, kind: TagKind) -> pa.Array | pa.ChunkedArray:
    if kind == TagKind.BOOLEAN:
        return pc.cast(col, pa.string())  # "true" / "false", as apply writes
    if kind == TagKind.CATEGORICAL:
        return col
    return pa.array([_score_text(v) for v in col.to_pylist()], pa.string())


def _score_text(value: float) -> str:
    # The score with up to 6 decimals and no trailing zeros (what apply's decimal(38, 6) cast writes).
    if abs(value) < _PLAIN_SCORE_LIMIT:
        text = re.sub(r"\.?0+$", "", f"{value:.6f}")
        return "0" if text == "-0" else text
    return repr(value)


def _write_audience(
    saved: Path, frame: pa.Table, key: str, tags: Sequence[ModelTag], replaced: Sequence[str], dest: Path
) -> None:
    index = AudienceIndex.load(saved)
    bitmaps = {t: b for t, b in index.bitmaps.items() if t not in replaced}
    names = {t: n for t, n in index.names.items() if t not in replaced}
    at = pc.index_in(
        pc.cast(index.ids, pa.string()), value_set=frame[key].combine_chunks()
    )  # row i of the index -> its frame row (or null)
    for t in tags:
        if TagKind(t.kind) != TagKind.BOOLEAN:
            continue
        flags = pc.fill_null(frame[t.id].take(at), False).to_numpy(zero_copy_only=False)
        bitmaps[t.id] = BitMap(np.flatnonzero(flags).astype(np.uint32))
        names[t.id] = t.display_name_zh
    AudienceIndex(index.ids, bitmaps, names, index.outlets).save(dest)


def _write_meta(
    path: Path, previous: Mapping[str, Any], replaced: Sequence[str], tags: Sequence[ModelTag], source: str
) -> None:
    entries = {t: e for t, e in previous.items() if t not in replaced}
    for t in tags:
        entries[t.id] = {
            "display_name_zh": t.display_name_zh,
            "kind": str(t.kind),
            "source": source,
            "description": t.description,
        }
    meta = {"version": MODEL_TAGS_VERSION, "tags": entries}
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# -- the IVL portrait's tags ---------------------------------------------------------------------------------

IVL_SOURCE = "ivl"
#: Intimacy and value levels of the IVL portrait (``youshu.models.ivl``) and their English ids.
IVL_LEVELS = {"高": "high", "中": "mid", "低": "low"}
#: Lifecycle stages of the IVL portrait (English identifier -> zh), as ``youshu.models.ivl.STAGE_ZH``.
IVL_STAGES = {
    "acquisition": "获客期",
    "growth": "成长期",
    "mature": "成熟期",
    "decline": "衰退期",
    "dormant": "沉睡流失",
}

#: The IVL tags: the 3-D text tag ``ivl`` and one boolean tag per intimacy level, value level and stage.
IVL_TAGS: tuple[ModelTag, ...] = (
    ModelTag("ivl", "客户IVL画像", TagKind.CATEGORICAL, "亲密度·潜力·生命周期，如 高亲密·高潜力·成长期"),
    *(
        ModelTag(f"ivl_intimacy_{en}", f"{zh}亲密", TagKind.BOOLEAN, f"IVL 亲密度为{zh}")
        for zh, en in IVL_LEVELS.items()
    ),
    *(
        ModelTag(f"ivl_value_{en}", f"{zh}潜力", TagKind.BOOLEAN, f"IVL 潜在价值为{zh}")
        for zh, en in IVL_LEVELS.items()
    ),
    *(
        ModelTag(f"ivl_stage_{en}", zh, TagKind.BOOLEAN, f"IVL 生命周期为{zh}")
        for en, zh in IVL_STAGES.items()
    ),
)


def ivl_tag_frame(portrait: pd.DataFrame) -> pa.Table:
    """The :data:`IVL_TAGS` columns of an IVL portrait table, keyed by ``customer_id``.

    Parameters
    ----------
    portrait : pandas.DataFrame
        With ``customer_id``, ``intimacy_level`` and ``value_level`` (高/中/低), ``lifecycle_stage`` (English
        identifiers) and ``ivl_tag``, as ``youshu.models.ivl.build_portrait`` makes it.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, ``ivl`` and one boolean column per level and stage (null where the portrait's is).

    Raises
    ------
    YoushuError
        When a column is missing or holds a level or stage the IVL tags do not know.
    """
    need = ("customer_id", "intimacy_level", "value_level", "lifecycle_stage", "ivl_tag")
    missing = [c for c in need if c not in portrait.columns]
    if missing:
        raise YoushuError(f"the IVL portrait lacks columns {missing}")
    columns: dict[str, Any] = {
        "customer_id": pa.array(portrait["customer_id"].astype(str), pa.string()),
        "ivl": pa.array(portrait["ivl_tag"], pa.string()),
    }
    for column, prefix, known in (
        ("intimacy_level", "ivl_intimacy", IVL_LEVELS),
        ("value_level", "ivl_value", IVL_LEVELS),
        ("lifecycle_stage", "ivl_stage", {en: en for en in IVL_STAGES}),
    ):
        values = portrait[column]
        unknown = sorted(set(values.dropna()) - set(known))
        if unknown:
            raise YoushuError(f"the IVL portrait's {column} has values {unknown}; expected {sorted(known)}")
        null = values.isna().to_numpy()
        for level, en in known.items():
            columns[f"{prefix}_{en}"] = pa.array((values == level).to_numpy(), pa.bool_(), mask=null)
    return pa.table(columns)


def add_ivl_tags(folder: Path, portrait: pd.DataFrame) -> ModelTagsResult:
    """Add the :data:`IVL_TAGS` of an IVL portrait table to an applied customer tag date folder.

    See :func:`add_model_tags` (source ``"ivl"``) and :func:`ivl_tag_frame`.
    """
    return add_model_tags(folder, ivl_tag_frame(portrait), IVL_TAGS, source=IVL_SOURCE)
