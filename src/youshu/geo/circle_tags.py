"""Merchant tags per micro business circle (微商圈): how many members of each circle carry each tag.

The tags are the boolean merchant tags applied by ``youshu.tags.apply`` (``youshu tags apply --entity
merchant``, or the ``tags`` step of a run) into ``<tags_dir>/merchant_tags/as_of_date=YYYY-MM-DD/wide/``: one
row per merchant, one column per tag id. Circles overlap, so a merchant counts in every circle it lies in
(``tagged_merchants``), and once more in the ``home_tagged_merchants`` of its home circle (归属网点) when it lies
inside it — the same two readings as ``merchants`` and ``home_merchants`` of ``circle_summary``. A null tag
value (the tag's inputs were missing) and a merchant absent from the tag table count as not tagged.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from youshu.errors import YoushuError
from youshu.geo.circles import CircleResult

if TYPE_CHECKING:
    from youshu.tags.compiler import TagSet

__all__ = [
    "COUNT_COLUMN_ZH",
    "KEY_MERCHANT_TAGS",
    "circle_tag_counts",
    "find_merchant_tags",
    "member_tags",
    "merchant_tag_names",
    "merchant_tags_dir",
    "read_merchant_tags",
    "tag_count_columns",
]

log = logging.getLogger(__name__)

#: The merchant tags the business asked to see per circle (issue 4), by zh display name.
KEY_MERCHANT_TAGS: tuple[str, ...] = (
    "资产提升不佳",
    "收单码使用频率不高",
    "VIP商户",
    "沉睡商户",
    "成长商户",
    "流失预警",
)

#: Chinese headers of the ``circle_tags`` table.
COUNT_COLUMN_ZH: dict[str, str] = {
    "outlet_id": "网点编号",
    "tag_id": "标签编号",
    "tag_zh": "标签名称",
    "merchants": "商户数",
    "tagged_merchants": "有标签商户数",
    "tagged_share": "有标签占比",
    "home_merchants": "归属商户数",
    "home_tagged_merchants": "归属有标签商户数",
    "as_of_date": "数据日期",
}

ID = "merchant_id"


# -- which tags ---------------------------------------------------------------------------------------------


def merchant_tag_names(tagset: TagSet, names: Sequence[str] | None = KEY_MERCHANT_TAGS) -> dict[str, str]:
    """Tag id -> zh name of boolean merchant tags, looked up by zh display name or id.

    Parameters
    ----------
    tagset : TagSet
        The definitions (``youshu.tags.load_definitions``).
    names : sequence of str or None, default KEY_MERCHANT_TAGS
        The tags wanted, in order, each a zh name (``VIP商户``) or an id (``vip_merchant``); None for every
        boolean merchant tag, :data:`KEY_MERCHANT_TAGS` first.

    Returns
    -------
    dict
        Ordered as asked.

    Raises
    ------
    YoushuError
        When a name is no merchant tag (with the closest names), or names a categorical or score tag.
    """
    defs = tagset.for_entity("merchant")
    by_name = {d.display_name_zh: d for d in defs} | {d.id: d for d in defs}
    if names is None:
        flags = [d for d in defs if d.kind == "boolean"]
        rank = {zh: i for i, zh in enumerate(KEY_MERCHANT_TAGS)}
        flags.sort(key=lambda d: rank.get(d.display_name_zh, len(rank)))  # stable: the rest keep their order
        return {d.id: d.display_name_zh for d in flags}
    out: dict[str, str] = {}
    for name in names:
        d = by_name.get(name)
        if d is None:
            close = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.4)
            hint = (
                f"; did you mean {', '.join(close)}?" if close else "; see youshu tags list --entity merchant"
            )
            raise YoushuError(f"{name!r} is not a merchant tag (zh name or id) in the definitions{hint}")
        if d.kind != "boolean":
            raise YoushuError(
                f"merchant tag {d.id} ({d.display_name_zh}) is {d.kind}; only boolean tags are counted per circle"
            )
        out[d.id] = d.display_name_zh
    return out


# -- where the applied tags are ----------------------------------------------------------------------------


def merchant_tags_dir(tags_dir: Path, as_of: date) -> Path:
    """``<tags_dir>/merchant_tags/as_of_date=YYYY-MM-DD/wide``: where ``apply`` writes one date's tags."""
    return Path(tags_dir) / "merchant_tags" / f"as_of_date={as_of.isoformat()}" / "wide"


def find_merchant_tags(folder: Path, as_of: date) -> Path | None:
    """The wide merchant tags of ``as_of`` under ``folder``, or None when none were applied for that date.

    ``folder`` may be a tags folder (``settings.tags_dir``, or a run's ``tags/``), the date folder
    (``.../as_of_date=YYYY-MM-DD``) or the ``wide`` folder itself.
    """
    folder = Path(folder)
    for candidate in (merchant_tags_dir(folder, as_of), folder / "wide", folder):
        if candidate.is_dir() and any(candidate.glob("*.parquet")):
            return candidate
    return None


