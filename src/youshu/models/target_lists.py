"""Capacity-aware target lists (营销名单): per outlet, deduplicated across campaigns, with exclusions counted.

Rules (see docs/target-lists.md):

- **Capacity** of an outlet = account managers × contacts per manager per week × weeks. Managers are the
  distinct ``crm_contacts.staff_id`` of the outlet in the 90 days ending on the as-of date, a default where an
  outlet has no contacts, or an explicit override.
- **Dedupe**: a customer appears in at most one campaign's list, the one with the highest priority (the score,
  or score × value per conversion when every campaign has a value); ties go to the campaign whose name sorts
  first.
- **Exclusions**, each customer counted once under the first that applies: ``no_home_outlet``, ``opted_out``,
  ``risky_account`` (风险账户), ``declined_recently`` (last contact in the cooling-off window declined), and
  ``contacted_recently`` (contacted for the campaign's purpose in the last N days: removes that campaign only,
  counted when no campaign is left).
- **Rank** within an outlet by priority, then ``customer_id``; the first ``capacity`` are selected.

The selection works on dense NumPy arrays aligned to the customers table (campaign scores in the same order
are aligned for free; others by one hash join) and prunes each outlet to a few bins above its capacity before
the exact sort, so 16M customers take seconds (benchmarks/bench_target_lists.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from youshu.errors import YoushuError
from youshu.models.target_inputs import (
    Ids,
    _as_table,
    _column,
    _engine,
    _id_array,
    contacted_recently,
    declined_recently,
    outlet_capacity,
    read_risky,
)
from youshu.reports.lists import customer_list, write_list, zh_headers
from youshu.schema.enums import ContactPurpose
from youshu.schema.storage import parquet_files, table_dir

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "EXCLUSION_REASONS",
    "Exclusions",
    "ScoredCampaign",
    "TargetLists",
    "build_target_lists",
    "select_targets",
    "with_contact_details",
    "write_target_lists",
]

#: Exclusion reason codes in precedence order (a customer is counted under the first that applies).
EXCLUSION_REASONS: dict[str, str] = {
    "no_home_outlet": "无归属网点",
    "opted_out": "拒绝营销名单",
    "risky_account": "风险账户",
    "declined_recently": "冷静期内拒绝",
    "contacted_recently": "近期已接触",
}
#: Value bins per outlet in the pruning pass (more bins: fewer rows to sort exactly, more counting).
_BINS = 64

LIST_ZH = {
    "outlet_id": "网点编号",
    "campaign": "营销活动",
    "campaign_zh": "活动名称",
    "rank_in_outlet": "网点内排名",
    "score": "得分",
    "expected_value_fen": "预期价值(分)",
    "reasons": "推荐理由",
    "account_managers": "客户经理人数",
    "managers_source": "人数来源",
    "capacity": "可接触容量",
    "candidates": "候选客户",
    "selected": "入选客户",
    "over_capacity": "超出容量",
    **{f"excluded_{k}": f"剔除:{v}" for k, v in EXCLUSION_REASONS.items()},
}


@dataclass(frozen=True)
class ScoredCampaign:
    """One campaign's scores: a table of ``customer_id, score`` and an optional zh ``reasons`` string.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"wealth"``.
    scores : pyarrow.Table or pandas.DataFrame
        One row per customer (``customer_id`` unique), ``score`` finite.
    zh : str
        Display name, e.g. ``"她经济保险"`` (default: the name).
    value_fen : float, optional
        Value of one conversion; when every campaign has one, priority = score × value.
    purpose : str, optional
        ``crm_contacts.purpose`` for the contacted-recently rule (default: the name, if it is a purpose).
    """

    name: str
    scores: Any
    zh: str = ""
    value_fen: float | None = None
    purpose: str | None = None

    @property
    def contact_purpose(self) -> str | None:
        if self.purpose is not None:
            return self.purpose
        return self.name if self.name in {p.value for p in ContactPurpose} else None


@dataclass(frozen=True)
class Exclusions:
    """Customers to leave out: customer-level sets, and per-campaign sets for ``contacted_recently``."""

    opted_out: Ids = ()
    risky_account: Ids = ()
    declined_recently: Ids = ()
    contacted_recently: Mapping[str, Ids] = field(default_factory=dict)


@dataclass
class TargetLists:
    """The selected customers per outlet, the per-outlet summary and the exclusion counts.

    Attributes
    ----------
    lists : pyarrow.Table
        ``outlet_id, campaign, campaign_zh, rank_in_outlet, customer_id, score[, expected_value_fen], reasons``
        in outlet then rank order.
    summary : pyarrow.Table
        Per outlet: ``capacity, candidates, selected, excluded_<reason>..., over_capacity`` (candidates =
        selected + excluded + over capacity).
    excluded : dict
        Customers excluded per reason code (all outlets, including ``no_home_outlet``).
    """

    lists: pa.Table
    summary: pa.Table
    excluded: dict[str, int]
    as_of: date | None = None
    notes: dict[str, str] = field(default_factory=dict)


# -- selection ---------------------------------------------------------------------------------------------


def _positions(ids: pa.ChunkedArray, universe: pa.ChunkedArray, what: str) -> np.ndarray | None:
    """Row of ``universe`` holding each id (-1 when absent), by one hash join; None when the orders agree."""
    if len(ids) == len(universe) and ids.equals(universe):
        return None
    con = duckdb.connect()
    con.register("u", pa.table({"customer_id": universe, "i": np.arange(len(universe), dtype=np.int64)}))
    con.register("s", pa.table({"customer_id": ids, "j": np.arange(len(ids), dtype=np.int64)}))
    found = con.execute("select j, i from s join u using (customer_id)").to_arrow_table()
    con.close()
    j = found.column("j").to_numpy()
    i = found.column("i").to_numpy()
    if len(j) and np.bincount(j, minlength=len(ids)).max() > 1:
        raise YoushuError("the customers (home outlet) table has duplicate customer_id values")
    hits = np.bincount(i, minlength=len(universe)) if len(i) else np.zeros(0, np.int64)
    if len(hits) and hits.max() > 1:
        dup = universe[int(np.argmax(hits))].as_py()
        raise YoushuError(f"{what} has customer_id {dup!r} more than once; give one row per customer")
    pos = np.full(len(ids), -1, dtype=np.int64)
    pos[j] = i
    return pos


def _campaign_rows(c: ScoredCampaign) -> tuple[pa.Table, pa.ChunkedArray, np.ndarray, pa.ChunkedArray | None]:
    what = f"campaign {c.name!r} scores"
    table = _as_table(c.scores, what)
    ids = _column(table, "customer_id", what, "string")
    score = _column(table, "score", what, "number").to_numpy().astype(np.float64)
    if not np.isfinite(score).all():
        bad = int(np.flatnonzero(~np.isfinite(score))[0])
        raise YoushuError(f"{what} column 'score' must be finite; row {bad} is {score[bad]}")
    reasons = _column(table, "reasons", what, "string") if "reasons" in table.column_names else None
    return table, ids, score, reasons


def _select_top(
    priority: np.ndarray, outlet: np.ndarray, capacity: np.ndarray, rows: np.ndarray, ids: pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (indices into ``priority``) of the top ``capacity[outlet]`` per outlet, and their ranks.

    Order: outlet code, priority descending, customer id ascending. A first pass counts rows per outlet in
    value bins and keeps only the bins an outlet's top rows can fall in (a row in a lower bin has a strictly
    lower priority than every row in a higher bin), so the exact sort sees a few rows per outlet.
    """
    if len(rows) == 0:
        return rows, rows
    p, o = priority[rows], outlet[rows]
    n_outlets = len(capacity)
    if len(rows) > 4 * _BINS:
        sample = p[:: max(1, len(p) // 100_000)]
        edges = np.unique(np.quantile(sample, np.linspace(0, 1, _BINS + 1)[1:-1]))
        b = np.searchsorted(edges, p, side="right")
        k = len(edges) + 1
        counts = np.bincount(o * k + b, minlength=n_outlets * k).reshape(n_outlets, k)
        at_or_above = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # rows in bin >= column
        enough = at_or_above >= capacity[:, None]
        # highest bin whose rows at or above reach the capacity; bin 0 (keep all) when none does
        threshold = np.where(enough.any(axis=1), k - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
        keep = b >= threshold[o]
        rows, p, o = rows[keep], p[keep], o[keep]
    order = pc.sort_indices(
        pa.table({"o": o, "p": p, "id": ids.take(pa.array(rows))}),
        sort_keys=[("o", "ascending"), ("p", "descending"), ("id", "ascending")],
    ).to_numpy()
    rows, o = rows[order], o[order]
    starts = np.r_[0, np.flatnonzero(np.diff(o)) + 1]
    rank = np.arange(len(o)) - np.repeat(starts, np.diff(np.r_[starts, len(o)])) + 1
    chosen = rank <= capacity[o]
    return rows[chosen], rank[chosen]


def select_targets(
    campaigns: Sequence[ScoredCampaign],
    homes: pa.Table | pd.DataFrame,
    capacity: pa.Table | pd.DataFrame,
    exclusions: Exclusions | None = None,
) -> TargetLists:
    """Select each outlet's customers within its capacity, one campaign per customer, exclusions counted.

    Parameters
    ----------
    campaigns : sequence of ScoredCampaign
        Scored campaigns (distinct names).
    homes : pyarrow.Table or pandas.DataFrame
        ``customer_id, outlet_id``: each customer's home outlet (customers.home_outlet_id), one row each.
    capacity : pyarrow.Table or pandas.DataFrame
        ``outlet_id, capacity`` (contacts in the period); other columns (e.g. ``account_managers``) are
        carried into the summary. Every outlet with scored customers needs a row.
    exclusions : Exclusions, optional
        Customers to leave out.

    Returns
    -------
    TargetLists

    Raises
    ------
    YoushuError
        On a missing or mistyped column (the message names the table and column), duplicate customers in a
        campaign, a non-finite score, values given for only some campaigns, or an outlet without capacity.
    """
    if not campaigns:
        raise YoushuError("no scored campaigns given")
    names = [c.name for c in campaigns]
    if len(set(names)) != len(names):
        raise YoushuError(f"campaign names must be distinct, got {names}")
    with_value = [c.value_fen is not None for c in campaigns]
    if any(with_value) and not all(with_value):
        lacking = [c.name for c in campaigns if c.value_fen is None]
        raise YoushuError(f"give a value per conversion for every campaign or none; missing for {lacking}")
    exclusions = exclusions or Exclusions()
    unknown = sorted(set(exclusions.contacted_recently) - set(names))
    if unknown:
        raise YoushuError(f"contacted_recently names unknown campaign(s) {unknown}; campaigns: {names}")
    campaigns = sorted(campaigns, key=lambda c: c.name)  # ties between campaigns: the first name wins

    homes = _as_table(homes, "homes")
    universe = _column(homes, "customer_id", "homes", "string")
    outlet_ids = homes.column("outlet_id") if "outlet_id" in homes.column_names else None
    if outlet_ids is None:
        raise YoushuError(f"homes has no column 'outlet_id'; columns: {', '.join(homes.column_names)}")
    encoded = outlet_ids.cast(pa.string()).combine_chunks().dictionary_encode()
    outlet_names = encoded.dictionary
    outlet = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    capacity = _as_table(capacity, "capacity")
    cap_ids = _column(capacity, "outlet_id", "capacity", "string")
    cap_values = _column(capacity, "capacity", "capacity", "number").to_numpy().astype(np.int64)
    if (cap_values < 0).any():
        raise YoushuError("capacity column 'capacity' must be >= 0")
    cap_ids = cap_ids.combine_chunks()
    if len(pc.unique(cap_ids)) != len(cap_ids):
        raise YoushuError("capacity has more than one row for an outlet_id")
    # outlets with capacity but no scored customer still get a summary row
    extra = pc.filter(cap_ids, pc.invert(pc.is_in(cap_ids, value_set=outlet_names)))
    outlet_names = pa.concat_arrays([outlet_names, extra])
    # outlet codes in outlet_id order, so sorting by code sorts by outlet
    by_name = pc.sort_indices(outlet_names).to_numpy()
    recode = np.empty(len(by_name), dtype=np.int64)
    recode[by_name] = np.arange(len(by_name))
    outlet = np.where(outlet >= 0, recode[np.maximum(outlet, 0)] if len(recode) else -1, -1)
    outlet_names = outlet_names.take(pa.array(by_name))
    where = pc.index_in(outlet_names, value_set=cap_ids).fill_null(-1).to_numpy(zero_copy_only=False)
    has_cap = where >= 0

    n = len(universe)
    best_p = np.full(n, np.nan)
    best_c = np.full(n, -1, dtype=np.int16)
    scored = np.zeros(n, dtype=bool)  # scored in any campaign (a candidate before exclusions)
    left = np.zeros(n, dtype=bool)  # some campaign left after contacted_recently
    missing: list[pa.Array] = []
    per_campaign = []
    for k, c in enumerate(campaigns):
        _, ids, score, reasons = _campaign_rows(c)
        factor = c.value_fen if c.value_fen is not None else 1.0
        pos = _positions(ids, universe, f"campaign {c.name!r} scores")
        if pos is None:  # same customers in the same order: no scatter needed
            dense, source = score * factor, None
        else:
            found = pos >= 0
            if not found.all():
                missing.append(ids.filter(pa.array(~found)).combine_chunks())
            rows = np.flatnonzero(found)
            dense = np.full(n, np.nan)
            dense[pos[rows]] = score[rows] * factor
            source = np.full(n, -1, dtype=np.int64)
            source[pos[rows]] = rows
        has = ~np.isnan(dense)
        scored |= has
        contacted = exclusions.contacted_recently.get(c.name)
        if contacted is not None:
            ids_set = _id_array(contacted)
            if len(ids_set):
                has &= ~pc.is_in(universe, value_set=ids_set).to_numpy(zero_copy_only=False)
        left |= has
        better = has & (np.isnan(best_p) | (dense > best_p))
        np.copyto(best_p, dense, where=better)
        best_c[better] = k
        per_campaign.append((score, reasons, source))

    reason = np.zeros(n, dtype=np.int8)  # 0: none, else 1 + index in EXCLUSION_REASONS
    codes = list(EXCLUSION_REASONS)
    checks: list[tuple[str, np.ndarray]] = [("no_home_outlet", outlet < 0)]
    for code in ("opted_out", "risky_account", "declined_recently"):
        given = _id_array(getattr(exclusions, code))
        mask = pc.is_in(universe, value_set=given).to_numpy(zero_copy_only=False) if len(given) else None
        checks.append((code, mask if mask is not None else np.zeros(n, dtype=bool)))
    checks.append(("contacted_recently", scored & ~left))
    for code, mask in checks:
        reason[(reason == 0) & scored & mask] = codes.index(code) + 1

    n_out = len(outlet_names)
    cap = np.zeros(n_out, dtype=np.int64)
    cap[has_cap] = cap_values[where[has_cap]]
    eligible = scored & (reason == 0)
    no_cap = eligible & (outlet >= 0) & ~has_cap[np.maximum(outlet, 0)]
    if no_cap.any():
        lacking = pc.unique(outlet_names.take(pa.array(outlet[no_cap]))).to_pylist()[:10]
        raise YoushuError(f"capacity has no row for outlet(s) {lacking}; give every outlet a capacity")
    rows, rank = _select_top(best_p, outlet, cap, np.flatnonzero(eligible), universe)

    lists = _list_table(campaigns, per_campaign, rows, rank, universe, outlet_names, outlet, best_c, best_p)
    summary = _summary(capacity, outlet_names, outlet, cap, scored, reason, rows, codes)
    excluded = {code: int(np.count_nonzero(reason == i + 1)) for i, code in enumerate(codes)}
    if missing:
        excluded["no_home_outlet"] += len(pc.unique(pa.concat_arrays(missing)))
    return TargetLists(lists=lists, summary=summary, excluded=excluded)


def _list_table(
    campaigns: Sequence[ScoredCampaign],
    per_campaign: list[tuple[np.ndarray, pa.ChunkedArray | None, np.ndarray | None]],
    rows: np.ndarray,
    rank: np.ndarray,
    universe: pa.ChunkedArray,
    outlet_names: pa.Array,
    outlet: np.ndarray,
    best_c: np.ndarray,
    best_p: np.ndarray,
) -> pa.Table:
    which = best_c[rows]
    score = np.zeros(len(rows))
    reasons = np.full(len(rows), "", dtype=object)
    for k, (scores, why, source) in enumerate(per_campaign):
        mine = which == k
        src = rows[mine] if source is None else source[rows[mine]]  # row in the campaign's table
        score[mine] = scores[src]
        if why is not None:
            reasons[mine] = np.asarray(why.take(pa.array(src)).to_pylist(), dtype=object)
    names = np.array([c.name for c in campaigns], dtype=object)
    zh = np.array([c.zh or c.name for c in campaigns], dtype=object)
    columns: dict[str, Any] = {
        "outlet_id": outlet_names.take(pa.array(outlet[rows])),
        "campaign": pa.array(names[which], pa.string()),
        "campaign_zh": pa.array(zh[which], pa.string()),
        "rank_in_outlet": pa.array(rank, pa.int32()),
        "customer_id": universe.take(pa.array(rows)),
        "score": pa.array(score, pa.float64()),
    }
    if campaigns[0].value_fen is not None:
        columns["expected_value_fen"] = pa.array(best_p[rows], pa.float64())
    columns["reasons"] = pa.array(reasons, pa.string())
    return pa.table(columns)


def _summary(
    capacity: pa.Table,
    outlet_names: pa.Array,
    outlet: np.ndarray,
    cap: np.ndarray,
    scored: np.ndarray,
    reason: np.ndarray,
    rows: np.ndarray,
    codes: list[str],
) -> pa.Table:
    n_out = len(outlet_names)
    homed = outlet >= 0

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(outlet[mask & homed], minlength=n_out)

    candidates = count(scored)
    picked = np.zeros(len(outlet), dtype=bool)
    picked[rows] = True
    selected = count(picked)
    columns: dict[str, Any] = {"outlet_id": outlet_names, "capacity": cap, "candidates": candidates}
    columns["selected"] = selected
    excluded = 0
    for i, code in enumerate(codes):
        if code == "no_home_outlet":
            continue
        columns[f"excluded_{code}"] = count(scored & (reason == i + 1))
        excluded = excluded + columns[f"excluded_{code}"]
    columns["over_capacity"] = candidates - selected - excluded
    table = pa.table(columns)
    extra = [c for c in capacity.column_names if c not in ("outlet_id", "capacity")]
    if extra:
        table = table.join(capacity.select(["outlet_id", *extra]), "outlet_id", join_type="left outer")
        order = ["outlet_id", *extra, *[c for c in table.column_names if c not in ("outlet_id", *extra)]]
        table = table.select(order)
    return table.sort_by("outlet_id")


def build_target_lists(
    warehouse: Path,
    campaigns: Sequence[ScoredCampaign],
    as_of: date,
    *,
    per_manager_week: int = 20,
    weeks: int = 1,
    default_managers: int = 1,
    manager_overrides: pa.Table | pd.DataFrame | None = None,
    opt_out: Ids | None = None,
    risky: Path | Iterable[str] | None = None,
    cooling_off_days: int | None = 30,
    contacted_days: int | None = None,
    engine: Engine | None = None,
) -> TargetLists:
    """Target lists from the warehouse: home outlets, capacity and CRM exclusions as of ``as_of``.

    Parameters
    ----------
    warehouse : Path
        Canonical warehouse (customers, outlets, crm_contacts).
    campaigns : sequence of ScoredCampaign
        Scored campaigns.
    as_of : date
        CRM windows end on this day (inclusive).
    per_manager_week, weeks, default_managers, manager_overrides
        Capacity, see :func:`outlet_capacity`.
    opt_out : ids, optional
        Customers who opted out of marketing.
    risky : Path or ids, optional
        风险账户 flags, see :func:`read_risky`.
    cooling_off_days : int, optional
        Exclude customers whose last contact in this many days was declined (None: no cooling-off).
    contacted_days : int, optional
        Exclude, per campaign, customers contacted for its purpose in this many days (None: off).

    Returns
    -------
    TargetLists
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if contacted_days is not None:
        vague = [c.name for c in campaigns if c.contact_purpose is None]
        if vague:
            raise YoushuError(
                f"campaign(s) {vague} have no CRM purpose for the contacted-recently rule; give one of "
                f"{[p.value for p in ContactPurpose]}"
            )
    files = parquet_files(table_dir(Path(warehouse), "customers"))
    if not files:
        raise YoushuError(f"{warehouse} has no customers table; generate or import one first")
    homes = ds.dataset(files, format="parquet").to_table(columns=["customer_id", "home_outlet_id"])
    homes = homes.rename_columns(["customer_id", "outlet_id"])
    eng, own = _engine(engine)
    try:
        capacity = outlet_capacity(
            warehouse,
            as_of,
            per_manager_week=per_manager_week,
            weeks=weeks,
            default_managers=default_managers,
            overrides=manager_overrides,
            engine=eng,
        )
        declined = (
            declined_recently(warehouse, as_of, cooling_off_days, engine=eng) if cooling_off_days else ()
        )
        contacted: dict[str, Ids] = {}
        if contacted_days is not None:
            by_purpose = contacted_recently(
                warehouse, as_of, contacted_days, [str(c.contact_purpose) for c in campaigns], engine=eng
            )
            contacted = {c.name: by_purpose[str(c.contact_purpose)] for c in campaigns}
    finally:
        if own:
            eng.close()
    exclusions = Exclusions(
        opted_out=opt_out if opt_out is not None else (),
        risky_account=read_risky(risky, as_of) if risky is not None else (),
        declined_recently=declined,
        contacted_recently=contacted,
    )
    result = select_targets(campaigns, homes, capacity, exclusions)
    result.as_of = as_of
    result.notes = {
        "as_of": as_of.isoformat(),
        "capacity_rule": f"account managers x {per_manager_week} per week x {weeks} week(s); "
        f"default {default_managers} manager(s)",
        "cooling_off_days": str(cooling_off_days or "off"),
        "contacted_days": str(contacted_days or "off"),
        **{f"excluded_{k}": str(v) for k, v in result.excluded.items()},
    }
    return result


# -- output ------------------------------------------------------------------------------------------------


def with_contact_details(lists: pa.Table, warehouse: Path) -> pa.Table:
    """The list with masked ``name`` and ``phone`` (姓名, 手机号) after ``customer_id``, order kept."""
    people = customer_list(
        warehouse, lists.column("customer_id").combine_chunks(), ("customer_id", "name", "phone")
    )
    if people.num_rows != lists.num_rows:
        raise YoushuError(
            f"{lists.num_rows - people.num_rows} listed customer(s) are not in {warehouse}/customers"
        )
    at = lists.schema.get_field_index("customer_id") + 1
    out = lists.add_column(at, "name", people.column("name"))
    return out.add_column(at + 1, "phone", people.column("phone"))


def _headers(columns: Sequence[str]) -> dict[str, str]:
    return {**zh_headers(columns), **{c: LIST_ZH[c] for c in columns if c in LIST_ZH}}


def summary_path(path: Path) -> Path:
    """Where the per-outlet summary goes next to a list file: ``<stem>_summary<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_summary{path.suffix}")


def write_target_lists(
    result: TargetLists, path: Path, warehouse: Path, *, exported_by: str = "youshu"
) -> tuple[Path, Path]:
    """Write the list (masked PII, zh headers) and the per-outlet summary as ``.xlsx`` or ``.parquet``.

    Both files are written atomically; the summary goes to ``<stem>_summary<suffix>``.

    Returns
    -------
    (Path, Path)
        The list file and the summary file.
    """
    path = Path(path)
    if path.suffix not in (".xlsx", ".parquet"):
        raise YoushuError(f"{path}: target lists are written as .xlsx or .parquet")
    table = with_contact_details(result.lists, warehouse)
    title = "营销名单 target lists" + (f" {result.as_of}" if result.as_of else "")
    notes = {**result.notes, "reason_codes": ", ".join(f"{k}={v}" for k, v in EXCLUSION_REASONS.items())}
    listed = write_list(
        table,
        path,
        title=title,
        headers_zh=_headers(table.column_names),
        notes=notes,
        exported_by=exported_by,
    )
    summary = write_list(
        result.summary,
        summary_path(path),
        title=f"{title} 网点汇总 per-outlet summary",
        headers_zh=_headers(result.summary.column_names),
        notes=notes,
        exported_by=exported_by,
    )
    return listed, summary