def read_merchant_tags(wide: pa.Table | Path, tag_ids: Sequence[str], as_of: date | None = None) -> pa.Table:
    """``merchant_id`` and the boolean ``tag_ids`` of a wide merchant tag table, checked.

    Parameters
    ----------
    wide : pyarrow.Table or Path
        The wide table, or its folder / Parquet file.
    tag_ids : sequence of str
        Boolean tag columns to keep.
    as_of : date, optional
        When given and the table has ``as_of_date``, every row must be of this date.

    Raises
    ------
    YoushuError
        When ``merchant_id`` or a tag column is missing, a tag column is not boolean, a merchant appears
        twice, or the rows are of another as-of date.
    """
    what = "the merchant tag table" if isinstance(wide, pa.Table) else f"merchant tags {wide}"
    if isinstance(wide, pa.Table):
        names = wide.schema.names
    else:
        path = Path(wide)
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if not files or not files[0].exists():
            raise YoushuError(
                f"{what}: no Parquet files; apply the tags: youshu tags apply --entity merchant"
            )
        names = pq.read_schema(files[0]).names
    missing = [c for c in (ID, *tag_ids) if c not in names]
    if missing:
        raise YoushuError(
            f"{what} lacks columns {missing}; apply the merchant tags again with the current definitions "
            "(youshu tags apply --entity merchant)"
        )
    keep = [ID, *(["as_of_date"] if as_of is not None and "as_of_date" in names else []), *tag_ids]
    table = wide.select(keep) if isinstance(wide, pa.Table) else pq.read_table(Path(wide), columns=keep)
    for tag_id in tag_ids:
        if not pa.types.is_boolean(table.schema.field(tag_id).type):
            raise YoushuError(
                f"{what}: column {tag_id} is {table.schema.field(tag_id).type}, not boolean; only boolean "
                "tags are counted per circle"
            )
    ids = pd.Index(table.column(ID).to_pandas())
    if not ids.is_unique:
        raise YoushuError(f"{what}: merchant_id {ids[ids.duplicated()][0]!r} appears more than once")
    if "as_of_date" in keep:
        dates = set(pc.unique(table.column("as_of_date")).to_pylist())
        if dates - {as_of}:
            other = sorted(str(d) for d in dates - {as_of})
            raise YoushuError(
                f"{what} are of as_of_date {', '.join(other)}, not {as_of}; apply the tags of {as_of}: "
                f"youshu tags apply --entity merchant --as-of {as_of}"
            )
        table = table.drop_columns(["as_of_date"])
    return table


def _flags(table: pa.Table, tag_ids: Sequence[str], merchant_ids: Sequence[str]) -> np.ndarray:
    """Boolean matrix (merchant × tag): True only where the tag table says true (null, absent: False)."""
    pos = pd.Index(table.column(ID).to_pandas()).get_indexer(pd.Index(merchant_ids))
    found = pos >= 0
    out = np.zeros((len(pos), len(tag_ids)), dtype=bool)
    for j, tag_id in enumerate(tag_ids):
        values = pc.fill_null(table.column(tag_id), False).to_numpy(zero_copy_only=False).astype(bool)
        out[found, j] = values[pos[found]]
    return out


def _check_found(table: pa.Table, merchant_ids: np.ndarray) -> None:
    unique = pd.unique(merchant_ids)
    absent = int((~pd.Index(unique).isin(table.column(ID).to_pandas())).sum())
    if absent and absent == len(unique):
        raise YoushuError(
            f"none of the {len(unique):,} merchants in the circles is in the merchant tag table; were the tags "
            "applied to the same warehouse and as-of date?"
        )
    if absent:
        log.warning(
            "%d of %d circle merchants have no row in the merchant tags: counted untagged",
            absent,
            len(unique),
        )


# -- counts per circle --------------------------------------------------------------------------------------


def circle_tag_counts(circles: CircleResult, wide: pa.Table | Path, tags: Mapping[str, str]) -> pa.Table:
    """Per circle and tag: the member merchants with the tag, their share, and the count of home members.

    Parameters
    ----------
    circles : CircleResult
        From ``build_circles`` or ``load_circles``.
    wide : pyarrow.Table or Path
        The wide merchant tags of the same as-of date (``find_merchant_tags``).
    tags : mapping of str to str
        Boolean tag id -> zh name, in display order (``merchant_tag_names(tagset)`` for the key tags).

    Returns
    -------
    pyarrow.Table
        ``circle_tags``: one row per (open outlet, tag), every outlet and tag listed: ``outlet_id, tag_id,
        tag_zh, merchants, tagged_merchants, tagged_share (null for an empty circle), home_merchants,
        home_tagged_merchants, as_of_date``.

    Raises
    ------
    YoushuError
        See :func:`read_merchant_tags`; also when no circle member is in the tag table.

    Examples
    --------
    >>> counts = circle_tag_counts(  # doctest: +SKIP
    ...     load_circles(Path("runs/2025-09-30/circles")),
    ...     find_merchant_tags(Path("data/tags"), date(2025, 9, 30)),
    ...     merchant_tag_names(tagset),
    ... )
    """
    tag_ids = list(tags)
    table = read_merchant_tags(wide, tag_ids, circles.as_of)
    outlet_ids = circles.summary.column("outlet_id").to_numpy(zero_copy_only=False).astype(object)
    members = circles.members
    merchant_ids = members.column(ID).to_numpy(zero_copy_only=False).astype(object)
    if len(merchant_ids):
        _check_found(table, merchant_ids)
    centre = pd.Index(outlet_ids).get_indexer(members.column("outlet_id").to_numpy(zero_copy_only=False))
    is_home = members.column("is_home").to_numpy(zero_copy_only=False).astype(bool)
    flags = _flags(table, tag_ids, merchant_ids)
    n_out, n_tags = len(outlet_ids), len(tag_ids)

    def per_circle(weights: np.ndarray) -> np.ndarray:
        return (
            np.bincount(centre, weights=weights.astype(np.float64), minlength=n_out).round().astype(np.int64)
        )

    merchants = np.bincount(centre, minlength=n_out).astype(np.int64)
    home = per_circle(is_home)
    tagged = (
        np.column_stack([per_circle(flags[:, j]) for j in range(n_tags)]) if n_tags else np.zeros((n_out, 0))
    )
    home_tagged = (
        np.column_stack([per_circle(flags[:, j] & is_home) for j in range(n_tags)])
        if n_tags
        else np.zeros((n_out, 0))
    )
    denominator = np.repeat(merchants, n_tags)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denominator > 0, tagged.ravel() / np.maximum(denominator, 1), np.nan)
    return pa.table(
        {
            "outlet_id": pa.array(np.repeat(outlet_ids, n_tags), pa.string()),
            "tag_id": pa.array(np.tile(np.array(tag_ids, dtype=object), n_out), pa.string()),
            "tag_zh": pa.array(
                np.tile(np.array([tags[t] for t in tag_ids], dtype=object), n_out), pa.string()
            ),
            "merchants": pa.array(denominator, pa.int64()),
            "tagged_merchants": pa.array(tagged.ravel().astype(np.int64), pa.int64()),
            "tagged_share": pa.array(share, pa.float64(), from_pandas=True),
            "home_merchants": pa.array(np.repeat(home, n_tags), pa.int64()),
            "home_tagged_merchants": pa.array(home_tagged.ravel().astype(np.int64), pa.int64()),
            "as_of_date": pa.array(np.full(n_out * n_tags, np.datetime64(circles.as_of, "D")), pa.date32()),
        }
    )


def tag_count_columns(counts: pa.Table, value: str = "tagged_merchants") -> pd.DataFrame:
    """One row per outlet, one column ``tagged_<tag id>`` per tag (in the counts' order), from ``circle_tags``.

    ``value`` picks what fills the columns: ``tagged_merchants`` (default), ``tagged_share`` or
    ``home_tagged_merchants``. Join it to ``circle_summary`` on ``outlet_id`` for a table with the tag counts.
    """
    frame = counts.select(["outlet_id", "tag_id", value]).to_pandas()
    order = list(dict.fromkeys(frame["tag_id"]))
    wide = frame.pivot(index="outlet_id", columns="tag_id", values=value).reindex(columns=order)
    wide.columns = [f"tagged_{t}" for t in order]
    return wide.reindex(pd.unique(frame["outlet_id"])).rename_axis("outlet_id").reset_index()


# -- one circle's members -----------------------------------------------------------------------------------


def member_tags(
    circles: CircleResult, wide: pa.Table | Path, outlet_id: str, tags: Mapping[str, str]
) -> pd.DataFrame:
    """The members of one outlet's circle, nearest first, each with the zh names of its true boolean tags.

    Parameters
    ----------
    circles : CircleResult
    wide : pyarrow.Table or Path
        The wide merchant tags of the same as-of date.
    outlet_id : str
        The circle's outlet.
    tags : mapping of str to str
        Boolean tag id -> zh name to look at, in the order to list them (``merchant_tag_names(tagset,
        None)`` for every boolean merchant tag).

    Returns
    -------
    DataFrame
        The ``circle_members`` rows of the outlet plus ``tag_ids`` and ``tags_zh`` (lists, in ``tags``
        order; empty for a merchant without any).

    Raises
    ------
    YoushuError
        When the outlet has no circle, or the tag table is unfit (see :func:`read_merchant_tags`).
    """
    members = circles.circle(outlet_id)
    tag_ids = list(tags)
    table = read_merchant_tags(wide, tag_ids, circles.as_of)
    flags = _flags(table, tag_ids, members[ID].to_numpy(dtype=object))
    members["tag_ids"] = [[t for t, on in zip(tag_ids, row, strict=True) if on] for row in flags]
    members["tags_zh"] = [[tags[t] for t in ids] for ids in members["tag_ids"]]
    return members
